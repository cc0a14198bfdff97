"""The store: API keys, deployments and instances in SQLite or PostgreSQL, migrated by Alembic."""

from modelport.store.store import Store

__all__ = ["Store"]
