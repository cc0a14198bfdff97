"""Alembic environment: migrates the connection that `database.migrate` hands over.

Run with `config.attributes["connection"]` set (the normal path), or offline (SQL output) with
`sqlalchemy.url` set on the config.
"""

from __future__ import annotations

from alembic import context

from modelport.store.schema import metadata


def run_offline() -> None:
    """Emit the migration SQL for `sqlalchemy.url` without connecting."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate the connection passed in by the caller, inside the caller's transaction."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through modelport.store.database.migrate(engine)")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
