"""SqlAlchemyEventQueries: the dashboard's breakdowns of the events table.

Ties break by text in code-point order on both backends (PostgreSQL: ``COLLATE "C"``), as
in Python, so memory, SQLite and PostgreSQL rank alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.events import event_from_row
from privalytics.adapters.sqlalchemy.planning import events_in, interval_of
from privalytics.adapters.sqlalchemy.rollups import RollupReader
from privalytics.adapters.sqlalchemy.tables import from_millis, to_millis
from privalytics.domain.models import Action, Bucket, Event, Ranked, TimeRange
from privalytics.domain.rollups import DAY_MS

_events = tables.events


class SqlAlchemyEventQueries:
    """``rollups``: the engine's one reader of the rollups (``open_stores`` builds it and
    gives the same one to the event store), from which ranges of whole days are read where
    they are up to date."""

    def __init__(self, engine: AsyncEngine, rollups: RollupReader) -> None:
        self.engine = engine
        self.rollups = rollups

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
                _events.c.visitor_hash,
                _events.c.action,
            )
            .where(events_in(project_id, interval_of(span)))
            .subquery()
        )
        query = (
            select(
                steps.c.n,
                func.count(case((steps.c.action == Action.VISIT.value, 1))),
                func.count(steps.c.visitor_hash.distinct()),
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

    async def latest(self, project_id: str, span: TimeRange, limit: int) -> list[Event]:
        if limit <= 0:
            return []
        query = (
            select(_events)
            .where(events_in(project_id, interval_of(span)))
            .order_by(_events.c.ts.desc(), _events.c.id.desc())
            .limit(limit)
        )
        async with unavailable_on_failure("read events"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [event_from_row(row) for row in rows]
