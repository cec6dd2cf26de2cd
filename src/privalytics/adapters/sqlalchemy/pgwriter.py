"""The PostgreSQL event insert, off SQLAlchemy's statement layer: one statement on a
connection the writer keeps checked out of the engine's pool.

Through ``engine.begin()`` each group of events paid a pool checkout (with its pre-ping
round trip), BEGIN, an insert compiled by SQLAlchemy, COMMIT and the reset on return. Here
a group is one prepared statement on asyncpg directly, one round trip: the rows go in as
one array per column (``unnest``) and the days they make stale are marked by the same
statement (a data-modifying ``WITH``), so it is atomic and committed when it returns (a
second round trip only in the rare case described at ``_INSERT``). BEGIN,
COPY, the marks and COMMIT as four round trips cost the event loop about 8 µs more per
request under load (see docs/performance.md).

The rows' texts become dictionary ids first (:mod:`.dictionary`): when every text is known
to the process, that is all; a group bringing a new text is a transaction that adds its
texts (a few statements), then runs the same statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy.dictionary import (
    STORED_COLUMNS,
    Dictionary,
    Known,
    Values,
    resolve_postgres,
)
from privalytics.adapters.sqlalchemy.tables import TEXT_FIELDS

# The type of each of STORED_COLUMNS' arrays.
_TYPES = ("integer", "bigint", "bigint", "smallint", "float8", "text") + ("integer",) * len(
    TEXT_FIELDS
)
_WANTED = len(STORED_COLUMNS) + 1  # the number of the first parameter after the columns
# One array per column, text converted to the column's varchar or char; then the days they
# fall on marked stale. A refresh claims a day by deleting its mark, then recomputes it from
# the events committed by then; so until this statement commits, each of its days' marks
# must be either one it inserted (no refresh sees it before the commit) or one it holds
# (FOR KEY SHARE, which writers do not contend for: a refresh deleting it waits for this
# commit, then reads these events). ``marked`` reads ``locked``, so the marks are locked
# before the missing ones are inserted, an order PostgreSQL leaves open for sub-statements
# that do not read each other. One case is left: a mark another instance committed after
# this statement began is not seen by ``locked`` (the statement's snapshot) yet stops
# ``marked``'s insert (ON CONFLICT sees it). The statement returns those days, and the
# writer marks them again once it has committed (see AsyncpgEventWriter.insert).
_INSERT = f"""
WITH wanted AS MATERIALIZED (
    SELECT * FROM unnest(${_WANTED}::text[], ${_WANTED + 1}::integer[]) AS wanted (project_id, day)
), locked AS MATERIALIZED (
    SELECT project_id, day FROM rollup_stale
    WHERE (project_id, day) IN (SELECT project_id, day FROM wanted)
    FOR KEY SHARE
), marked AS (
    INSERT INTO rollup_stale (project_id, day)
    SELECT project_id, day FROM wanted
    WHERE (project_id, day) NOT IN (SELECT project_id, day FROM locked)
    ON CONFLICT (project_id, day) DO NOTHING
    RETURNING project_id, day
), stored AS (
    INSERT INTO events ({", ".join(STORED_COLUMNS)})
    SELECT * FROM unnest({", ".join(f"${n}::{t}[]" for n, t in enumerate(_TYPES, 1))})
)
SELECT project_id, day FROM wanted
EXCEPT SELECT project_id, day FROM locked
EXCEPT SELECT project_id, day FROM marked
"""  # noqa: S608 (no input in it)
# Marks the days again after the insert committed: a refresh that claimed one meanwhile
# computed it without the new events, and will compute it again.
_MARK_AGAIN = """
INSERT INTO rollup_stale (project_id, day)
SELECT * FROM unnest($1::text[], $2::integer[])
ON CONFLICT (project_id, day) DO NOTHING
"""


class AsyncpgEventWriter:
    """Inserts event rows into ``events`` and marks their days stale, one statement per
    call, calls taking turns.

    The connection is checked out on first use and kept; after a failure, or when the
    server has closed it meanwhile, it is invalidated and a fresh one checked out (on the
    next call, or at once when it was found closed before use). ``aclose()`` returns it.
    """

    def __init__(self, engine: AsyncEngine, dictionary: Dictionary | None = None) -> None:
        self._engine = engine
        self._dictionary = dictionary or Dictionary()
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under self._connection
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        # (project id, day) marks not yet made: the next insert makes them.
        self._owed: set[tuple[str, int]] = set()

    async def insert(self, rows: Sequence[Values], stale: Sequence[tuple[str, int]] = ()) -> None:
        """Insert ``rows`` (:func:`.dictionary.event_values`: texts, which become ids, new
        ones added to the dictionary in the same transaction) and mark the ``stale``
        (project id, day) pairs, in one transaction."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A connection (and a lock) serve the loop that made them only.
            self._connection, self._lock, self._loop = None, asyncio.Lock(), loop
        assert self._lock is not None
        projects, days = zip(*stale, strict=True) if stale else ((), ())
        async with self._lock:
            connection = self._connection
            if connection is not None and self._driver.is_closed():
                # Closed by the server while idle (a restart, an idle timeout): nothing was
                # sent on it, so a fresh connection is safe, as pre-ping is on checkout.
                await self._discard(connection)
                connection = None
            connection = connection or await self._checkout()
            if self._owed:
                owed = sorted(self._owed.union(zip(projects, days, strict=True)))
                projects, days = (tuple(column) for column in zip(*owed, strict=True))
            learnt: tuple[dict[str, int], dict[int, Known]] | None = None
            try:
                stored = self._dictionary.encode(rows)
                if stored is not None:
                    unheld = await self._driver.fetch(_INSERT, *_columns(stored), projects, days)
                else:
                    # New texts: added, then the events, in one transaction (two instances
                    # adding the same text: one waits for the other's counter, then reads
                    # its id).
                    async with self._driver.transaction():
                        stored, numbers, ids = await resolve_postgres(
                            self._driver, rows, self._dictionary
                        )
                        learnt = numbers, ids
                        unheld = await self._driver.fetch(
                            _INSERT, *_columns(stored), projects, days
                        )
            except BaseException:
                await self._discard(connection)  # nothing committed; still owed
                raise
            if learnt is not None:
                self._dictionary.learn(*learnt)
            self._owed.clear()
            if unheld:
                try:
                    await self._driver.execute(
                        _MARK_AGAIN, [row[0] for row in unheld], [row[1] for row in unheld]
                    )
                except BaseException as error:
                    # The events are stored: the call succeeded. The marks are owed to the
                    # next call's statement.
                    self._owed.update((row[0], row[1]) for row in unheld)
                    await self._discard(connection)
                    if not isinstance(error, Exception):
                        raise

    async def _discard(self, connection: AsyncConnection) -> None:
        self._connection = self._driver = None
        await connection.invalidate()
        await connection.close()

    async def _checkout(self) -> AsyncConnection:
        connection = await self._engine.connect()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # a live connection has its asyncpg one
        self._connection, self._driver = connection, driver
        return connection

    async def aclose(self) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        if connection is not None:
            await connection.close()


def _columns(rows: Sequence[Values]) -> list[Sequence[Any]]:
    """One array per stored column."""
    return list(zip(*rows, strict=True)) if rows else [()] * len(STORED_COLUMNS)
