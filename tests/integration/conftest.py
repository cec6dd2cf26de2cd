"""Backends for the contract suites: memory, a SQLite file, a PostgreSQL database.

PostgreSQL: one fresh database per session (created on the server of
``tests.conftest.POSTGRES_URL``, migrated, dropped at the end), emptied before each test.
SQLite: a new file under ``tmp_path`` per test, migrated with ``migrate``.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.adapters.sqlalchemy import SqlStores, migrate, open_stores
from privalytics.adapters.sqlalchemy.tables import metadata
from privalytics.domain.ports import EventStore, SaltStore, TokenStore
from tests.conftest import POSTGRES_URL, require_server

T = TypeVar("T")

POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
SQL_BACKENDS = ["sqlite", POSTGRES]
ALL_BACKENDS = ["memory", "sqlite", POSTGRES]

# Nothing listens on port 1: connecting is refused at once. The password must never
# appear in an error.
UNREACHABLE_POSTGRES_URL = "postgresql+asyncpg://privalytics:hunter2secret@127.0.0.1:1/nowhere"


def run_in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on its own loop in a thread: session fixtures outlive the
    per-test event loops, so nothing of theirs may be bound to one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _server_dsn(database: str) -> str:
    """A plain asyncpg DSN for ``database`` on the test server."""
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(_server_dsn(make_url(POSTGRES_URL).database or "test"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(name: str) -> str:
    """Create an empty database on the test server; returns its SQLAlchemy URL."""
    await _admin(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database_name() -> str:
    return f"privalytics_test_{secrets.token_hex(6)}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of its own on the test server, for the whole session."""
    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    name = fresh_database_name()
    url = run_in_thread(create_database(name))
    try:
        run_in_thread(migrate(url))
        yield url
    finally:
        run_in_thread(drop_database(name))


async def clear(engine: AsyncEngine) -> None:
    """Delete every row (children first): faster than a database per test."""
    async with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(delete(table))


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'privalytics.db'}"


async def _migrated_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        path = sqlite_url(tmp_path)
        await migrate(path)
        return path
    url: str = request.getfixturevalue("postgres_url")
    stores = open_stores(url)
    try:
        await clear(stores.engine)
    finally:
        await stores.dispose()
    return url


@pytest.fixture(params=SQL_BACKENDS)
async def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: a SQLite file or the PostgreSQL one."""
    return await _migrated_url(request.param, request, tmp_path)


@pytest.fixture
async def sql_stores(sql_url: str) -> AsyncIterator[SqlStores]:
    stores = open_stores(sql_url)
    yield stores
    await stores.dispose()


@dataclass(frozen=True)
class Backend:
    name: str
    events: EventStore
    tokens: TokenStore
    salts: SaltStore
    # None for memory.
    sql: SqlStores | None = None


@pytest.fixture(params=ALL_BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Every store over one backend: memory, a SQLite file or the PostgreSQL database."""
    if request.param == "memory":
        yield Backend("memory", InMemoryEventStore(), InMemoryTokenStore(), InMemorySaltStore())
        return
    stores = open_stores(await _migrated_url(request.param, request, tmp_path))
    yield Backend(request.param, stores.events, stores.tokens, stores.salts, stores)
    await stores.dispose()


@pytest.fixture
def event_store(backend: Backend) -> EventStore:
    return backend.events


@pytest.fixture
def token_store(backend: Backend) -> TokenStore:
    return backend.tokens


@pytest.fixture
def salt_store(backend: Backend) -> SaltStore:
    return backend.salts


@pytest.fixture
async def unreachable_stores() -> AsyncIterator[SqlStores]:
    """Stores on a PostgreSQL URL (with a password) where nothing listens."""
    stores = open_stores(UNREACHABLE_POSTGRES_URL)
    yield stores
    await stores.dispose()


@pytest.fixture
async def vanished_sqlite_stores(tmp_path: Path) -> AsyncIterator[SqlStores]:
    """Stores on a migrated SQLite file whose folder was deleted after the engine was
    made."""
    folder = tmp_path / "gone"
    folder.mkdir()
    url = sqlite_url(folder)
    await migrate(url)
    stores = open_stores(url)
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    yield stores
    await stores.dispose()
    await _join_sqlite_threads()


async def _join_sqlite_threads() -> None:
    """Wait, on a live loop, for aiosqlite's worker threads to stop.

    After a failed connect aiosqlite stops its thread without awaiting it; the thread then
    reports to the loop, which raises in that thread if the test's loop already closed.
    """
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 5.0)


def assert_discreet(error: BaseException) -> None:
    """The error names neither the password, the host's address, nor the URL."""
    text = str(error)
    for secret in ("hunter2secret", "127.0.0.1", "privalytics:", "postgresql", "nowhere"):
        assert secret not in text
    assert error.__cause__ is None
    assert error.__suppress_context__


@pytest.fixture(params=SQL_BACKENDS)
async def empty_sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database that was never migrated: a new SQLite file, or a new
    PostgreSQL database dropped after the test."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    name = fresh_database_name()
    url = await create_database(name)
    try:
        yield url
    finally:
        await drop_database(name)
