"""URL -> AsyncEngine (with the SQLite settings that make a 202 mean "stored"), and what
the engine's failures mean to the domain.

A failure to reach the database, or its refusal to write (a full disk, a server shutting
down), becomes StorageUnavailable, whose message names the operation and the kind of
failure but never the URL (it may hold a password), an address, or any stored data.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from privalytics.domain.errors import ConfigError, InvalidInput, StorageUnavailable

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
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def sqlite_pragmas(busy_timeout: float | None) -> tuple[str, ...]:
    """SQLITE_PRAGMAS, waiting at most ``busy_timeout`` seconds for another writer's lock
    (None: the 5 s of SQLITE_PRAGMAS)."""
    if busy_timeout is None:
        return SQLITE_PRAGMAS
    busy = f"PRAGMA busy_timeout={round(busy_timeout * 1000)}"
    return tuple(busy if p.startswith("PRAGMA busy_timeout") else p for p in SQLITE_PRAGMAS)


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


def names_a_plain_file(url: URL) -> bool:
    # In-memory databases have no folder; "file:" URIs are the driver's to interpret.
    database = url.database or ""
    return database not in ("", ":memory:") and url.query.get("uri") != "true"


def create_engine(url: str, statement_timeout: float | None = None) -> AsyncEngine:
    """An engine for a ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` URL.

    ``statement_timeout``: seconds any statement, and the wait for a pooled connection,
    may last (PostgreSQL: the server's ``statement_timeout`` and asyncpg's
    ``command_timeout``, which also bounds a server that does not answer at all; SQLite:
    the busy timeout). None: no bound but the connect timeout (migrations).

    Raises ConfigError for any other URL, and for a SQLite file whose folder does not
    exist (the folder is not created: a typo in a path should not silently start an
    empty database somewhere).
    """
    parsed = parse_url(url)
    if parsed.drivername == _SQLITE:
        return _sqlite_engine(parsed, statement_timeout)
    return _postgres_engine(parsed, statement_timeout)


def _sqlite_engine(url: URL, busy_timeout: float | None) -> AsyncEngine:
    if names_a_plain_file(url):
        folder = Path(url.database or "").expanduser().parent
        if not folder.is_dir():
            raise ConfigError(
                "the folder of the SQLite database file does not exist; create it first"
            )
    engine = create_async_engine(url)
    pragmas = sqlite_pragmas(busy_timeout)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _on_sqlite_connect(dbapi_connection, pragmas)

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, pragmas: tuple[str, ...]) -> None:
    # Take transaction control from the sqlite3 module (its legacy mode skips BEGIN before
    # SELECT and DDL), so every SQLAlchemy transaction, migrations included, is atomic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in pragmas:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _postgres_engine(url: URL, statement_timeout: float | None) -> AsyncEngine:
    # asyncpg takes the connect timeout as a number; the URL can only carry text.
    timeout = _POSTGRES_CONNECT_TIMEOUT
    if "timeout" in url.query:
        given = url.query["timeout"]
        try:
            timeout = float(given if isinstance(given, str) else given[-1])
        except ValueError:
            raise ConfigError("the database URL's timeout must be a number of seconds") from None
        url = url.difference_update_query(["timeout"])
    connect_args: dict[str, Any] = {"timeout": timeout, "server_settings": POSTGRES_SETTINGS}
    bounded: dict[str, Any] = {}
    if statement_timeout is not None:
        # The server cancels a statement that runs too long; asyncpg gives up on a server
        # that does not answer at all (frozen, or a network that drops packets), the
        # pre-ping on checkout included; the pool stops waiting for a free connection.
        connect_args["command_timeout"] = statement_timeout
        connect_args["server_settings"] = {
            **POSTGRES_SETTINGS,
            "statement_timeout": str(max(1, round(statement_timeout * 1000))),
        }
        bounded["pool_timeout"] = statement_timeout
    # pre_ping: after a server restart the pooled connections are dead; test each one on
    # checkout instead of failing the first request of every pooled connection.
    return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args, **bounded)


# Every query privalytics makes is short (the dashboard reads rollups and at most a day or
# two of events), yet PostgreSQL judged some worth ~20 ms of JIT compiling or ~10 ms of
# starting parallel workers, ten times their run time (docs/performance.md).
POSTGRES_SETTINGS = {"jit": "off", "max_parallel_workers_per_gather": "0"}


# SQLSTATE classes meaning "the server cannot serve us now": connection exception, invalid
# authorization (unknown role, wrong password), unknown database, insufficient resources
# (disk full, too many connections), operator intervention (shutdown, starting up),
# system error.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "3D", "53", "57", "58"})

_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection free in time
    sa_exc.DisconnectionError,
    OSError,  # refused / unreachable / reset; TimeoutError is one too
    # The SQLite event writer's own connection (sqlitewriter.py): cannot open, locked past
    # busy_timeout, disk full, read-only, I/O error.
    sqlite3.OperationalError,
    # asyncpg's own, on the writer's connection: closed, or broken mid-operation.
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, _UNAVAILABLE_TYPES):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        sqlstate = getattr(error.orig, "sqlstate", None)
    elif isinstance(error, asyncpg.exceptions.PostgresError):
        # Raised by asyncpg directly, on the event writer's COPY (pgwriter.py).
        sqlstate = getattr(error, "sqlstate", None)
    else:
        return False
    return isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


# SQLSTATE classes meaning "this value cannot be stored": data exception (too long, out of
# range, invalid encoding) and program limit exceeded (an index row too large). The same
# request would fail again, so it is the caller's input, not the database, that is at fault.
_DATA_SQLSTATE_CLASSES = frozenset({"22", "54"})


def _is_data_error(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DataError):
        return True
    origin: BaseException | None = error
    if isinstance(error, sa_exc.DBAPIError):
        origin = error.orig
        # SQLAlchemy's asyncpg adapter raises its own generic class from the driver's.
        if origin is not None and isinstance(origin.__cause__, asyncpg.exceptions.PostgresError):
            origin = origin.__cause__
    sqlstate = getattr(origin, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in _DATA_SQLSTATE_CLASSES


def _kind(error: BaseException) -> str:
    """What failed, in our words, with the database's own code (SQLite's result code or
    PostgreSQL's SQLSTATE, both documented by the database): never the driver's class
    name or message, which may quote the SQL, its parameters, the host or the URL."""
    origin: BaseException = error
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        origin = error.orig
    # SQLAlchemy's asyncpg adapter raises its own generic class from the driver's.
    if isinstance(origin.__cause__, asyncpg.exceptions.PostgresError):
        origin = origin.__cause__
    code = getattr(origin, "sqlite_errorname", None) or getattr(origin, "sqlstate", None)
    if not isinstance(code, str):
        return "no answer from the database"
    words = _CODE_WORDS.get(code) or _CODE_WORDS.get(code[:2])
    return f"{words}: {code}" if words else f"code {code}"


# SQLite result codes and SQLSTATE classes (two characters) or codes, in our words.
_CODE_WORDS = {
    "SQLITE_BUSY": "the database is busy with another write",
    "SQLITE_LOCKED": "the database is busy with another write",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the database is read-only",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
    "SQLITE_IOERR": "the disk could not be read or written",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_TOOBIG": "a value is too large",
    "08": "the connection to the database failed",
    "22": "a value is malformed or too large",
    "25": "the database is read-only",
    "40": "a concurrent transaction conflicted",
    "53": "the database server lacks resources (disk, memory or connections)",
    "54": "a value is too large",
    "57": "the database server is shutting down or cancelled the operation",
    "58": "the database server had a system error",
}


@asynccontextmanager
async def unavailable_on_failure(operation: str) -> AsyncIterator[None]:
    """Turn a failure to reach or write the database into StorageUnavailable, and its
    refusal of a value into InvalidInput."""
    try:
        yield
    except Exception as error:
        failure = storage_failure(error, operation)
        if failure is error:
            raise
        # ``from None``: the original's text may quote the refused value, the URL or
        # stored data.
        raise failure from None


def storage_failure(error: Exception, operation: str) -> Exception:
    """What ``error``, raised while trying ``operation``, is for the caller: InvalidInput
    for a value the database refused, StorageUnavailable for a database out of reach,
    otherwise ``error`` itself (see :func:`unavailable_on_failure`)."""
    if _is_data_error(error):
        return InvalidInput(
            f"the database refused a value as malformed or too large ({_kind(error)})"
        )
    if not _is_unavailable(error):
        return error
    reason = _reason(error)
    return StorageUnavailable(
        f"the database is unavailable: could not {operation} "
        f"({_REASON_TEXT[reason] if reason else _kind(error)})",
        reason=reason,
    )


# Our words for the failures a newcomer meets first; neither names the database, the
# user nor the host (this text may reach an HTTP answer or a log). The CLI, which holds
# the URL, names them from ``reason``.
_REASON_TEXT = {
    "no_database": "the database does not exist",
    "sign_in_refused": "the server refused the user name or password",
    "unreachable": "nothing answers at the database's address",
    "unknown_host": "the database's host name is unknown",
}


def _reason(error: BaseException) -> str | None:
    origin: BaseException = error
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        origin = error.orig
    if isinstance(origin.__cause__, asyncpg.exceptions.PostgresError | OSError):
        origin = origin.__cause__
    sqlstate = getattr(origin, "sqlstate", None)
    if sqlstate == "3D000":  # invalid_catalog_name
        return "no_database"
    if isinstance(sqlstate, str) and sqlstate.startswith("28"):  # invalid authorization
        return "sign_in_refused"
    if isinstance(origin, socket.gaierror):
        return "unknown_host"
    if isinstance(origin, ConnectionRefusedError | TimeoutError):
        return "unreachable"
    return None


async def ping(engine: AsyncEngine) -> None:
    """Reach the database once; StorageUnavailable when it cannot be reached."""
    async with unavailable_on_failure("reach it"), engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
