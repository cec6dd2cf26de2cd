"""The SQLite event insert, off SQLAlchemy and off the event loop: a sqlite3 connection
in a thread of its own, which commits what concurrent callers queued, together.

Through SQLAlchemy's async layer an insert costs several hops between the event loop and
aiosqlite's thread (BEGIN, the statement, COMMIT, each wrapped in greenlet switches); on
this path that was about 15 % of the server's single-event throughput (see
docs/performance.md). Here ``insert()`` queues its rows and waits; the writer thread takes
everything queued when it begins a transaction, stores it, then wakes those callers with
one call into their event loop. The next transaction begins as soon as the last one is
committed, without waiting for the event loop to take the answer and hand over the next
group. A returned ``insert()`` means a durable commit (the same pragmas as every engine
connection).

A transaction of up to 1000 rows is one multi-row INSERT, in autocommit: its own
transaction, committed by the statement. Every other statement would cost the thread the
GIL back once more (SQLite runs without it), which it waits for while the event loop
answers requests; that wait, not the disk, was most of a commit's time under load
(docs/performance.md). The days of the rows are marked stale by a trigger in the same
statement (migration 0004, on the compact table 0006).

The rows' texts become dictionary ids on this thread (:mod:`.dictionary`): when every text
is known to the process, nothing changes above; a group bringing a new text is one
``BEGIN IMMEDIATE`` transaction that adds its texts, then its rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from privalytics.adapters.observer import CommitObserver
from privalytics.adapters.sqlalchemy.dictionary import (
    STORED_COLUMNS,
    Dictionary,
    Values,
    resolve_sqlite,
)
from privalytics.adapters.sqlalchemy.engine import sqlite_pragmas
from privalytics.domain.errors import StorageUnavailable

_INSERT = f"INSERT INTO events ({', '.join(STORED_COLUMNS)}) VALUES "  # noqa: S608 (no input)
_ROW = "(" + ", ".join("?" * len(STORED_COLUMNS)) + ")"
# The trigger of migration 0004, as migration 0006 made it again on the compact table,
# which marks the days of inserted events stale: without it (a database not migrated yet)
# events would be stored and their days' rollups never recomputed, or not stored at all,
# so the writer refuses to store anything until it is there.
HAS_STALE_TRIGGER = (
    "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'events_mark_day_stale'"
    " AND sql LIKE '%project_numbers%'"
)
OLD_SCHEMA = "the database schema is older than this version: run `privalytics migrate`"
# Rows per statement: one multi-row INSERT is one sqlite3_step, so the writer thread gives
# up and takes back the GIL once per statement instead of once per row (executemany).
# 23 x 1000 bound values stay below SQLite's limit (32766 since 3.32).
_CHUNK = 1000
# Prepared statements kept by the connection, one per row count seen: under load the
# groups take many sizes, and preparing a statement costs the GIL back once more.
_CACHED_STATEMENTS = 256


@functools.lru_cache(maxsize=_CACHED_STATEMENTS)
def _insert_sql(rows: int) -> str:
    return _INSERT + ", ".join([_ROW] * rows)


@dataclass(slots=True)
class _Call:
    """One ``insert()``: its rows, and the future its caller awaits on ``loop``."""

    rows: Sequence[Values]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


class SqliteEventWriter:
    """Inserts event rows on a dedicated thread, many concurrent calls per transaction.

    Each call's rows are stored all together or not at all. A transaction holds at most
    ``max_rows`` rows (by default what one statement takes), except that one call's rows
    are never split. When a transaction of several calls fails on their data (not on the
    database being away), each call is retried alone, so one caller's bad rows fail only
    that caller. The thread starts on the first call; ``close()`` stores what is queued,
    then closes the connection and stops the thread, and later calls raise
    StorageUnavailable.

    Two optional hooks let a test (or instrumentation) see the grouping as it happens,
    instead of guessing it from time: ``on_queued()`` is called once a call (or
    ``close()``'s request to stop) is queued, on the thread that queued it;
    ``on_group(calls)`` on the writer thread as it begins a transaction of ``calls``
    calls (a retry of one call alone included). They must be quick. What ``on_group``
    raises is taken as a failure of the writer itself, not of the database, which is how
    a test provokes one: an ``Exception`` fails that transaction's callers with it and
    the writer goes on; anything else (``SystemExit``) ends the thread, and every caller
    waiting, or calling later, gets StorageUnavailable.
    """

    def __init__(
        self,
        path: str,
        *,
        max_rows: int = _CHUNK,
        on_queued: Callable[[], None] | None = None,
        on_group: Callable[[int], None] | None = None,
        dictionary: Dictionary | None = None,
        busy_timeout: float | None = None,
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self._path = path
        self._pragmas = sqlite_pragmas(busy_timeout)
        self._max_rows = max_rows
        self._on_queued = on_queued
        self._on_group = on_group
        # Read and grown on the writer thread only (the event store may forget a project).
        self._dictionary = dictionary or Dictionary()
        self._connection: sqlite3.Connection | None = None
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # Held to queue a call or the final None, so nothing is queued after the None.
        self._lock = threading.Lock()
        self._closed = False
        self.transactions = 0  # committed so far (the benchmark reports rows per commit)
        self._observer: CommitObserver | None = None

    def observe(self, observer: CommitObserver) -> None:
        """Tell ``observer`` what the writer does from now on (on the writer thread)."""
        self._observer = observer

    async def insert(self, rows: Sequence[Values]) -> None:
        """Insert ``rows`` (:func:`.dictionary.event_values`: texts, which the writer turns
        into ids) in one transaction (shared with other calls); returns once it is
        committed."""
        if not rows:
            return
        loop = asyncio.get_running_loop()
        call = _Call(rows, loop.create_future(), loop)
        with self._lock:
            if self._closed:
                raise StorageUnavailable("the event writer is closed")
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="privalytics-sqlite", daemon=True)
                thread.start()  # a thread that could not start is not taken for running
                self._thread = thread
            self._queue.put(call)
        if self._on_queued is not None:
            self._on_queued()
        # A caller cancelled while waiting does not learn the outcome; its rows are
        # skipped if the thread has not taken them yet, and may be stored otherwise.
        observer = self._observer
        if observer is None:
            await call.future
            return
        started = time.perf_counter()
        await call.future
        observer.waited(time.perf_counter() - started)

    # The writer thread.

    def _run(self) -> None:
        group: list[_Call] = []
        held: _Call | None = None  # taken off the queue, the first of the next transaction
        try:
            while True:
                if held is not None:
                    group, held = [held], None
                else:
                    first = self._queue.get()
                    if first is None:
                        return
                    group = [first]
                size = len(group[0].rows)
                while True:
                    try:
                        call = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if call is None:
                        self._store_or_fail(group)
                        return
                    if size + len(call.rows) > self._max_rows:
                        held = call
                        break
                    group.append(call)
                    size += len(call.rows)
                self._store_or_fail(group)
        except BaseException:
            # What was taken off the queue and not answered must not wait forever.
            taken = group if held is None else [*group, held]
            _settle(taken, StorageUnavailable("the event writer stopped"))
            raise
        finally:
            self._stop()

    def _store_or_fail(self, group: list[_Call]) -> None:
        try:
            self._store(group)
        except Exception as error:  # a bug, not the database: its callers must not hang
            _settle(group, error)

    def _stop(self) -> None:
        """The thread's end: the connection closed, and no caller left waiting."""
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None
        with self._lock:
            self._closed = True
        left = []
        while True:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                break
            if call is not None:
                left.append(call)
        _settle(left, StorageUnavailable("the event writer stopped"))

    def _store(self, group: list[_Call]) -> None:
        """Store ``group`` in one transaction and settle its callers' futures, or each
        call alone when the group failed on some call's data."""
        # A caller cancelled before its turn: never stored. (Read across threads: a future
        # cancelled just after this check may still be stored, as the docstring says.)
        group = [call for call in group if not call.future.done()]
        if not group:
            return
        if self._on_group is not None:
            self._on_group(len(group))
        observer = self._observer
        if observer is not None:
            observer.queued(self._queue.qsize())
        started = time.perf_counter()
        try:
            self._transaction(group)
        except (sqlite3.OperationalError, StorageUnavailable) as error:
            # Cannot open, locked past busy_timeout, disk full, I/O error, a schema too
            # old: the same for every caller.
            _settle(group, error)
        except Exception as error:
            if len(group) == 1:
                _settle(group, error)
                return
            for call in group:
                self._store([call])
        else:
            self.transactions += 1
            if observer is not None:
                rows = sum(len(call.rows) for call in group)
                observer.committed(rows, time.perf_counter() - started)
            _settle(group, None)

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: the transaction below is ours, as on the engine's connections.
        connection = sqlite3.connect(
            self._path,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=_CACHED_STATEMENTS,
        )
        try:
            for pragma in self._pragmas:
                connection.execute(pragma)
            if connection.execute(HAS_STALE_TRIGGER).fetchone() is None:
                raise StorageUnavailable(OLD_SCHEMA)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _transaction(self, group: Sequence[_Call]) -> None:
        connection = self._connection or self._open()
        rows = [row for call in group for row in call.rows]
        stored = self._dictionary.encode(rows)
        if stored is not None and len(stored) <= _CHUNK:
            # Every text known: one statement, a transaction of its own
            # (isolation_level=None: autocommit).
            connection.execute(_insert_sql(len(stored)), _flat(stored))
            return
        # IMMEDIATE: take the write lock first (waiting up to busy_timeout for others), so
        # that new texts get their ids from the project's counter one writer at a time.
        connection.execute("BEGIN IMMEDIATE")
        try:
            learnt = None
            if stored is None:

                def execute(sql: str, parameters: Sequence[object]) -> list[Any]:
                    return connection.execute(sql, parameters).fetchall()

                stored, numbers, ids = resolve_sqlite(execute, rows, self._dictionary)
                learnt = numbers, ids
            for start in range(0, len(stored), _CHUNK):
                chunk = stored[start : start + _CHUNK]
                connection.execute(_insert_sql(len(chunk)), _flat(chunk))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        if learnt is not None:
            self._dictionary.learn(*learnt)

    # Closing.

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Store what is queued, close the connection and stop the thread; later
        ``insert()`` calls raise StorageUnavailable."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            if self._on_queued is not None:
                self._on_queued()
            thread.join()


def _flat(rows: Sequence[Values]) -> Sequence[object]:
    """The statement's parameters: the rows' values in a row."""
    return rows[0] if len(rows) == 1 else list(itertools.chain.from_iterable(rows))


def _settle(group: Sequence[_Call], error: BaseException | None) -> None:
    """Wake the callers of ``group``: one call into each of their event loops."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for call in group:
        by_loop.setdefault(call.loop, []).append(call.future)
    for loop, futures in by_loop.items():
        # A loop already closed has no caller left waiting.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, futures, error)


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
