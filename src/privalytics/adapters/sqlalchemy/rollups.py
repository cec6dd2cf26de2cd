"""The rollups on SQL: answering a range from them and from the events together
(:mod:`privalytics.domain.rollups` decides which part is which); :mod:`.refresh` keeps
them up to date.

Every answer is one statement over ``UNION ALL`` of the events' part (grouped as the
rollup rows are) and the rollup rows' part, summed and ranked by the database, so the
result equals the same query over the events alone, row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    distinct,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.tables import from_millis
from privalytics.domain.models import Action, Bucket, PageStats, Ranked
from privalytics.domain.rollups import (
    DAY_MS,
    MAX_LEVEL,
    Block,
    Interval,
    Plan,
    day_of,
    plan,
)

_events = tables.events
_stale = tables.rollup_stale
_totals = tables.rollup_totals
_actions = tables.rollup_actions
_pages = tables.rollup_pages
_referrers = tables.rollup_referrers
_targets = tables.rollup_targets

# Past this many pieces (raw intervals and blocks: many stale days apart from each other,
# over a long range) a range is read from the events alone: SQLite allows at most 500
# SELECTs in one compound statement.
MAX_PARTS = 100


def stale_marks(values: Iterable[tuple[Any, ...]]) -> list[tuple[str, int]]:
    """The (project id, day) pairs that event rows (project id first, ts fourth) make
    stale."""
    return sorted({(row[0], day_of(row[3])) for row in values})


# A part of a union: a select of any columns.
_Part = Select[*tuple[Any, ...]]


def events_in(project_id: str, interval: Interval) -> ColumnElement[bool]:
    """The events of one interval: one range of the (project_id, ts) index."""
    return (
        (_events.c.project_id == project_id)
        & (_events.c.ts >= interval[0])
        & (_events.c.ts < interval[1])
    )


def _in_block(table: Table, project_id: str, block: Block) -> ColumnElement[bool]:
    """The rows of one block: one range of the table's primary key."""
    level, number = block
    return (table.c.project_id == project_id) & (table.c.level == level) & (table.c.block == number)


Where = Callable[[ColumnElement[bool]], _Part]


def _parts(project_id: str, found: Plan, raw: Where, table: Table, rolled: Where) -> list[_Part]:
    """One select per raw interval and one per block: each reads one index range (an OR of
    ranges would make SQLite read every row of the project)."""
    return [
        *(raw(events_in(project_id, interval)) for interval in found.raw),
        *(rolled(_in_block(table, project_id, block)) for block in found.blocks),
    ]


def runs(days: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted days as runs of consecutive days: (first, day after the last)."""
    found: list[tuple[int, int]] = []
    for day in days:
        if found and found[-1][1] == day:
            found[-1] = (found[-1][0], day + 1)
        else:
            found.append((day, day + 1))
    return found


def _combine(parts: Sequence[_Part]) -> Any:
    """The union of the parts, as a subquery."""
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()


class RollupReader:
    """Answers the dashboard's queries from rollups and events.

    ``window``: the salt window, over which distinct visitors are counted and summed;
    per-day distinct counts only add up when it is one day, otherwise distinct visitors
    are read from the events.
    """

    def __init__(self, engine: AsyncEngine, window: timedelta) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._window_ms = window // timedelta(milliseconds=1)

    def _order(self, column: Any) -> Any:
        # Code-point order on both backends, as in Python (see queries.py).
        return column.collate("C") if self._postgres else column

    async def _plan(
        self,
        connection: AsyncConnection,
        project_id: str,
        span: Interval,
        *,
        distinct: bool = False,
        max_level: int = MAX_LEVEL,
    ) -> Plan:
        start, end = span
        if distinct and self._window_ms != DAY_MS:
            return Plan(raw=((start, end),) if start < end else (), blocks=())
        first, last = -(-start // DAY_MS), end // DAY_MS
        if first >= last:
            return plan(start, end)
        query = select(_stale.c.day).where(
            (_stale.c.project_id == project_id) & (_stale.c.day >= first) & (_stale.c.day < last)
        )
        stale = (await connection.execute(query)).scalars().all()
        found = plan(start, end, stale, max_level=max_level)
        # Day blocks are read as runs of consecutive days (daily_series).
        blocks = len(runs([b for _, b in found.blocks])) if max_level == 0 else len(found.blocks)
        if len(found.raw) + blocks > MAX_PARTS:
            return Plan(raw=((start, end),), blocks=())
        return found

    async def count_by_action(self, project_id: str, span: Interval) -> dict[Action, int]:
        async with unavailable_on_failure("count events"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            parts = _parts(
                project_id,
                found,
                lambda where: (
                    select(_events.c.action, func.count().label("n"))
                    .where(where)
                    .group_by(_events.c.action)
                ),
                _actions,
                lambda where: select(_actions.c.action, _actions.c.events.label("n")).where(where),
            )
            if not parts:
                return {}
            both = _combine(parts)
            query = select(both.c.action, func.sum(both.c.n)).group_by(both.c.action)
            rows = (await connection.execute(query)).all()
        return {Action(action): int(n) for action, n in rows if n}

    async def unique_visitors(self, project_id: str, span: Interval) -> int:
        async with unavailable_on_failure("count visitors"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, distinct=True)
            parts = _parts(
                project_id,
                found,
                lambda where: (
                    select(func.count(distinct(_events.c.visitor_hash)).label("n"))
                    .where(where)
                    .group_by(_events.c.ts // self._window_ms)
                ),
                _totals,
                lambda where: select(_totals.c.visitors.label("n")).where(where),
            )
            if not parts:
                return 0
            both = _combine(parts)
            total = (await connection.execute(select(func.sum(both.c.n)))).scalar_one()
        return int(total or 0)

    async def top_pages(self, project_id: str, span: Interval, limit: int) -> list[PageStats]:
        visit = _events.c.action == Action.VISIT.value
        async with unavailable_on_failure("rank pages"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, distinct=True)
            parts = _parts(
                project_id,
                found,
                lambda where: (
                    select(
                        _events.c.path,
                        func.count().label("visits"),
                        func.count(distinct(_events.c.visitor_hash)).label("visitors"),
                    )
                    .where(where & visit)
                    .group_by(_events.c.path, _events.c.ts // self._window_ms)
                ),
                _pages,
                lambda where: select(_pages.c.path, _pages.c.visits, _pages.c.visitors).where(
                    where
                ),
            )
            if not parts:
                return []
            both = _combine(parts)
            visits = func.sum(both.c.visits).label("total")
            query = (
                select(both.c.path, visits, func.sum(both.c.visitors))
                .group_by(both.c.path)
                .order_by(visits.desc(), self._order(both.c.path).asc())
                .limit(limit)
            )
            rows = (await connection.execute(query)).all()
        return [PageStats(path=path, visits=int(n), unique_visitors=int(u)) for path, n, u in rows]

    async def _rank(
        self,
        project_id: str,
        span: Interval,
        limit: int,
        raw: tuple[ColumnElement[str], ColumnElement[bool]],
        rolled: tuple[Table, ColumnElement[str], ColumnElement[int], ColumnElement[bool]],
    ) -> list[Ranked]:
        column, where = raw
        table, name, count, rolled_where = rolled
        async with unavailable_on_failure("rank events"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            parts = _parts(
                project_id,
                found,
                lambda within: (
                    select(column.label("name"), func.count().label("n"))
                    .where(within & where & column.is_not(None) & (column != ""))
                    .group_by(column)
                ),
                table,
                lambda within: select(name.label("name"), count.label("n")).where(
                    within & rolled_where
                ),
            )
            if not parts:
                return []
            both = _combine(parts)
            total = func.sum(both.c.n).label("total")
            query = (
                select(both.c.name, total)
                .group_by(both.c.name)
                .order_by(total.desc(), self._order(both.c.name).asc())
                .limit(limit)
            )
            rows = (await connection.execute(query)).all()
        return [Ranked(name=name, count=int(n)) for name, n in rows]

    async def top_referrers(self, project_id: str, span: Interval, limit: int) -> list[Ranked]:
        return await self._rank(
            project_id,
            span,
            limit,
            (_events.c.referrer, _events.c.action == Action.VISIT.value),
            (_referrers, _referrers.c.referrer, _referrers.c.visits, literal(True)),
        )

    async def top_targets(
        self, project_id: str, span: Interval, action: Action, limit: int
    ) -> list[Ranked]:
        return await self._rank(
            project_id,
            span,
            limit,
            (_events.c.target, _events.c.action == action.value),
            (_targets, _targets.c.target, _targets.c.events, _targets.c.action == action.value),
        )

    async def average_value(self, project_id: str, span: Interval, action: Action) -> float | None:
        async with unavailable_on_failure("average values"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            parts = _parts(
                project_id,
                found,
                lambda where: select(
                    func.sum(_events.c.value).label("total"),
                    func.count(_events.c.value).label("n"),
                ).where(where & (_events.c.action == action.value)),
                _actions,
                lambda where: select(
                    _actions.c.value_sum.label("total"), _actions.c.value_count.label("n")
                ).where(where & (_actions.c.action == action.value)),
            )
            if not parts:
                return None
            both = _combine(parts)
            total, count = (
                await connection.execute(select(func.sum(both.c.total), func.sum(both.c.n)))
            ).one()
        # Divided here, not by AVG: the same division whichever part the sums came from.
        return float(total) / int(count) if count else None

    async def daily_series(self, project_id: str, span: Interval) -> list[Bucket]:
        """Visits and distinct visitors of visits per UTC day of ``span``, for days with a
        visit, in order (the first and last days may be partial)."""
        async with unavailable_on_failure("count visits"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, max_level=0)
            by_day: dict[int, tuple[int, int]] = {}
            day = (_events.c.ts // DAY_MS).label("day")
            visit = _events.c.action == Action.VISIT.value
            for interval in found.raw:
                query = (
                    select(day, func.count(), func.count(distinct(_events.c.visitor_hash)))
                    .where(events_in(project_id, interval) & visit)
                    .group_by(day)
                )
                for number, visits, visitors in (await connection.execute(query)).all():
                    by_day[int(number)] = (int(visits), int(visitors))
            joined = _actions.join(
                _totals,
                (_totals.c.project_id == _actions.c.project_id)
                & (_totals.c.level == _actions.c.level)
                & (_totals.c.block == _actions.c.block),
            )
            # Level 0 only: each block one day; runs of consecutive days, one range each.
            for first, end in runs([number for _, number in found.blocks]):
                query = (
                    select(_actions.c.block, _actions.c.events, _totals.c.visit_visitors)
                    .select_from(joined)
                    .where(
                        (_actions.c.project_id == project_id)
                        & (_actions.c.level == 0)
                        & (_actions.c.block >= first)
                        & (_actions.c.block < end)
                        & (_actions.c.action == Action.VISIT.value)
                    )
                )
                for number, visits, visitors in (await connection.execute(query)).all():
                    by_day[int(number)] = (int(visits), int(visitors))
        return [
            Bucket(start=from_millis(number * DAY_MS), visits=visits, unique_visitors=visitors)
            for number, (visits, visitors) in sorted(by_day.items())
        ]
