"""Usage accounting: one record per request, parsed from the bytes as they pass, written in batches;
Prometheus metrics and the access log hang off the same records."""
