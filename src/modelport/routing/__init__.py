"""Which instance serves a request: the deployment table, readiness, least-outstanding choice."""
