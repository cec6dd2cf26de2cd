"""SqlAlchemyEventQueries: the dashboard's breakdowns of the events table.

Ties break by text in code-point order on both backends (PostgreSQL: ``COLLATE "C"``), as
in Python, so memory, SQLite and PostgreSQL rank alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.stores import event_from_row
from privalytics.adapters.sqlalchemy.tables import from_millis, to_micros, to_millis
from privalytics.domain.models import Action, Bucket, Event, Ranked, TimeRange

_events = tables.events


def _bound(moment: datetime) -> int:
    # Same bound as the EventStore's: stored timestamps are whole milliseconds.
    return -(-to_micros(moment) // 1000)


def _within(project_id: str, span: TimeRange) -> ColumnElement[bool]:
    return (
        (_events.c.project_id == project_id)
        & (_events.c.ts >= _bound(span.start))
        & (_events.c.ts < _bound(span.end))
    )


class SqlAlchemyEventQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def _order(self, column: ColumnElement[str]) -> ColumnElement[str]:
        return column.collate("C") if self._postgres else column

    async def _rank(
        self, column: ColumnElement[str], where: ColumnElement[bool], limit: int
    ) -> list[Ranked]:
        if limit <= 0:
            return []
        count = func.count().label("n")
        query = (
            select(column, count)
            .where(where & column.is_not(None) & (column != ""))
            .group_by(column)
            .order_by(count.desc(), self._order(column).asc())
            .limit(limit)
        )
        async with unavailable_on_failure("rank events"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [Ranked(name=name, count=n) for name, n in rows]

    async def top_referrers(self, project_id: str, span: TimeRange, limit: int) -> list[Ranked]:
        where = _within(project_id, span) & (_events.c.action == Action.VISIT.value)
        return await self._rank(_events.c.referrer, where, limit)

    async def top_targets(
        self, project_id: str, span: TimeRange, action: Action, limit: int
    ) -> list[Ranked]:
        where = _within(project_id, span) & (_events.c.action == action.value)
        return await self._rank(_events.c.target, where, limit)

    async def average_value(self, project_id: str, span: TimeRange, action: Action) -> float | None:
        query = select(func.avg(_events.c.value)).where(
            _within(project_id, span) & (_events.c.action == action.value)
        )
        async with unavailable_on_failure("average values"), self.engine.connect() as connection:
            value = (await connection.execute(query)).scalar_one()
        return None if value is None else float(value)

    async def series(
        self, project_id: str, span: TimeRange, origin: datetime, step: timedelta
    ) -> list[Bucket]:
        step_ms = step // timedelta(milliseconds=1)
        # Counted from the origin: never negative, so integer division floors alike.
        base = to_millis(origin)
        visits = (
            select(((_events.c.ts - base) // step_ms).label("n"), _events.c.visitor_hash)
            .where(_within(project_id, span) & (_events.c.action == Action.VISIT.value))
            .subquery()
        )
        query = (
            select(visits.c.n, func.count(), func.count(visits.c.visitor_hash.distinct()))
            .group_by(visits.c.n)
            .order_by(visits.c.n)
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
            .where(_within(project_id, span))
            .order_by(_events.c.ts.desc(), _events.c.id.desc())
            .limit(limit)
        )
        async with unavailable_on_failure("read events"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [event_from_row(row) for row in rows]
