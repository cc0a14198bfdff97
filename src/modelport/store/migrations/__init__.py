"""Alembic migrations for the store; run through `modelport.store.database.migrate`."""
