"""Raw-event retention on SQLite and PostgreSQL: deleting the events older than a cutoff
without holding up ingestion and without touching the rollups.

- **Never a stale day.** A project's events go only up to its first day still in
  ``rollup_stale`` (before the cutoff): that day's rollups are not computed yet, and the
  refresh would recompute them from what is left. The caller (domain/retention.py) runs
  the refresh first, so usually nothing waits. Nothing here marks a day stale: the rollups
  of the expired days keep their figures.
- **Short transactions.** Events go per project (the ``(project, ts)`` index bounds each
  batch) in batches of 2,000 rows, each committed by itself, then a pause: on SQLite the
  writer thread takes the write lock meanwhile; on PostgreSQL row deletes do not conflict
  with inserts, but back-to-back batches took the CPU and I/O its inserts need (the p99
  of ingestion went from about 10 to 75-125 ms with 10,000-row batches and no pause).
- **Whole months on PostgreSQL.** A monthly partition (partitions.py) wholly before every
  project's limit is dropped as a table: no dead rows, no index bloat. Dropping one locks
  the events table, so it waits at most ``LOCK_WAIT`` for that lock and otherwise leaves
  the month to the batched deletes (it is then dropped, empty, the next day).
- **Several instances.** On PostgreSQL a session advisory lock lets one expire at a time;
  another that finds it taken returns at once (its work is being done). On SQLite two
  processes' batches take turns on the write lock and each deletes rows the other has not:
  deletes are idempotent and the work is shared, not doubled.
- **Day segments** (segments.py) of the expired days go too: they describe sessions, and
  filtered reads of those days then find no session rather than a part of one.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import partitions, tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.segments import delete_segments
from privalytics.domain.rollups import DAY_MS

BATCH = 2_000
# Seconds between two batches: ingestion takes the write lock (SQLite), the CPU and the
# disk meanwhile.
PAUSE = 0.05
# pg_try_advisory_lock key: "privalytics expiry" (any constant of our own).
EXPIRY_LOCK = 0x7072_6976_6578_7069
_LOCK_NOT_AVAILABLE = "55P03"

_stale = tables.rollup_stale
_numbers = tables.project_numbers

_DELETE = {
    "sqlite": (
        "DELETE FROM events WHERE id IN ("
        " SELECT id FROM events WHERE project = :number AND ts < :before LIMIT :batch)"
    ),
    "postgresql": (
        "DELETE FROM events WHERE (id, ts) IN ("
        " SELECT id, ts FROM events WHERE project = :number AND ts < :before LIMIT :batch)"
    ),
}
_COUNT = "SELECT count(*) FROM events WHERE project = :number AND ts < :before"


async def _limits(engine: AsyncEngine, before_ms: int) -> list[tuple[str, int, int]]:
    """(project id, number, limit in ms) of every project that ever stored an event: its
    events before the limit may go (the cutoff, or its first stale day before it)."""
    first_stale = (
        select(_stale.c.project_id, func.min(_stale.c.day).label("day"))
        # A stale day that ``before_ms`` cuts counts too: none of its events may go.
        .where(_stale.c.day < -(-before_ms // DAY_MS))
        .group_by(_stale.c.project_id)
        .subquery()
    )
    query = (
        select(_numbers.c.project_id, _numbers.c.number, first_stale.c.day)
        .select_from(
            _numbers.outerjoin(first_stale, first_stale.c.project_id == _numbers.c.project_id)
        )
        .order_by(_numbers.c.number)
    )
    async with unavailable_on_failure("read projects"), engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        (project_id, number, before_ms if day is None else min(before_ms, day * DAY_MS))
        for project_id, number, day in rows
    ]


async def _drop_months(engine: AsyncEngine, before_ms: int) -> int:
    """Drop the monthly partitions wholly before ``before_ms``; returns the events they
    held. A month whose lock is not had within LOCK_WAIT is left to the row deletes."""
    async with unavailable_on_failure("list partitions"), engine.connect() as connection:
        months = await partitions.partitions(connection)
    dropped = 0
    for month, name in sorted(months.items()):
        if partitions.bounds(month)[1] > before_ms:
            continue
        async with unavailable_on_failure("drop partition"):
            try:
                async with engine.begin() as connection:
                    await connection.execute(
                        text(f"SET LOCAL lock_timeout = '{partitions.LOCK_WAIT}'")
                    )
                    # As partition maintenance (partitions.py) does: one at a time.
                    await connection.execute(
                        select(func.pg_advisory_xact_lock(partitions.PARTITION_LOCK))
                    )
                    held = await connection.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608
                    await connection.execute(text(f"DROP TABLE {name}"))
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                    raise
                continue
        dropped += int(held or 0)
    return dropped


async def _delete_rows(engine: AsyncEngine, number: int, before_ms: int) -> int:
    batch = BATCH
    statement = text(_DELETE[engine.dialect.name])
    deleted = 0
    while True:
        async with unavailable_on_failure("expire events"), engine.begin() as connection:
            result = await connection.execute(
                statement, {"number": number, "before": before_ms, "batch": batch}
            )
        deleted += result.rowcount
        if result.rowcount < batch:
            return deleted
        await asyncio.sleep(PAUSE)


async def _expire(engine: AsyncEngine, before_ms: int) -> int:
    limits = await _limits(engine, before_ms)
    deleted = 0
    if engine.dialect.name == "postgresql" and limits:
        deleted += await _drop_months(engine, min(limit for _, _, limit in limits))
    for project_id, number, limit in limits:
        deleted += await _delete_rows(engine, number, limit)
        async with unavailable_on_failure("expire segments"), engine.begin() as connection:
            # A day partly expired loses its segments too: it is read from its events.
            await delete_segments(connection, project_id, before_day=-(-limit // DAY_MS))
    return deleted


async def _count(engine: AsyncEngine, before_ms: int) -> int:
    """The events older than ``before_ms``, stale days or not: what a run after the
    refresh deletes."""
    counted = 0
    for _, number, _ in await _limits(engine, before_ms):
        async with unavailable_on_failure("count events"), engine.connect() as connection:
            found = await connection.scalar(text(_COUNT), {"number": number, "before": before_ms})
        counted += int(found or 0)
    return counted


async def _locked(connection: AsyncConnection) -> bool:
    got = await connection.scalar(select(func.pg_try_advisory_lock(EXPIRY_LOCK)))
    await connection.commit()
    return bool(got)


async def expire_events(engine: AsyncEngine, before_ms: int, *, dry_run: bool = False) -> int:
    """Delete the events older than ``before_ms`` that no stale day holds back; returns
    how many went (``dry_run``: how many are older than ``before_ms``, deleting nothing)."""
    if dry_run:
        return await _count(engine, before_ms)
    if engine.dialect.name != "postgresql":
        return await _expire(engine, before_ms)
    async with unavailable_on_failure("lock expiry"), engine.connect() as holder:
        if not await _locked(holder):
            # Another instance is expiring now: the same events, the same cutoff.
            return 0
        try:
            return await _expire(engine, before_ms)
        finally:
            await holder.execute(select(func.pg_advisory_unlock(EXPIRY_LOCK)))
            await holder.commit()
