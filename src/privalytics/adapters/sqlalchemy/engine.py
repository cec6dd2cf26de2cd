"""URL -> AsyncEngine, with the SQLite settings that make a 202 mean "stored"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from privalytics.domain.errors import ConfigError

ACCEPTED_URLS = (
    "sqlite+aiosqlite:///relative/path.db",
    "sqlite+aiosqlite:////absolute/path.db",
    "postgresql+asyncpg://user:password@host:5432/database",
)

_SQLITE = "sqlite+aiosqlite"
_POSTGRES = "postgresql+asyncpg"

# Applied to every new SQLite connection, outside any transaction (a pragma inside one is
# ignored). synchronous=FULL: a commit survives power loss, so an accepted event is stored;
# NORMAL would be faster in WAL mode but may lose the last commits on power loss.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)

# asyncpg waits 60 s for a connection by default; a dead server should answer 503 sooner.
_POSTGRES_CONNECT_TIMEOUT = 5.0


def _unsupported(what: str) -> ConfigError:
    forms = ", ".join(ACCEPTED_URLS)
    return ConfigError(f"{what}; the accepted database URLs look like: {forms}")


def parse_url(url: str) -> URL:
    """Parse and check a database URL; the error never repeats the URL (it may hold a
    password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise _unsupported("the database URL is malformed") from None
    if parsed.drivername not in (_SQLITE, _POSTGRES):
        raise _unsupported(f"unsupported database driver {parsed.drivername!r}")
    return parsed


def _names_a_plain_file(url: URL) -> bool:
    # In-memory databases have no folder; "file:" URIs are the driver's to interpret.
    database = url.database or ""
    return database not in ("", ":memory:") and url.query.get("uri") != "true"


def create_engine(url: str) -> AsyncEngine:
    """An engine for a ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` URL.

    Raises ConfigError for any other URL, and for a SQLite file whose folder does not
    exist (the folder is not created: a typo in a path should not silently start an
    empty database somewhere).
    """
    parsed = parse_url(url)
    if parsed.drivername == _SQLITE:
        return _sqlite_engine(parsed)
    return _postgres_engine(parsed)


def _sqlite_engine(url: URL) -> AsyncEngine:
    if _names_a_plain_file(url):
        folder = Path(url.database or "").expanduser().parent
        if not folder.is_dir():
            raise ConfigError(
                "the folder of the SQLite database file does not exist; create it first"
            )
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module (its legacy mode skips BEGIN before
    # SELECT and DDL), so every SQLAlchemy transaction, migrations included, is atomic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _postgres_engine(url: URL) -> AsyncEngine:
    connect_args: dict[str, Any] = {}
    if "timeout" not in url.query:
        connect_args["timeout"] = _POSTGRES_CONNECT_TIMEOUT
    # pre_ping: after a server restart the pooled connections are dead; test each one on
    # checkout instead of failing the first request of every pooled connection.
    return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
