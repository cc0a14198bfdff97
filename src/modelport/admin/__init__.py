"""Administration: one service over the store, exposed as the `/api` HTTP API and used by the CLI."""
