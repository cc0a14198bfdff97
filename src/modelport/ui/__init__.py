"""The web UI at `/ui`: static files served with content-hashed names, browser sessions, and the few reads
the page needs beyond the admin and inference APIs (its session, its models, the catalog)."""
