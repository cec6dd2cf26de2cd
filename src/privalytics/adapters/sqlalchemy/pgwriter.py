"""The PostgreSQL event insert, off SQLAlchemy's statement layer: COPY on a connection the
writer keeps checked out of the engine's pool.

Through ``engine.begin()`` each group of events paid a pool checkout (with its pre-ping
round trip), BEGIN, an insert compiled by SQLAlchemy, COMMIT and the reset on return; here
it is one ``COPY`` (a single statement, so atomic and committed when it returns) on
asyncpg directly: about a third of the CPU per event (see docs/performance.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

COLUMNS = (
    "project_id",
    "action",
    "path",
    "ts",
    "visitor_hash",
    "referrer",
    "target",
    "value",
    "props",
)

Values = tuple[Any, ...]


class AsyncpgEventWriter:
    """Copies event rows into ``events``, one COPY per call, calls taking turns.

    The connection is checked out on first use and kept; after a failure it is
    invalidated and the next call checks out a fresh one. ``aclose()`` returns it.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def insert(self, rows: Sequence[Values]) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A connection (and a lock) serve the loop that made them only.
            self._connection, self._lock, self._loop = None, asyncio.Lock(), loop
        assert self._lock is not None
        async with self._lock:
            connection = self._connection or await self._checkout()
            try:
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None  # a live connection has its asyncpg one
                await driver.copy_records_to_table("events", records=rows, columns=COLUMNS)
            except BaseException:
                self._connection = None
                await connection.invalidate()
                await connection.close()
                raise

    async def _checkout(self) -> AsyncConnection:
        self._connection = await self._engine.connect()
        return self._connection

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
