"""SqlAlchemyEventStore: events in one table, their insert path, and their counts,
rankings and series (the API's stats and the dashboard's breakdowns).

Ties break by text in code-point order on both backends (PostgreSQL: ``COLLATE "C"``), as
in Python, so memory, SQLite and PostgreSQL rank alike.

Every call runs inside ``unavailable_on_failure``, so a database that cannot be reached
(or refuses to write) raises StorageUnavailable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, case, delete, distinct, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.observer import CommitObserver
from privalytics.adapters.sqlalchemy import funnelsql, partitions, tables
from privalytics.adapters.sqlalchemy.dictionary import (
    STORED_COLUMNS,
    Dictionary,
    Known,
    Values,
    event_values,
    resolve_sqlite,
    visitor_text,
)
from privalytics.adapters.sqlalchemy.dimrollups import DimensionReader
from privalytics.adapters.sqlalchemy.engine import (
    names_a_plain_file,
    ping,
    storage_failure,
    unavailable_on_failure,
)
from privalytics.adapters.sqlalchemy.expiry import expire_events
from privalytics.adapters.sqlalchemy.filtered import SegmentReader
from privalytics.adapters.sqlalchemy.goalrollups import GoalReader
from privalytics.adapters.sqlalchemy.pgwriter import AsyncpgEventWriter
from privalytics.adapters.sqlalchemy.planning import (
    code,
    events_in,
    interval_of,
    number_of,
    stale_marks,
)
from privalytics.adapters.sqlalchemy.refresh import RollupWriter
from privalytics.adapters.sqlalchemy.rollups import RollupReader
from privalytics.adapters.sqlalchemy.segments import delete_segments
from privalytics.adapters.sqlalchemy.sqlitewriter import (
    HAS_STALE_TRIGGER,
    OLD_SCHEMA,
    SqliteEventWriter,
)
from privalytics.adapters.sqlalchemy.stored import read_events, read_page
from privalytics.adapters.sqlalchemy.tables import DIMENSION_CODES, from_millis, to_millis
from privalytics.domain import activity, funnels, insight
from privalytics.domain.dimensions import Dimension, Scope
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.filters import Filter
from privalytics.domain.funnels import Step
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import Action, Bucket, Event, PageStats, Ranked, TimeRange
from privalytics.domain.rollups import DAY_MS

_events = tables.events
_numbers = tables.project_numbers
_texts = tables.texts


def _insert_plain(sync: Connection, values: Sequence[Values], dictionary: Dictionary) -> Any:
    """The insert without a writer (a SQLite database a second connection cannot open),
    in the caller's transaction: what it resolved, to learn once committed."""

    def execute(sql: str, parameters: Sequence[object]) -> list[Any]:
        result = sync.exec_driver_sql(sql, tuple(parameters))
        return list(result.fetchall()) if result.returns_rows else []

    stored, numbers, ids = resolve_sqlite(execute, values, dictionary)
    sync.execute(_events.insert(), [dict(zip(STORED_COLUMNS, row, strict=True)) for row in stored])
    return numbers, ids


_T = TypeVar("_T")


def _custom(dimension: Dimension | None, filters: Sequence[Filter]) -> bool:
    """Whether a read involves custom events' names or properties, or goals, which the
    day segments do not hold and the dimension rollups hold only for an unfiltered
    breakdown by name (``event``): those reads take the range's events and the reference
    computation (a property's values are not rolled up; a goal's conversions depend on the
    project's goals, which may change at any time, so nothing about them can be stored
    ahead)."""
    scoped = [f.scope for f in filters]
    if dimension is not None:
        scoped.append(dimension.scope)
    return Scope.CUSTOM in scoped or Scope.GOAL in scoped


def _rolled_up(dimension: Dimension) -> bool:
    """Whether ``rollup_dimensions`` holds the dimension (its unfiltered breakdowns)."""
    return dimension.name in DIMENSION_CODES


async def _off_loop(compute: Callable[..., _T], *args: object) -> _T:
    """``compute(*args)`` in a worker thread."""
    return await asyncio.to_thread(compute, *args)


class SqlAlchemyEventStore:
    """Events in one table; timestamps stored at millisecond precision (truncated).

    ``rollups``: the engine's one reader of the rollups (``open_stores`` builds it), from
    which counts, rankings and series over whole days come where they are up to date.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        rollups: RollupReader,
        *,
        busy_timeout: float | None = None,
        background: AsyncEngine | None = None,
    ) -> None:
        self.engine = engine
        self.rollups = rollups
        # ``background``: the engine of the refresh and the goals' warming (open_stores:
        # PostgreSQL's, with a longer statement bound); default ``engine``. Disposed by
        # aclose().
        self._background = background
        self._refresher = RollupWriter(background or engine)
        self._partitions = partitions.Maintenance(engine)
        # Unfiltered breakdowns from rollup_dimensions (exact under daily salts); filtered
        # ones over closed days' segments and the rest's events (filtered.py).
        self._dimensions = DimensionReader(engine, rollups.window)
        # Unfiltered breakdowns by goal from rollup_goals (exact under daily salts too).
        self._goals = GoalReader(engine)
        self._warmer = GoalReader(background or engine)
        self._segments = SegmentReader(engine, rollups.window)
        # The hot insert bypasses SQLAlchemy's statement layer (sqlitewriter.py,
        # pgwriter.py); a SQLite database that a second connection cannot open (":memory:",
        # a "file:" URI) keeps the plain SQLAlchemy insert.
        self._writer: SqliteEventWriter | AsyncpgEventWriter | None = None
        self._trigger_seen = False
        # Texts to ids (dictionary.py), shared with the writer.
        self._dictionary = Dictionary()
        if engine.dialect.name == "postgresql":
            self._writer = AsyncpgEventWriter(engine, self._dictionary)
        elif names_a_plain_file(engine.url):
            path = os.path.abspath(engine.url.database or "")
            writer = SqliteEventWriter(path, dictionary=self._dictionary, busy_timeout=busy_timeout)
            # Closes with the engine too, so that disposing the engine releases everything.
            sa_event.listen(engine.sync_engine, "engine_disposed", lambda _engine: writer.close())
            self._writer = writer

    def observe(self, observer: CommitObserver) -> None:
        """Tell ``observer`` what the SQLite writer thread does (PostgreSQL's inserts go
        through the group commit in front, which tells it)."""
        if isinstance(self._writer, SqliteEventWriter):
            self._writer.observe(observer)

    def learn(self, numbers: dict[str, int], ids: dict[int, Known]) -> None:
        """Add to the insert path's dictionary what another transaction on this engine
        resolved and committed (an import: adapters/sqlalchemy/imports.py)."""
        self._dictionary.learn(numbers, ids)

    @property
    def commits_together(self) -> bool:
        """Whether concurrent ``add()`` calls already share transactions here (the SQLite
        writer thread groups them), so that a group commit in front would only queue them
        one transaction at a time."""
        return isinstance(self._writer, SqliteEventWriter)

    async def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        values = [event_values(event) for event in events]
        # What unavailable_on_failure does, without a context manager on the hot path.
        try:
            if isinstance(self._writer, AsyncpgEventWriter):
                # The days these events fall on: their rollups are stale until recomputed,
                # which the same statement records.
                await self._writer.insert(values, stale_marks(values))
            elif self._writer is not None:
                # SQLite: a trigger marks the days stale in the same statement (migration
                # 0004).
                await self._writer.insert(values)
            else:
                async with self.engine.begin() as connection:
                    if not self._trigger_seen:  # as the writer checks (sqlitewriter.py)
                        if (await connection.execute(text(HAS_STALE_TRIGGER))).first() is None:
                            raise StorageUnavailable(OLD_SCHEMA)
                        self._trigger_seen = True
                    learnt = await connection.run_sync(_insert_plain, values, self._dictionary)
                self._dictionary.learn(*learnt)
        except Exception as error:
            failure = storage_failure(error, "store events")
            if failure is error:
                raise
            raise failure from None

    async def aclose(self) -> None:
        """Release the insert path's own connection (before the engine is disposed)."""
        if self._writer is not None:
            await self._writer.aclose()
        if self._background is not None:
            await self._background.dispose()

    async def count_by_action(self, project_id: str, span: TimeRange) -> dict[Action, int]:
        return await self.rollups.count_by_action(project_id, interval_of(span))

    async def unique_visitors(self, project_id: str, span: TimeRange) -> int:
        return await self.rollups.unique_visitors(project_id, interval_of(span))

    async def top_pages(self, project_id: str, span: TimeRange, limit: int) -> list[PageStats]:
        if limit <= 0:
            return []
        return await self.rollups.top_pages(project_id, interval_of(span), limit)

    async def refresh(self, before: datetime) -> int:
        if self.engine.dialect.name == "postgresql":
            await self._partitions.ensure(to_millis(before))
        done = await self._refresher.refresh(before)
        # The goals' day rows of past days, ahead of the reads that need them.
        await self._warmer.warm(before)
        return done

    async def expire(self, before: datetime, *, dry_run: bool = False) -> int:
        # Batched, never a stale day, no day marked stale; PostgreSQL drops whole months
        # (expiry.py).
        return await expire_events(self.engine, to_millis(before), dry_run=dry_run)

    async def top_referrers(self, project_id: str, span: TimeRange, limit: int) -> list[Ranked]:
        if limit <= 0:
            return []
        return await self.rollups.top_referrers(project_id, interval_of(span), limit)

    async def top_targets(
        self, project_id: str, span: TimeRange, action: Action, limit: int
    ) -> list[Ranked]:
        if limit <= 0:
            return []
        return await self.rollups.top_targets(project_id, interval_of(span), action, limit)

    async def average_value(self, project_id: str, span: TimeRange, action: Action) -> float | None:
        return await self.rollups.average_value(project_id, interval_of(span), action)

    async def series(
        self, project_id: str, span: TimeRange, origin: datetime, step: timedelta
    ) -> list[Bucket]:
        step_ms = step // timedelta(milliseconds=1)
        if step_ms == DAY_MS and to_millis(origin) % DAY_MS == 0:
            # Day by day from UTC midnight: whole days from the rollups.
            return await self.rollups.daily_series(project_id, interval_of(span))
        # Counted from the origin: never negative, so integer division floors alike.
        base = to_millis(origin)
        # Visits, and the distinct visitors of every event (the definition of a unique
        # visitor everywhere: docs/privacy.md).
        steps = (
            select(
                ((_events.c.ts - base) // step_ms).label("n"),
                _events.c.visitor,
                _events.c.action,
            )
            .where(events_in(project_id, interval_of(span)))
            .subquery()
        )
        query = (
            select(
                steps.c.n,
                func.count(case((steps.c.action == code(Action.VISIT), 1))),
                func.count(steps.c.visitor.distinct()),
            )
            .group_by(steps.c.n)
            .order_by(steps.c.n)
        )
        async with unavailable_on_failure("count visits"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            Bucket(start=from_millis(base + n * step_ms), visits=c, unique_visitors=u)
            for n, c, u in rows
        ]

    # The insight figures: unfiltered figures from the rollups where they are up to date;
    # the rest, for now, straight from the range's events (the reference computation), in
    # a worker thread: a long range's computation must not hold up the requests that
    # store events meanwhile.

    async def _events_in(self, project_id: str, span: TimeRange) -> list[Event]:
        where = events_in(project_id, interval_of(span))
        async with unavailable_on_failure("read events"), self.engine.connect() as connection:
            return await read_events(connection, where)

    async def figures(self, project_id: str, span: TimeRange, filters: Sequence[Filter]) -> Figures:
        if not filters:
            # Whole up-to-date days from the rollups (rollups.py), the rest from the events.
            return await self.rollups.figures(project_id, interval_of(span))
        if _custom(None, filters):
            events = await self._events_in(project_id, span)
            return await _off_loop(insight.figures, events, filters, self.rollups.window)
        return await self._segments.figures(project_id, span, filters)

    async def breakdown(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
        limit: int | None,
    ) -> list[Row]:
        if not filters and self._dimensions.exact and _rolled_up(dimension):
            return await self._dimensions.breakdown(project_id, interval_of(span), dimension, limit)
        if not filters and self._dimensions.exact and dimension.scope is Scope.GOAL:
            return await self._goals.breakdown(
                project_id, interval_of(span), dimension.goals, limit
            )
        if _custom(dimension, filters):
            events = await self._events_in(project_id, span)
            rows = await _off_loop(
                insight.breakdown, events, dimension, filters, self.rollups.window
            )
        else:
            rows = await self._segments.breakdown(project_id, span, dimension, filters)
        return rows[:limit]

    async def cell_sizes(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
    ) -> dict[str | None, int]:
        if not filters and self._dimensions.exact and _rolled_up(dimension):
            return await self._dimensions.cell_sizes(project_id, interval_of(span), dimension)
        if not filters and self._dimensions.exact and dimension.scope is Scope.GOAL:
            return await self._goals.cell_sizes(project_id, interval_of(span), dimension.goals)
        if _custom(dimension, filters):
            events = await self._events_in(project_id, span)
            return await _off_loop(
                insight.cell_sizes, events, dimension, filters, self.rollups.window
            )
        return await self._segments.cell_sizes(project_id, span, dimension, filters)

    async def selected_events(
        self, project_id: str, span: TimeRange, filters: Sequence[Filter]
    ) -> list[Event]:
        events = await self._events_in(project_id, span)
        return await _off_loop(activity.selected_events, events, filters, self.rollups.window)

    async def funnel_counts(
        self,
        project_id: str,
        span: TimeRange,
        steps: Sequence[Step],
        filters: Sequence[Filter],
    ) -> list[int]:
        window = self.rollups.window
        if filters:
            events = await self.selected_events(project_id, span, filters)
            return await _off_loop(funnels.funnel_counts, events, steps, window)
        async with unavailable_on_failure("count a funnel"), self.engine.connect() as connection:
            return await funnelsql.funnel_counts(
                connection, project_id, interval_of(span), steps, window
            )

    async def visitor_days(self, project_id: str, span: TimeRange) -> dict[date, set[str]]:
        e = _events.c
        day = e.ts // DAY_MS
        query = select(day, e.visitor).where(events_in(project_id, interval_of(span))).distinct()
        seen: dict[int, set[str]] = {}
        async with unavailable_on_failure("read visitor days"), self.engine.connect() as c:
            for number, visitor in (await c.execute(query)).all():
                found = seen.get(int(number))
                if found is None:
                    found = seen[int(number)] = set()
                found.add(visitor_text(int(visitor)))
        epoch = date(1970, 1, 1)
        return {epoch + timedelta(days=number): found for number, found in seen.items()}

    async def latest(self, project_id: str, span: TimeRange, limit: int) -> list[Event]:
        if limit <= 0:
            return []
        where = events_in(project_id, interval_of(span))
        async with unavailable_on_failure("read events"), self.engine.connect() as connection:
            return await read_events(connection, where, newest_first=True, limit=limit)

    async def stream(
        self, project_id: str, span: TimeRange, chunk: int
    ) -> AsyncIterator[list[Event]]:
        where = events_in(project_id, interval_of(span))
        after: tuple[int, int] | None = None
        while True:
            # A connection per page: a slow reader holds no transaction open.
            async with unavailable_on_failure("read events"), self.engine.connect() as connection:
                page, after = await read_page(connection, where, after, chunk)
            if page:
                yield page
            if after is None:
                return

    async def erase(self, project_id: str, span: TimeRange) -> int:
        where = events_in(project_id, interval_of(span))
        day = _events.c.ts // DAY_MS
        async with unavailable_on_failure("erase events"), self.engine.begin() as connection:
            days = (await connection.execute(select(distinct(day)).where(where))).all()
            deleted = (await connection.execute(delete(_events).where(where))).rowcount
            if days:
                marks = [{"project_id": project_id, "day": int(row[0])} for row in days]
                insert = (
                    postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
                )
                await connection.execute(
                    insert(tables.rollup_stale).values(marks).on_conflict_do_nothing()
                )
        return int(deleted)

    async def delete_project_events(self, project_id: str) -> int:
        # The project keeps its number (events another process stores for it later are
        # found by it and swept) and its counter (ids are never handed out twice).
        number = number_of(project_id)
        async with unavailable_on_failure("delete events"), self.engine.begin() as connection:
            deleted = (
                await connection.execute(delete(_events).where(_events.c.project == number))
            ).rowcount
            await connection.execute(delete(_texts).where(_texts.c.project == number))
            for table in (tables.rollup_stale, *tables.ROLLUPS, tables.rollup_goals):
                await connection.execute(delete(table).where(table.c.project_id == project_id))
            await delete_segments(connection, project_id)
        self._dictionary.forget(project_id)
        return deleted

    async def project_ids(self) -> list[str]:
        # A loose index scan: one index seek per project number, not a read of every event
        # (both engines find MIN(project) > x in ix_events_project_ts).
        query = text(
            "WITH RECURSIVE numbers(number) AS ("
            " SELECT MIN(project) FROM events"
            " UNION ALL"
            " SELECT (SELECT MIN(e.project) FROM events e WHERE e.project > numbers.number)"
            " FROM numbers WHERE numbers.number IS NOT NULL"
            ") SELECT p.project_id FROM numbers JOIN project_numbers p ON p.number = numbers.number"
        )
        async with unavailable_on_failure("list projects"), self.engine.connect() as connection:
            return sorted((await connection.execute(query)).scalars())

    async def ping(self) -> None:
        await ping(self.engine)
