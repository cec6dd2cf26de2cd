"""The SQLite event insert, off SQLAlchemy: a sqlite3 connection of its own, in a thread of
its own, one thread hop per batch.

Through SQLAlchemy's async layer an insert costs several hops between the event loop and
aiosqlite's thread (BEGIN, the statement, COMMIT, each wrapped in greenlet switches); on
this path that was about 15 % of the server's single-event throughput (see
docs/performance.md). Here a whole transaction (BEGIN IMMEDIATE, executemany, COMMIT)
runs in one call on the writer thread, with the same pragmas as every engine connection,
so a returned ``insert()`` means a durable commit.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from privalytics.adapters.sqlalchemy.engine import SQLITE_PRAGMAS

_INSERT = (
    "INSERT INTO events (project_id, action, path, ts, visitor_hash, referrer, target, "
    "value, props) VALUES "
)
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
# The days the rows fall on, whose rollups the same transaction marks stale.
_MARK_STALE = (
    "INSERT INTO rollup_stale (project_id, day) VALUES (?, ?) "
    "ON CONFLICT (project_id, day) DO NOTHING"
)
# Rows per statement: one multi-row INSERT is one sqlite3_step, so the writer thread gives
# up and takes back the GIL once per chunk instead of once per row (executemany), which
# under load meant waiting on the busy event-loop thread for each row. 9 x 1000 bound
# values stay far below SQLite's limit (32766 since 3.32).
_CHUNK = 1000

Values = tuple[Any, ...]


@functools.lru_cache(maxsize=64)
def _insert_sql(rows: int) -> str:
    return _INSERT + ", ".join([_ROW] * rows)


class SqliteEventWriter:
    """Inserts event rows in one transaction per call, on a dedicated thread.

    The connection opens on first use; ``close()`` closes it and stops the thread.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="privalytics-sqlite")
        self._closed = False

    async def insert(self, rows: Sequence[Values], stale: Sequence[tuple[str, int]] = ()) -> None:
        """Insert ``rows`` and mark the ``stale`` (project id, day) pairs, in one
        transaction."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._insert, rows, stale)

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: the transaction below is ours, as on the engine's connections.
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            for pragma in SQLITE_PRAGMAS:
                connection.execute(pragma)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _insert(self, rows: Sequence[Values], stale: Sequence[tuple[str, int]]) -> None:
        connection = self._connection or self._open()
        # IMMEDIATE: take the write lock first (waiting up to busy_timeout for others).
        connection.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                connection.execute(_insert_sql(len(chunk)), [v for row in chunk for v in row])
            connection.executemany(_MARK_STALE, stale)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Close the connection (waiting for an insert under way) and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._thread.submit(self._close).result()
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
