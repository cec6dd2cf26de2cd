"""Schema migrations with Alembic, configured in code (no alembic.ini).

The scripts live in this package (``migrations/``); ``migrate`` upgrades a database to
the newest revision over the application's own async engine.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from privalytics.adapters.sqlalchemy.engine import create_engine, unavailable_on_failure

SCRIPT_LOCATION = "privalytics.adapters.sqlalchemy:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for our scripts; env.py runs on ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> tuple[str | None, str | None]:
    before = _current(connection)
    command.upgrade(alembic_config(connection), "head")
    return before, _current(connection)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def migrate(url: str) -> tuple[str | None, str | None]:
    """Upgrade the database at ``url`` to the newest schema, in one transaction; returns
    the revisions before (None: no schema) and after.

    Already up to date: nothing happens. Raises ConfigError for an unsupported URL and
    StorageUnavailable when the database cannot be reached.
    """
    engine = create_engine(url)
    try:
        async with unavailable_on_failure("migrate it"), engine.begin() as connection:
            return await connection.run_sync(_upgrade)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; None when it was never migrated."""
    engine = create_engine(url)
    try:
        async with unavailable_on_failure("read its schema revision"), engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()
