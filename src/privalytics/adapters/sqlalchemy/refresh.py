"""Keeping the rollups up to date: a stale day is recomputed from its events, and what
changed (new figures minus the rows' old ones) is added to the day's rows and to the rows
of every block above it (:mod:`privalytics.domain.rollups`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Table, case, delete, distinct, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.planning import action_name, code, events_in, runs, text_of
from privalytics.adapters.sqlalchemy.ranking import ranked
from privalytics.adapters.sqlalchemy.segments import write_segments
from privalytics.adapters.sqlalchemy.sessionsql import session_totals
from privalytics.domain.models import Action
from privalytics.domain.reports import REFERRERS, TARGETS
from privalytics.domain.rollups import DAY_MS, MAX_LEVEL, Interval, day_of

_events = tables.events
_stale = tables.rollup_stale
_totals = tables.rollup_totals
_actions = tables.rollup_actions
_pages = tables.rollup_pages
_referrers = tables.rollup_referrers
_targets = tables.rollup_targets
_sessions = tables.rollup_sessions

# Days recomputed per transaction at first, for each project (see RollupWriter); then the
# batch doubles while its transactions take under half of the time aimed at, and halves
# while they take over twice as long, between 1 and MAX_REFRESH_BATCH days, and a batch
# never holds more than MAX_BATCH_EVENTS events (a day with more goes alone): a backfill
# of small days (after an import or an upgrade) goes many at a time, a big day alone,
# whatever came before it.
REFRESH_BATCH_SQLITE = 2
REFRESH_BATCH_POSTGRES = 8
REFRESH_SECONDS_SQLITE = 0.25
REFRESH_SECONDS_POSTGRES = 1.0
MAX_REFRESH_BATCH = 64
MAX_BATCH_EVENTS_SQLITE = 10_000
MAX_BATCH_EVENTS_POSTGRES = 50_000
# The PostgreSQL advisory lock that lets one instance at a time recompute rollups (two
# adding to the same block rows in different orders could deadlock). The number is
# arbitrary and fixed: "privalytics rollups".
ROLLUP_LOCK = 0x7072_6976_726F_6C6C


class RollupWriter:
    """Recomputes the rollups of stale days that are over, and of the blocks above them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        # Days per transaction: each holds SQLite's one write lock (ingestion waits) while
        # it reads its days' events; on PostgreSQL only the days' own marks are locked,
        # and more days share the cost of recomputing the blocks above them.
        self._batch = REFRESH_BATCH_POSTGRES if self._postgres else REFRESH_BATCH_SQLITE
        self._seconds = REFRESH_SECONDS_POSTGRES if self._postgres else REFRESH_SECONDS_SQLITE
        self._events = MAX_BATCH_EVENTS_POSTGRES if self._postgres else MAX_BATCH_EVENTS_SQLITE

    async def refresh(self, before: datetime) -> int:
        """Recompute the days that were stale and over at ``before`` when the call began,
        a few days of one project per transaction; returns how many were recomputed (by
        this call: a day another process recomputed first is skipped)."""
        today = day_of(tables.to_millis(before))
        query = (
            select(_stale.c.project_id, _stale.c.day)
            .where(_stale.c.day < today)
            .order_by(_stale.c.project_id, _stale.c.day)
        )
        async with unavailable_on_failure("read stale days"), self.engine.connect() as c:
            rows = (await c.execute(query)).all()
        # Taken once: a day that events keep making stale waits for the next call, so
        # one call ends, and every project's days get their turn in it.
        by_project: dict[str, list[int]] = {}
        for project_id, day in rows:
            by_project.setdefault(project_id, []).append(day)
        done = 0
        for project_id, days in by_project.items():
            counts = await self._day_events(project_id, days)
            batch = self._batch
            start = 0
            while start < len(days):
                chosen = _next_batch(days[start:], counts, batch, self._events)
                began = time.perf_counter()
                async with unavailable_on_failure("compute rollups"), self.engine.begin() as c:
                    claimed = await self._claim(c, project_id, chosen)
                    if claimed:
                        # The dimensions' rows come from the segments' sessions.
                        dimensions = await write_segments(c, project_id, claimed)
                        await _recompute(c, project_id, claimed, self._postgres, dimensions)
                        # The goals' rows of these days are computed again when next
                        # read (goalrollups.py).
                        await c.execute(
                            delete(tables.rollup_goals).where(
                                (tables.rollup_goals.c.project_id == project_id)
                                & tables.rollup_goals.c.day.in_(claimed)
                            )
                        )
                done += len(claimed)
                start += len(chosen)
                took = time.perf_counter() - began
                if took < self._seconds / 2:
                    batch = min(batch * 2, MAX_REFRESH_BATCH)
                elif took > self._seconds * 2:
                    batch = max(batch // 2, 1)
        return done

    async def _day_events(self, project_id: str, days: Sequence[int]) -> dict[int, int]:
        """The events of each of ``days`` (sorted) of the project (a day without is left
        out): one count over the index, before any transaction."""
        day = (_events.c.ts // DAY_MS).label("day")
        query = (
            select(day, func.count())
            .where(events_in(project_id, (days[0] * DAY_MS, (days[-1] + 1) * DAY_MS)))
            .group_by(day)
        )
        async with unavailable_on_failure("count events"), self.engine.connect() as c:
            return {int(d): int(n) for d, n in (await c.execute(query)).all()}

    async def _claim(
        self, connection: AsyncConnection, project_id: str, days: Sequence[int]
    ) -> list[int]:
        """Take ``days`` out of rollup_stale (the transaction recomputes them): the days
        that were still there."""
        if self._postgres:
            # One refresh transaction at a time across processes (see ROLLUP_LOCK);
            # SQLite's write lock does the same there.
            await connection.execute(select(func.pg_advisory_xact_lock(ROLLUP_LOCK)))
        statement = (
            delete(_stale)
            .where((_stale.c.project_id == project_id) & _stale.c.day.in_(days))
            .returning(_stale.c.day)
        )
        return sorted((await connection.execute(statement)).scalars().all())


def _next_batch(
    days: Sequence[int], counts: Mapping[int, int], most: int, events: int
) -> Sequence[int]:
    """The first of ``days`` to recompute in one transaction: at most ``most`` days and, but
    for the first day, at most ``events`` events in all."""
    held = counts.get(days[0], 0)
    taken = 1
    while taken < min(most, len(days)):
        held += counts.get(days[taken], 0)
        if held > events:
            break
        taken += 1
    return days[:taken]


# A day's figures for one table: (day, *key values) -> sums, in the table's column order.
Figures = dict[tuple[Any, ...], tuple[float, ...]]


async def _recompute(
    connection: AsyncConnection,
    project_id: str,
    days: Sequence[int],
    postgres: bool,
    dimensions: Mapping[tuple[int, int, int], tuple[int, ...]],
) -> None:
    """Bring the rows of ``days`` and of every block above them up to date with the days'
    events: compute the days' figures, subtract what the rows held for them, and add the
    difference to the day rows and to each block above (``ON CONFLICT`` adds it to a row
    that is there). A day an event was added to changes in a few rows per level, however
    many paths the blocks above it hold. ``dimensions``: the days' rows of
    ``rollup_dimensions``, computed by the caller (write_segments)."""
    intervals = [(first * DAY_MS, end * DAY_MS) for first, end in runs(days)]
    for table, query in _day_queries(project_id).items():
        keys, sums = _keys(table), _sums(table)
        new: Figures = {}
        if query is None:
            new.update(dimensions.items())
        else:
            for interval in intervals:
                for row in (await connection.execute(query(interval))).all():
                    new[tuple(row[: 1 + len(keys)])] = tuple(row[1 + len(keys) :])
        held = select(table.c.block, *[table.c[k] for k in keys], *[table.c[k] for k in sums])
        old: Figures = {
            tuple(row[: 1 + len(keys)]): tuple(row[1 + len(keys) :])
            for row in (
                await connection.execute(
                    held.where(
                        (table.c.project_id == project_id)
                        & (table.c.level == 0)
                        & table.c.block.in_(days)
                    )
                )
            ).all()
        }
        change = _difference(new, old, len(sums))
        if not change:
            continue
        # Every level's rows in one statement, its parameters given to the driver as
        # they are: a backfill adds millions of block rows, and SQLAlchemy's work per row
        # of a compiled statement's parameters was most of its time.
        by_level = _levels(change)
        written = [
            (project_id, level, *key, *values)
            for level, rows in by_level.items()
            for key, values in rows.items()
        ]
        if postgres:
            # One statement over arrays: an executemany runs the upsert once a row.
            await connection.exec_driver_sql(
                _bulk_upsert_of(connection, table),
                tuple(list(column) for column in zip(*written, strict=True)),
            )
        else:
            sql, pick = _upsert_of(connection, table)
            await connection.exec_driver_sql(sql, [pick(row) for row in written])
        # A row whose count fell to nothing (events deleted by hand) is no row: the
        # events alone would not show its key. Only a row whose count went down can
        # have (a backfill, adding to nothing, deletes nothing).
        for level, rows in by_level.items():
            fell = sorted({key[0] for key, values in rows.items() if values[0] < 0})
            if fell:
                await connection.execute(
                    delete(table).where(
                        (table.c.project_id == project_id)
                        & (table.c.level == level)
                        & table.c.block.in_(fell)
                        & (table.c[sums[0]] == 0)
                    )
                )


def _difference(new: Figures, old: Figures, width: int) -> Figures:
    """``new`` minus ``old``, key by key, keys whose figures did not change left out."""
    nothing = (0,) * width
    change: Figures = {}
    for key in new.keys() | old.keys():
        values = tuple(
            a - b for a, b in zip(new.get(key, nothing), old.get(key, nothing), strict=True)
        )
        if any(values):
            change[key] = values
    return change


def _levels(change: Figures) -> dict[int, Figures]:
    """The change of each block at every level: the days' at level 0, and each block's
    above, its two halves' added up."""
    levels = {0: change}
    for level in range(1, MAX_LEVEL + 1):
        blocks: Figures = {}
        for (block, *rest), values in levels[level - 1].items():
            key = (block >> 1, *rest)
            held = blocks.get(key)
            blocks[key] = (
                values if held is None else tuple(a + b for a, b in zip(held, values, strict=True))
            )
        levels[level] = blocks
    return levels


# Per dialect and table, the upsert that adds a row's figures to the row there, and
# where each parameter is in (project_id, level, block, *keys, *sums).
_UPSERTS: dict[tuple[str, str], tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]]] = {}


def _upsert_of(
    connection: AsyncConnection, table: Table
) -> tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]]:
    """SQLite: the driver's SQL of the upsert of ``table``'s rows, and what makes its parameters
    of a row given as (project_id, level, block, *keys, *sums)."""
    dialect = connection.dialect
    cached = _UPSERTS.get((dialect.name, table.name))
    if cached is not None:
        return cached
    sums = _sums(table)
    names = ["project_id", "level", "block", *_keys(table), *sums]
    insert = sqlite_insert(table)
    upsert = insert.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: table.c[name] + insert.excluded[name] for name in sums},
    )
    compiled = upsert.compile(dialect=dialect, column_keys=names)
    positions = compiled.positiontup
    if positions is None or sorted(positions) != sorted(names):
        raise RuntimeError(f"the upsert of {table.name} takes unexpected parameters")
    order = [names.index(name) for name in positions]
    made = (str(compiled), itemgetter(*order))
    _UPSERTS[dialect.name, table.name] = made
    return made


_BULK: dict[str, str] = {}


def _bulk_upsert_of(connection: AsyncConnection, table: Table) -> str:
    """PostgreSQL: the upsert of ``table``'s rows given as one array a column, in the order
    (project_id, level, block, *keys, *sums); it adds a row's sums to the row there."""
    cached = _BULK.get(table.name)
    if cached is not None:
        return cached
    sums = _sums(table)
    names = ["project_id", "level", "block", *_keys(table), *sums]
    arrays = ", ".join(
        f"${n}::{table.c[name].type.compile(dialect=connection.dialect)}[]"
        for n, name in enumerate(names, start=1)
    )
    keys = ", ".join(c.name for c in table.primary_key.columns)
    added = ", ".join(f"{name} = {table.name}.{name} + excluded.{name}" for name in sums)
    made = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"  # noqa: S608
        f" ON CONFLICT ({keys}) DO UPDATE SET {added}"
    )
    _BULK[table.name] = made
    return made


def _keys(table: Table) -> list[str]:
    """The key columns of a rollup table after project, level and block."""
    return [
        column.name
        for column in table.primary_key.columns
        if column.name not in ("project_id", "level", "block")
    ]


def _sums(table: Table) -> list[str]:
    """The summed columns of a rollup table; the first one is 0 only for an empty row."""
    return [column.name for column in table.columns if not column.primary_key]


def _day_queries(project_id: str) -> dict[Table, Callable[[Interval], Any] | None]:
    """Per rollup table, the query of the figures of the whole days of an interval from its
    events: (day, *key columns, *summed columns), as in the table. Grouped by the stored
    integers; texts looked up once per group."""
    e = _events.c
    day = (e.ts // DAY_MS).label("day")
    visit = e.action == code(Action.VISIT)
    visit_hash = func.count(distinct(case((visit, e.visitor), else_=None)))

    def where(interval: Interval) -> ColumnElement[bool]:
        return events_in(project_id, interval)

    def text(column: Any) -> Any:
        return text_of(column, project_id)

    return {
        _totals: lambda interval: (
            select(day, func.count(distinct(e.visitor)), visit_hash)
            .where(where(interval))
            .group_by(day)
        ),
        _actions: lambda interval: (
            select(
                day,
                action_name(e.action),
                func.count(),
                func.coalesce(func.sum(e.value), 0.0),
                func.count(e.value),
            )
            .where(where(interval))
            .group_by(day, e.action)
        ),
        _pages: lambda interval: (
            select(day, text(e.path), func.count(), func.count(distinct(e.visitor)))
            .where(where(interval) & visit)
            .group_by(day, e.path)
        ),
        _referrers: lambda interval: (
            select(day, text(e.referrer), func.count())
            .where(where(interval) & ranked(REFERRERS, project_id))
            .group_by(day, e.referrer)
        ),
        _targets: lambda interval: (
            select(day, action_name(e.action), text(e.target), func.count())
            .where(where(interval) & ranked(TARGETS, project_id))
            .group_by(day, e.action, e.target)
        ),
        _sessions: lambda interval: session_totals(where(interval), by_day=True),
        # Computed from the days' sessions (write_segments).
        tables.rollup_dimensions: None,
    }
