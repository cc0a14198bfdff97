"""The HTTP surface: one route table, thin handlers, the admin API."""
