"""A deleted salt is gone from the database's files (docs/privacy.md, "Deleted salts on
disk").

PostgreSQL: a throwaway cluster of the test's own (initdb, a free port), so that every
file under its data directory (base/, global/, pg_wal/, ...) can be read. SQLite: the
database file and its -wal and -shm files. In both, salts are created through the real
stores while events are recorded, the windows pass (a manual clock), the purge runs, a
checkpoint follows, and then no file may hold a deleted salt's 32 bytes, in raw, hex or
base64 form. A marker stored in an ordinary table must be found, so that a search that
cannot see the files cannot pass.
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics import bootstrap
from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.adapters.sqlalchemy.engine import create_engine
from privalytics.config import load_settings
from privalytics.domain.models import Action, ClientInfo, IncomingEvent
from privalytics.domain.services import Services
from privalytics.testing import ManualClock
from tests.integration.conftest import sqlite_url
from tests.pgcluster import Cluster, throwaway_cluster

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAYS = 3
DAY = 86_400


def forms(secret: bytes) -> dict[str, bytes]:
    """The ways a stored value may be spelled in a file."""
    return {
        "raw": secret,
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
        "base64": base64.b64encode(secret),
    }


def files_holding(folder: Path, secrets_: Iterable[bytes]) -> list[str]:
    """Each (file, form) under ``folder`` that holds one of ``secrets_``."""
    needles = [(name, needle) for secret in secrets_ for name, needle in forms(secret).items()]
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        content = path.read_bytes()
        found += [f"{path.relative_to(folder)} ({name})" for name, n in needles if n in content]
    return found


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@dataclass(frozen=True)
class Running:
    """privalytics over one database, with an engine of the test's own to look at it."""

    url: str
    services: Services
    clock: ManualClock
    engine: AsyncEngine

    async def stored_salts(self) -> dict[int, bytes]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(text("SELECT salt_window, salt FROM salts"))
            return {int(window): bytes(salt) for window, salt in rows}


@asynccontextmanager
async def running(url: str) -> AsyncIterator[Running]:
    await migrate(url)
    clock = ManualClock(START)
    services = bootstrap.build(load_settings({}, database_url=url, bcrypt_rounds=4), clock=clock)
    engine = create_engine(url)
    try:
        yield Running(url, services, clock, engine)
    finally:
        await services.aclose()
        await engine.dispose()


async def visit(services: Services, token: str, path: str, visitors: int = 20) -> None:
    for n in range(visitors):
        client = ClientInfo(ip=f"203.0.113.{n}", user_agent=f"agent {n}")
        event = IncomingEvent(action=Action.VISIT, path=path)
        assert await services.ingestion.record(token, [event], client) == 1


async def record_for_days(app: Running, marker: str) -> dict[int, bytes]:
    """Record events on ``DAYS`` days; returns every salt the days used."""
    services, clock = app.services, app.clock
    created = await services.admin.create_project("erasure")
    token = created.token.token
    used: dict[int, bytes] = {}
    for day in range(DAYS):
        clock.set(START + timedelta(days=day))
        await visit(services, token, f"{marker}/{day}")
        used.update(await app.stored_salts())
    assert len(used) == DAYS
    return used


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as started:
        yield started


@pytest.fixture
async def postgres(cluster: Cluster) -> AsyncIterator[tuple[Running, str]]:
    name = f"erasure_{secrets.token_hex(4)}"
    await cluster.execute(f'CREATE DATABASE "{name}"')
    async with running(cluster.url(name)) as app:
        yield app, name


@pytest.mark.postgres
async def test_a_purged_salt_is_nowhere_under_the_postgresql_data_directory(
    cluster: Cluster, postgres: tuple[Running, str]
) -> None:
    app, database = postgres
    marker = f"/marker-{secrets.token_hex(8)}"
    used = await record_for_days(app, marker)
    # Each day's first event deleted the salt of the day before; what a clean shutdown
    # writes holds the last day's, in the salts table's file (not in the WAL).
    cluster.restart()
    current = used[max(used)]
    assert [place.split("/")[0] for place in files_holding(cluster.data, [current])] == ["base"]

    app.clock.set(START + timedelta(days=DAYS))
    assert await app.services.purge_expired_salts() == 1
    assert await app.stored_salts() == {}
    # The checkpoint writes every logged page to the data files; then what autovacuum or
    # an operator's routine would do, and another checkpoint.
    for maintenance in ("CHECKPOINT", "VACUUM", "CHECKPOINT"):
        await cluster.execute(maintenance, database)
        if maintenance == "CHECKPOINT":
            assert files_holding(cluster.data, [marker.encode()]), "the search sees no data"
            assert files_holding(cluster.data, used.values()) == [], maintenance
    assert files_holding(cluster.log.parent, used.values()) == []


@pytest.mark.postgres
async def test_after_a_postgresql_crash_the_running_processes_store_the_current_salt_again(
    cluster: Cluster, postgres: tuple[Running, str]
) -> None:
    """Crash recovery empties the unlogged salts table. A process that was running puts
    its salt back at its next housekeeping, so one started afterwards hashes with it: the
    same visitors before and after the crash count once."""
    app, _ = postgres
    created = await app.services.admin.create_project("crash")
    await visit(app.services, created.token.token, "/before")
    before = await app.stored_salts()
    assert len(before) == 1

    cluster.crash()
    cluster.start()
    assert await app.stored_salts() == {}
    await app.services.housekeeping()
    assert await app.stored_salts() == before

    async with running(app.url) as started_later:
        await visit(started_later.services, created.token.token, "/after")
        started_later.clock.advance(1)
        reporting = started_later.services.reporting
        stats = await reporting.stats(created.project.id, reporting.span(period="24h"))
    assert (stats.visits, stats.unique_visitors) == (40, 20)


async def test_a_purged_salt_is_in_no_sqlite_file(tmp_path: Path) -> None:
    marker = f"/marker-{secrets.token_hex(8)}"
    async with running(sqlite_url(tmp_path)) as app:
        used = await record_for_days(app, marker)
        app.clock.set(START + timedelta(days=DAYS))
        await app.services.purge_expired_salts()
        assert await app.stored_salts() == {}
        # The files as they are while the server runs (the -wal and -shm files
        # included): the purge itself must leave nothing, whatever SQLite does later.
        assert "privalytics.db-wal" in names_in(tmp_path)
        assert files_holding(tmp_path, [marker.encode()]), "the search sees no stored data"
        assert files_holding(tmp_path, used.values()) == []


async def test_sqlite_erases_a_salt_where_the_build_keeps_deleted_bytes(tmp_path: Path) -> None:
    """Builds differ: Debian's zeroes deleted bytes by default, others do not."""
    url = sqlite_url(tmp_path)
    await migrate(url)
    stores = open_stores(url)
    old, current = secrets.token_bytes(32), secrets.token_bytes(32)
    try:
        async with stores.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA secure_delete=OFF")
        await stores.salts.get_or_create(DAY, old)
        await stores.salts.get_or_create(2 * DAY, current)
        assert await stores.salts.delete_expired(2 * DAY, DAY) == 1
        assert files_holding(tmp_path, [current]), "the search sees no stored data"
        assert files_holding(tmp_path, [old]) == []
    finally:
        await stores.dispose()


async def test_a_sqlite_wal_held_by_a_reader_is_truncated_by_a_later_purge(
    tmp_path: Path,
) -> None:
    """A reader of older pages keeps the checkpoint from truncating the WAL: the purge
    does not wait for it (events would wait as long), and the next purge truncates it,
    although it finds nothing left to delete."""
    url = sqlite_url(tmp_path)
    await migrate(url)
    stores = open_stores(url)
    old = secrets.token_bytes(32)
    reader = sqlite3.connect(tmp_path / "privalytics.db", isolation_level=None)
    try:
        await stores.salts.get_or_create(DAY, old)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM salts").fetchall()
        assert await stores.salts.delete_expired(2 * DAY, DAY) == 1
        assert files_holding(tmp_path, [old]) == ["privalytics.db-wal (raw)"]
        reader.execute("COMMIT")
        assert await stores.salts.delete_expired(2 * DAY, DAY) == 0
        assert files_holding(tmp_path, [old]) == []
        assert await stores.salts.delete_expired(2 * DAY, DAY) == 0
    finally:
        reader.close()
        await stores.dispose()
