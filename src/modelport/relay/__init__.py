"""Moving bytes between client and instance: bodies, the upstream pool, SSE, the relay itself."""
