"""The rollups on SQL: answering a range from them and from the events together
(:mod:`privalytics.domain.rollups` decides which part is which, :mod:`.planning` reads the
plan and builds its parts, :mod:`.ranking` the top lists); :mod:`.refresh` keeps them up
to date.

Every answer is one statement over ``UNION ALL`` of the events' part (grouped as the
rollup rows are) and the rollup rows' part, summed and ranked by the database, so the
result equals the same query over the events alone, row for row.

One :class:`RollupReader` serves an engine (``open_stores`` builds it and hands it to the
event store and the event queries), so its built statements are shared.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.planning import (
    action_name,
    block_bound,
    bounds,
    code,
    combine,
    events_in,
    parts,
    raw_bound,
    read_plan,
    runs,
)
from privalytics.adapters.sqlalchemy.ranking import DEPTH, Rankings
from privalytics.adapters.sqlalchemy.sessionsql import session_totals
from privalytics.adapters.sqlalchemy.tables import from_millis
from privalytics.domain.insight import Figures
from privalytics.domain.models import Action, Bucket, PageStats, Ranked
from privalytics.domain.rollups import DAY_MS, MAX_LEVEL, Interval, Plan
from privalytics.domain.sessions import SessionTotals

_events = tables.events
_totals = tables.rollup_totals
_actions = tables.rollup_actions
_sessions = tables.rollup_sessions


class RollupReader:
    """Answers the dashboard's queries from rollups and events.

    ``window``: the salt window, over which distinct visitors are counted and summed;
    per-day distinct counts only add up when it is one day, otherwise distinct visitors
    are read from the events.
    """

    def __init__(self, engine: AsyncEngine, window: timedelta, *, depth: int = DEPTH) -> None:
        self.engine = engine
        self.window = window
        self._window_ms = window // timedelta(milliseconds=1)
        self._rankings = Rankings(
            window_ms=self._window_ms,
            postgres=engine.dialect.name == "postgresql",
            depth=depth,
        )

    async def _plan(
        self,
        connection: AsyncConnection,
        project_id: str,
        span: Interval,
        *,
        distinct: bool = False,
        max_level: int = MAX_LEVEL,
    ) -> Plan:
        # Distinct visitors add up over days only when the salt window is one day.
        whole = distinct and self._window_ms != DAY_MS
        return await read_plan(connection, project_id, span, whole=whole, max_level=max_level)

    async def count_by_action(self, project_id: str, span: Interval) -> dict[Action, int]:
        async with unavailable_on_failure("count events"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            selects = parts(
                found,
                lambda where: (
                    select(action_name(_events.c.action).label("action"), func.count().label("n"))
                    .where(where)
                    .group_by(_events.c.action)
                ),
                _actions,
                lambda where: select(_actions.c.action, _actions.c.events.label("n")).where(where),
            )
            if not selects:
                return {}
            both = combine(selects)
            query = select(both.c.action, func.sum(both.c.n)).group_by(both.c.action)
            rows = (await connection.execute(query, bounds(project_id, found))).all()
        return {Action(action): int(n) for action, n in rows if n}

    async def unique_visitors(self, project_id: str, span: Interval) -> int:
        async with unavailable_on_failure("count visitors"), self.engine.connect() as connection:
            return await self._visitors(connection, project_id, span)

    async def _visitors(self, connection: AsyncConnection, project_id: str, span: Interval) -> int:
        found = await self._plan(connection, project_id, span, distinct=True)
        selects = parts(
            found,
            lambda where: (
                select(func.count(distinct(_events.c.visitor)).label("n"))
                .where(where)
                .group_by(_events.c.ts // self._window_ms)
            ),
            _totals,
            lambda where: select(_totals.c.visitors.label("n")).where(where),
        )
        if not selects:
            return 0
        both = combine(selects)
        query = select(func.sum(both.c.n))
        total = (await connection.execute(query, bounds(project_id, found))).scalar_one()
        return int(total or 0)

    async def figures(self, project_id: str, span: Interval) -> Figures:
        """The unfiltered figures of ``span`` (:func:`privalytics.domain.insight.figures`):
        the session totals of its whole up-to-date days from the rollups, those of the
        rest (its partial first and last days, stale days) from its events, sessionized in
        SQL (:mod:`.sessionsql`). Sessions never cross a UTC midnight, so the parts add up
        exactly; distinct visitors are :meth:`unique_visitors`' (per salt window)."""
        async with unavailable_on_failure("compute figures"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            s = _sessions.c
            selects = [
                *(session_totals(raw_bound(n), by_day=False) for n in range(len(found.raw))),
                *(
                    select(s.sessions, s.pageviews, s.bounces, s.duration).where(
                        block_bound(_sessions, n)
                    )
                    for n in range(len(found.blocks))
                ),
            ]
            sums: tuple[int, ...] = (0, 0, 0, 0)
            if selects:
                both = combine(selects)
                query = select(*(func.coalesce(func.sum(column), 0) for column in both.c))
                row = (await connection.execute(query, bounds(project_id, found))).one()
                sums = tuple(int(n) for n in row)
            visitors = await self._visitors(connection, project_id, span)
        sessions, pageviews, bounces, duration = sums
        totals = SessionTotals(
            sessions=sessions,
            pageviews=pageviews,
            bounces=bounces,
            duration=timedelta(milliseconds=duration),
        )
        return Figures(visitors=visitors, totals=totals)

    async def top_pages(self, project_id: str, span: Interval, limit: int) -> list[PageStats]:
        async with unavailable_on_failure("rank pages"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, distinct=True)
            values = bounds(project_id, found)
            top = await self._rankings.top(connection, "pages", values, found, limit)
        return [PageStats(path=path, visits=n, unique_visitors=v) for path, n, v in top]

    async def top_referrers(self, project_id: str, span: Interval, limit: int) -> list[Ranked]:
        async with unavailable_on_failure("rank events"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            values = bounds(project_id, found)
            top = await self._rankings.top(connection, "referrers", values, found, limit)
        return [Ranked(name=name, count=n) for name, n, _ in top]

    async def top_targets(
        self, project_id: str, span: Interval, action: Action, limit: int
    ) -> list[Ranked]:
        async with unavailable_on_failure("rank events"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            values = {
                **bounds(project_id, found),
                "action": action.value,
                "action_code": code(action),
            }
            top = await self._rankings.top(connection, "targets", values, found, limit)
        return [Ranked(name=name, count=n) for name, n, _ in top]

    async def average_value(self, project_id: str, span: Interval, action: Action) -> float | None:
        async with unavailable_on_failure("average values"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            selects = parts(
                found,
                lambda where: select(
                    func.sum(_events.c.value).label("total"),
                    func.count(_events.c.value).label("n"),
                ).where(where & (_events.c.action == code(action))),
                _actions,
                lambda where: select(
                    _actions.c.value_sum.label("total"), _actions.c.value_count.label("n")
                ).where(where & (_actions.c.action == action.value)),
            )
            if not selects:
                return None
            both = combine(selects)
            query = select(func.sum(both.c.total), func.sum(both.c.n))
            total, count = (await connection.execute(query, bounds(project_id, found))).one()
        # Divided here, not by AVG: the same division whichever part the sums came from.
        return float(total) / int(count) if count else None

    async def daily_series(self, project_id: str, span: Interval) -> list[Bucket]:
        """Visits and distinct visitors (of any event) per UTC day of ``span``, for days
        with an event, in order (the first and last days may be partial)."""
        async with unavailable_on_failure("count visits"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, max_level=0)
            by_day: dict[int, tuple[int, int]] = {}
            day = (_events.c.ts // DAY_MS).label("day")
            visits = func.count(case((_events.c.action == code(Action.VISIT), 1)))
            for interval in found.raw:
                query = (
                    select(day, visits, func.count(distinct(_events.c.visitor)))
                    .where(events_in(project_id, interval))
                    .group_by(day)
                )
                for number, counted, visitors in (await connection.execute(query)).all():
                    by_day[int(number)] = (int(counted), int(visitors))
            joined = _totals.outerjoin(
                _actions,
                (_actions.c.project_id == _totals.c.project_id)
                & (_actions.c.level == _totals.c.level)
                & (_actions.c.block == _totals.c.block)
                & (_actions.c.action == Action.VISIT.value),
            )
            # Level 0 only: each block one day; runs of consecutive days, one range each.
            for first, end in runs([number for _, number in found.blocks]):
                query = (
                    select(_totals.c.block, func.coalesce(_actions.c.events, 0), _totals.c.visitors)
                    .select_from(joined)
                    .where(
                        (_totals.c.project_id == project_id)
                        & (_totals.c.level == 0)
                        & (_totals.c.block >= first)
                        & (_totals.c.block < end)
                    )
                )
                for number, counted, visitors in (await connection.execute(query)).all():
                    by_day[int(number)] = (int(counted), int(visitors))
        return [
            Bucket(start=from_millis(number * DAY_MS), visits=visits, unique_visitors=visitors)
            for number, (visits, visitors) in sorted(by_day.items())
        ]
