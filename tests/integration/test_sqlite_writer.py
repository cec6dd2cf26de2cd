"""The SQLite event writer (sqlitewriter.py) on a real, migrated SQLite file: concurrent
calls share transactions on its thread, each call is all or nothing, a returned call is
committed, new texts join the dictionary in the same transaction, and the trigger of
migration 0004 (0006 on the compact table) marks the days of what it stores stale.

Several tests hold the database's write lock from another connection, so that the
writer thread is stuck in one transaction while more calls queue behind it: that is how
a group of calls is made on purpose."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import true

from privalytics.adapters.sqlalchemy import create_engine, migrate, open_stores
from privalytics.adapters.sqlalchemy.migrate import alembic_config
from privalytics.adapters.sqlalchemy.sqlitewriter import SqliteEventWriter
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.adapters.sqlalchemy.tables import TEXT_FIELDS, to_millis
from privalytics.bootstrap import STORAGE_BACKENDS
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.rollups import DAY_MS, day_of
from tests.integration.conftest import sqlite_url
from tests.integration.test_event_store_contract import NOON, event

Row = tuple[Any, ...]


# The texts after the path (dictionary.event_values), all None.
_NO_TEXTS = (None,) * (len(TEXT_FIELDS) - 1)


def _row(project: str, path: str | None, ts: int, visitor: int = 0) -> Row:
    """A visit, as the writer takes it (dictionary.event_values)."""
    return (project, ts, visitor, 0, None, None, path, *_NO_TEXTS)


def _rows(count: int, *, path: str = "/", ts: int = 1_772_366_400_000) -> list[Row]:
    return [_row("p1", path, ts + i, i) for i in range(count)]


def _bad_row() -> Row:
    return _row("p1", None, 1_772_366_400_000)  # NOT NULL


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    await migrate(sqlite_url(tmp_path))
    return tmp_path / "privalytics.db"


class Watch:
    """What a writer reports through its hooks: calls queued, and the calls of each
    transaction as the writer thread begins it (in order). Tests wait on these, not on
    time."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self.queued = 0
        self.groups: list[int] = []
        # Raised (once) by the hook as the writer begins its next transaction: a failure
        # of the writer itself, as the writer's docstring describes.
        self.fail_next_group: BaseException | None = None

    def writer(self, database: Path, **options: Any) -> SqliteEventWriter:
        return SqliteEventWriter(
            str(database), on_queued=self._on_queued, on_group=self._on_group, **options
        )

    def _on_queued(self) -> None:  # on the event loop (insert) or close()'s thread
        self._loop.call_soon_threadsafe(self._count_queued)

    def _count_queued(self) -> None:
        self.queued += 1
        self._changed.set()

    def _on_group(self, calls: int) -> None:  # on the writer thread
        # Taken before the group is seen: a failure set once a group is seen is the next's.
        failure, self.fail_next_group = self.fail_next_group, None
        self.groups.append(calls)
        self._loop.call_soon_threadsafe(self._changed.set)
        if failure is not None:
            raise failure

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        """Wait until ``condition()`` holds, for at most ten seconds."""
        try:
            async with asyncio.timeout(10):
                while not condition():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"still waiting for {what}") from None

    async def queued_at_least(self, calls: int) -> None:
        await self.until(lambda: self.queued >= calls, f"{calls} calls queued")


@pytest.fixture
async def watch() -> Watch:
    return Watch()


@pytest.fixture
async def writer(database: Path, watch: Watch) -> AsyncIterator[SqliteEventWriter]:
    writer = watch.writer(database)
    yield writer
    await writer.aclose()


def _count(database: Path, where: str = "1") -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(f"SELECT count(*) FROM events WHERE {where}").fetchone()[0])


@contextmanager
def _write_lock(database: Path) -> Iterator[None]:
    """Hold the database's write lock from another connection."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("COMMIT")
    finally:
        connection.close()


@asynccontextmanager
async def _behind_a_transaction(
    writer: SqliteEventWriter, watch: Watch, database: Path
) -> AsyncIterator[asyncio.Task[None]]:
    """The writer thread in a transaction (one row at /first), waiting for another
    connection's write lock: calls made inside queue behind it, and are taken together
    once the lock is released on the way out. Yields that first call."""
    with _write_lock(database):
        first = asyncio.create_task(writer.insert(_rows(1, path="/first")))
        await watch.until(lambda: len(watch.groups) == 1, "the first transaction begun")
        yield first


async def test_concurrent_calls_share_transactions_and_all_are_stored(
    writer: SqliteEventWriter, watch: Watch, database: Path
) -> None:
    async with _behind_a_transaction(writer, watch, database) as first:
        rest = [asyncio.create_task(writer.insert(_rows(2, path=f"/{i}"))) for i in range(50)]
        await watch.queued_at_least(51)
    await asyncio.gather(first, *rest)
    assert _count(database) == 101
    assert watch.groups == [1, 50]  # the first alone, then the 50 that queued behind it
    assert writer.transactions == 2


async def test_a_returned_call_is_committed(writer: SqliteEventWriter, database: Path) -> None:
    for i in range(20):
        await writer.insert(_rows(1, path=f"/{i}"))
        # Another connection sees it: committed, not merely written.
        assert _count(database) == i + 1


async def test_a_transaction_holds_at_most_max_rows_and_a_call_is_never_split(
    database: Path, watch: Watch
) -> None:
    writer = watch.writer(database, max_rows=10)
    try:
        async with _behind_a_transaction(writer, watch, database) as first:
            calls = [asyncio.create_task(writer.insert(_rows(4))) for _ in range(5)]
            large = asyncio.create_task(writer.insert(_rows(25)))
            await watch.queued_at_least(7)
        await asyncio.gather(first, *calls, large)
    finally:
        await writer.aclose()
    assert _count(database) == 1 + 20 + 25
    # 1 | 4+4 | 4+4 | 4 | 25: two calls of 4 per transaction, the 25 whole and alone.
    assert watch.groups == [1, 2, 2, 1, 1]


async def test_a_call_over_one_statement_is_one_transaction(
    writer: SqliteEventWriter, database: Path
) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await writer.insert([*_rows(2500), _bad_row()])
    assert _count(database) == 0
    await writer.insert(_rows(2500))
    assert _count(database) == 2500


async def test_bad_rows_fail_only_their_own_caller(
    writer: SqliteEventWriter, watch: Watch, database: Path
) -> None:
    async with _behind_a_transaction(writer, watch, database) as first:
        good = [asyncio.create_task(writer.insert(_rows(3, path=f"/{i}"))) for i in range(4)]
        bad = asyncio.create_task(writer.insert([*_rows(2, path="/bad"), _bad_row()]))
        more = asyncio.create_task(writer.insert(_rows(3, path="/more")))
        await watch.queued_at_least(7)
    await asyncio.gather(first, *good, more)
    with pytest.raises(sqlite3.IntegrityError):
        await bad
    assert _count(database) == 1 + 12 + 3
    assert _count(database, "path = '/bad'") == 0
    # The six together failed on the bad one's data; then each was tried alone.
    assert watch.groups == [1, 6, 1, 1, 1, 1, 1, 1]


async def test_a_caller_cancelled_before_its_turn_is_not_stored(
    writer: SqliteEventWriter, watch: Watch, database: Path
) -> None:
    async with _behind_a_transaction(writer, watch, database) as first:
        cancelled = asyncio.create_task(writer.insert(_rows(1, path="/cancelled")))
        await watch.queued_at_least(2)
        cancelled.cancel()  # cancels the future it awaits at once
    await first
    await writer.insert(_rows(1, path="/after"))
    assert _count(database, "path = '/cancelled'") == 0
    assert _count(database) == 2


async def test_close_stores_what_is_queued_then_refuses_more(database: Path, watch: Watch) -> None:
    writer = watch.writer(database)
    async with _behind_a_transaction(writer, watch, database) as first:
        queued = [asyncio.create_task(writer.insert(_rows(1, path=f"/{i}"))) for i in range(5)]
        await watch.queued_at_least(6)
        closing = asyncio.create_task(writer.aclose())
        await watch.queued_at_least(7)  # the request to stop, behind the five
    await closing
    await asyncio.gather(first, *queued)
    assert _count(database) == 6
    with pytest.raises(StorageUnavailable):
        await writer.insert(_rows(1))


async def test_a_database_that_cannot_be_opened_fails_every_caller_then_recovers(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "not-yet"
    writer = SqliteEventWriter(str(folder / "privalytics.db"))
    try:
        results = await asyncio.gather(
            *(writer.insert(_rows(1)) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
        folder.mkdir()
        await migrate(sqlite_url(folder))
        await writer.insert(_rows(3))
        assert _count(folder / "privalytics.db") == 3
    finally:
        await writer.aclose()


async def test_a_locked_database_is_storage_unavailable_through_the_store(
    tmp_path: Path, database: Path
) -> None:
    stores = open_stores(sqlite_url(tmp_path))
    try:
        # The writer waits busy_timeout (5 s) for the lock, then every caller fails.
        with _write_lock(database):
            results = await asyncio.gather(
                *(stores.events.add([event(path=f"/{i}")]) for i in range(3)),
                return_exceptions=True,
            )
        assert all(isinstance(r, StorageUnavailable) for r in results), results
        await stores.events.add([event()])  # and it recovers
        assert _count(database) == 1
    finally:
        await stores.dispose()


async def test_the_trigger_marks_each_stored_day_stale(
    writer: SqliteEventWriter, database: Path
) -> None:
    day = 20_513
    rows = [
        _row("p1", "/", day * DAY_MS),
        _row("p1", "/", day * DAY_MS + DAY_MS - 1),
        _row("p1", "/", (day + 2) * DAY_MS + 5),
        _row("p2", "/", day * DAY_MS + 7),
        # Before 1970, floored as domain/rollups.py's day_of floors it.
        _row("p2", "/", -1),
        _row("p2", "/", -DAY_MS),
        _row("p2", "/", -DAY_MS - 1),
    ]
    await writer.insert(rows)
    with sqlite3.connect(database) as connection:
        marks = set(connection.execute("SELECT project_id, day FROM rollup_stale").fetchall())
    assert marks == {("p1", day), ("p1", day + 2), ("p2", day), ("p2", -1), ("p2", -2)}


async def test_the_store_converts_events_as_the_writer_expects(
    tmp_path: Path, database: Path
) -> None:
    stores = open_stores(sqlite_url(tmp_path))
    added = [event(path="/a", referrer="https://x.org/"), event(path="/b", props={"k": "v"})]
    try:
        await stores.events.add(added)
        async with stores.engine.connect() as connection:
            assert await read_events(connection, true()) == added
    finally:
        await stores.dispose()
    with sqlite3.connect(database) as connection:
        paths = connection.execute(
            "SELECT t.text FROM events e JOIN texts t ON t.project = e.project AND t.id = e.path"
            " ORDER BY e.id"
        ).fetchall()
    assert paths == [("/a",), ("/b",)]


async def test_sqlite_files_skip_the_group_commit_in_front(tmp_path: Path) -> None:
    """The writer thread groups calls itself; a group commit in front would hand it one
    group at a time. Other SQL storage keeps it."""
    url = sqlite_url(tmp_path)
    await migrate(url)
    storage = STORAGE_BACKENDS["sqlite+aiosqlite"](url, timedelta(days=1), 5.0)
    try:
        assert type(storage.events).__name__ == "SqlAlchemyEventStore"
    finally:
        for close in storage.closers:
            await close()


async def test_a_failure_outside_the_database_fails_its_callers_and_the_writer_goes_on(
    writer: SqliteEventWriter, watch: Watch, database: Path
) -> None:
    watch.fail_next_group = RuntimeError("a bug")
    with pytest.raises(RuntimeError, match="a bug"):
        await asyncio.wait_for(writer.insert(_rows(1)), 5)
    await writer.insert(_rows(2))
    assert _count(database) == 2


# The thread's death is the point: pytest would report it as unhandled.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("max_rows", [1000, 1])  # 1: a call is held for the next group
async def test_a_writer_thread_that_dies_leaves_no_caller_waiting(
    database: Path, watch: Watch, max_rows: int
) -> None:
    writer = watch.writer(database, max_rows=max_rows)
    async with _behind_a_transaction(writer, watch, database) as first:
        watch.fail_next_group = SystemExit()  # what no Exception handler catches
        queued = [asyncio.create_task(writer.insert(_rows(1))) for _ in range(3)]
        await watch.queued_at_least(4)
    await first  # stored before the thread died
    results = await asyncio.wait_for(asyncio.gather(*queued, return_exceptions=True), 5)
    assert all(isinstance(r, StorageUnavailable) for r in results), results
    # Refused, or queued just before the thread ended and failed by it: never left waiting.
    with pytest.raises(StorageUnavailable):
        await asyncio.wait_for(writer.insert(_rows(1)), 5)
    assert _count(database) == 1
    # Its death reported while this test (which expects it) still runs, not the next one.
    thread = writer._thread
    assert thread is not None
    await asyncio.to_thread(thread.join, 5)
    assert not thread.is_alive()


async def test_a_thread_that_could_not_start_is_started_by_the_next_call(
    writer: SqliteEventWriter, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = threading.Thread.start

    def failing(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", failing)
    with pytest.raises(RuntimeError):
        await writer.insert(_rows(1))
    monkeypatch.setattr(threading.Thread, "start", start)
    await asyncio.wait_for(writer.insert(_rows(1)), 5)
    assert _count(database) == 1


async def test_no_rows_is_nothing_to_do(writer: SqliteEventWriter, database: Path) -> None:
    await writer.insert([])
    assert writer.transactions == 0


async def _migrated_to(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", ["file", "uri"])  # the writer thread, SQLAlchemy's insert
@pytest.mark.parametrize("revision", ["0003", "0005"])  # no trigger; the old table's
async def test_a_database_without_the_stale_trigger_stores_nothing_until_migrated(
    tmp_path: Path, kind: str, revision: str
) -> None:
    """Events stored without their days marked would never reach the rollups: a database
    not migrated to 0004, or to the compact table of 0006 (whose trigger replaces it), is
    refused (503) with what to do, not silently written."""
    path = tmp_path / "privalytics.db"
    url = sqlite_url(tmp_path)
    await _migrated_to(url, revision)
    stores = open_stores(url if kind == "file" else f"sqlite+aiosqlite:///file:{path}?uri=true")
    try:
        with pytest.raises(StorageUnavailable, match="privalytics migrate"):
            await stores.events.add([event()])
        assert _count(path) == 0
        await migrate(url)
        await stores.events.add([event(at=NOON)])
    finally:
        await stores.dispose()
    with sqlite3.connect(path) as connection:
        marks = connection.execute("SELECT day FROM rollup_stale").fetchall()
    assert marks == [(day_of(to_millis(NOON)),)]


async def test_disposing_the_engine_alone_stores_what_is_queued_and_stops_the_writer(
    tmp_path: Path, database: Path
) -> None:
    """The engine's dispose listener closes the writer (an embedding app may never call
    the store's aclose)."""
    stores = open_stores(sqlite_url(tmp_path))
    before = set(threading.enumerate())
    await stores.events.add([event()])
    threads = [t for t in set(threading.enumerate()) - before if t.name == "privalytics-sqlite"]
    pending = [asyncio.create_task(stores.events.add([event(path=f"/{i}")])) for i in range(5)]
    await asyncio.sleep(0)
    await stores.engine.dispose()
    assert threads
    assert not any(t.is_alive() for t in threads)
    await asyncio.wait_for(asyncio.gather(*pending), 5)
    with pytest.raises(StorageUnavailable):
        await stores.events.add([event()])
    assert _count(database) == 6
