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
# The days the rows fall on, whose rollups the same transaction marks stale.
_MARK_STALE = (
    "INSERT INTO rollup_stale (project_id, day) VALUES ($1, $2) "
    "ON CONFLICT (project_id, day) DO NOTHING"
)


class AsyncpgEventWriter:
    """Copies event rows into ``events``, one COPY per call, calls taking turns.

    The connection is checked out on first use and kept; after a failure, or when the
    server has closed it meanwhile, it is invalidated and a fresh one checked out (on the
    next call, or at once when it was found closed before use). ``aclose()`` returns it.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def insert(self, rows: Sequence[Values], stale: Sequence[tuple[str, int]] = ()) -> None:
        """Copy ``rows`` and mark the ``stale`` (project id, day) pairs, in one transaction."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A connection (and a lock) serve the loop that made them only.
            self._connection, self._lock, self._loop = None, asyncio.Lock(), loop
        assert self._lock is not None
        async with self._lock:
            connection = self._connection
            if connection is not None and (await _driver(connection)).is_closed():
                # Closed by the server while idle (a restart, an idle timeout): nothing was
                # sent on it, so a fresh connection is safe, as pre-ping is on checkout.
                await self._discard(connection)
                connection = None
            connection = connection or await self._checkout()
            try:
                driver = await _driver(connection)
                async with driver.transaction():
                    await driver.copy_records_to_table("events", records=rows, columns=COLUMNS)
                    if stale:
                        await driver.executemany(_MARK_STALE, stale)
            except BaseException:
                await self._discard(connection)
                raise

    async def _discard(self, connection: AsyncConnection) -> None:
        self._connection = None
        await connection.invalidate()
        await connection.close()

    async def _checkout(self) -> AsyncConnection:
        self._connection = await self._engine.connect()
        return self._connection

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


async def _driver(connection: AsyncConnection) -> Any:
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a live connection has its asyncpg one
    return driver
