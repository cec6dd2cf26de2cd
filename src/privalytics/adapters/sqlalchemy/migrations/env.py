"""Alembic environment: runs only on a connection handed over by ``migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from privalytics.adapters.sqlalchemy.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run migrations with privalytics.adapters.sqlalchemy.migrate, not the alembic command"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
