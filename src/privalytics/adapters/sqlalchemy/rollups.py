"""The rollups on SQL: answering a range from them and from the events together
(:mod:`privalytics.domain.rollups` decides which part is which); :mod:`.refresh` keeps
them up to date.

Every answer is one statement over ``UNION ALL`` of the events' part (grouped as the
rollup rows are) and the rollup rows' part, summed and ranked by the database, so the
result equals the same query over the events alone, row for row.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    case,
    distinct,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.tables import from_millis
from privalytics.domain.models import Action, Bucket, PageStats, Ranked
from privalytics.domain.reports import BLANK_NAMES, REFERRERS, TARGETS, Ranking
from privalytics.domain.rollups import (
    DAY_MS,
    MAX_LEVEL,
    Candidate,
    Interval,
    Plan,
    day_of,
    plan,
    settled_top,
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
# A ranking over blocks first reads this many names of each part (at least as many as it
# shows), then this many times more, then every name (see domain/rollups.py).
DEPTH = 32
DEEPER = 16
# Ranking statements kept built, per reader (one per shape: ranking, raw intervals, blocks).
_STATEMENTS = 256


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


def ranked(ranking: Ranking, action: Any = None) -> ColumnElement[bool]:
    """The events ``ranking`` counts (domain/reports.py), for the events table: of its
    action, or of ``action`` (a value or a bound parameter) when the ranking is of the
    action asked for; of every action when neither is given (grouped by action)."""
    column = _events.c[ranking.field]
    named = functools.reduce(
        operator.and_, (column != blank for blank in BLANK_NAMES), column.is_not(None)
    )
    of = action if ranking.action is None else ranking.action.value
    return named if of is None else (_events.c.action == of) & named


def _raw_bound(n: int) -> ColumnElement[bool]:
    """The events of raw interval ``n`` of a plan, bound by name (:func:`_bounds`): one
    range of the (project_id, ts) index."""
    return (
        (_events.c.project_id == bindparam("project"))
        & (_events.c.ts >= bindparam(f"start_{n}"))
        & (_events.c.ts < bindparam(f"end_{n}"))
    )


def _block_bound(table: Table, n: int) -> ColumnElement[bool]:
    """The rows of block ``n`` of a plan, bound by name (:func:`_bounds`): one range of the
    table's primary key."""
    return (
        (table.c.project_id == bindparam("project"))
        & (table.c.level == bindparam(f"level_{n}"))
        & (table.c.block == bindparam(f"block_{n}"))
    )


def _bounds(project_id: str, found: Plan) -> dict[str, Any]:
    """The values of :func:`_raw_bound` and :func:`_block_bound` for ``found``."""
    values: dict[str, Any] = {"project": project_id}
    for n, (start, end) in enumerate(found.raw):
        values[f"start_{n}"], values[f"end_{n}"] = start, end
    for n, (level, block) in enumerate(found.blocks):
        values[f"level_{n}"], values[f"block_{n}"] = level, block
    return values


Where = Callable[[ColumnElement[bool]], _Part]


def _parts(found: Plan, raw: Where, table: Table, rolled: Where) -> list[_Part]:
    """One select per raw interval and one per block of ``found``'s shape, bound by name
    (:func:`_bounds`): each reads one index range (an OR of ranges would make SQLite read
    every row of the project)."""
    return [
        *(raw(_raw_bound(n)) for n in range(len(found.raw))),
        *(rolled(_block_bound(table, n)) for n in range(len(found.blocks))),
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


def _added(terms: Sequence[ColumnElement[int]]) -> ColumnElement[int]:
    """The sum of the terms, as one SQL expression."""
    return functools.reduce(operator.add, terms)


@dataclass(frozen=True, slots=True)
class _Ranking:
    """What a ranking counts. ``raw``: the select of one raw interval's names and counts
    (``name``, ``n``, and ``v``, the visitors, where ``visitors`` is given), grouped as the
    rollup rows are; ``table``: the rollup table, whose ``name`` and ``count`` columns (and
    ``visitors``) hold a block's figures for the rows ``where`` selects."""

    raw: Where
    table: Table
    name: ColumnElement[str]
    count: ColumnElement[int]
    where: ColumnElement[bool] = field(default_factory=true)
    visitors: ColumnElement[int] | None = None


def _rankings(window_ms: int) -> dict[str, _Ranking]:
    """The rankings of the dashboard (targets: of the bound action)."""
    visit = _events.c.action == Action.VISIT.value
    action = bindparam("action", type_=String)

    def named(ranking: Ranking, of: Any = None) -> Where:
        column = _events.c[ranking.field]
        return lambda within: (
            select(column.label("name"), func.count().label("n"))
            .where(within & ranked(ranking, of))
            .group_by(column)
        )

    return {
        "pages": _Ranking(
            # Grouped by salt window, as the rollups count distinct visitors.
            raw=lambda within: (
                select(
                    _events.c.path.label("name"),
                    func.count().label("n"),
                    func.count(distinct(_events.c.visitor_hash)).label("v"),
                )
                .where(within & visit)
                .group_by(_events.c.path, _events.c.ts // window_ms)
            ),
            table=_pages,
            name=_pages.c.path,
            count=_pages.c.visits,
            visitors=_pages.c.visitors,
        ),
        "referrers": _Ranking(
            raw=named(REFERRERS),
            table=_referrers,
            name=_referrers.c.referrer,
            count=_referrers.c.visits,
        ),
        "targets": _Ranking(
            raw=named(TARGETS, action),
            table=_targets,
            name=_targets.c.target,
            count=_targets.c.events,
            where=_targets.c.action == action,
        ),
    }


def _candidates(ranking: _Ranking, found: Plan) -> Any:
    """One row per candidate of a ranking: its name, count and visitors (or 0) over the
    whole range, and the bound (the same in every row); ``reach`` (``depth`` + 1) names
    read per part, so that a part with just ``depth`` is known to hold no more."""
    table, name, count = ranking.table, ranking.name, ranking.count
    raws, blocks = range(len(found.raw)), range(len(found.blocks))
    depth = bindparam("depth", type_=Integer)
    reach = bindparam("reach", type_=Integer)
    firsts: list[Any] = []
    raw_sum = None
    if raws:
        raw = _combine([ranking.raw(_raw_bound(n)) for n in raws])
        sums = [func.sum(raw.c.n).label("n")]
        if ranking.visitors is not None:
            sums.append(func.sum(raw.c.v).label("v"))
        raw_sum = select(raw.c.name, *sums).group_by(raw.c.name).cte("raw_sum")
        firsts.append(select(raw_sum.c.name, raw_sum.c.n).order_by(raw_sum.c.n.desc()))
    for n in blocks:
        within = _block_bound(table, n) & ranking.where
        firsts.append(
            select(name.label("name"), count.label("n")).where(within).order_by(count.desc())
        )
    # Each part's first names, numbered by part.
    parts = [first.limit(reach).subquery() for first in firsts]
    read = union_all(
        *(select(literal(n).label("part"), p.c.name, p.c.n) for n, p in enumerate(parts))
    ).cte("read")
    per_part = (
        select(case((func.count() > depth, func.min(read.c.n)), else_=0).label("lowest"))
        .group_by(read.c.part)
        .subquery()
    )
    most = select(func.coalesce(func.sum(per_part.c.lowest), 0)).scalar_subquery()
    candidates = select(read.c.name).distinct().cte("candidates")

    def looked_up(column: ColumnElement[int]) -> ColumnElement[int]:
        # A lookup by primary key in each block, per candidate.
        return _added(
            [
                func.coalesce(
                    select(column)
                    .where(_block_bound(table, n) & ranking.where & (name == candidates.c.name))
                    .scalar_subquery(),
                    0,
                )
                for n in blocks
            ]
        )

    # The blocks' figures per candidate, and the raw intervals' (a join of the raw sums
    # would scan them once per candidate on SQLite), summed by name.
    visitors = literal(0) if ranking.visitors is None else looked_up(ranking.visitors)
    figures: list[_Part] = [
        select(candidates.c.name, looked_up(count).label("n"), visitors.label("v"))
    ]
    if raw_sum is not None:
        raw_visitors = literal(0) if ranking.visitors is None else raw_sum.c.v
        figures.append(
            select(raw_sum.c.name, raw_sum.c.n, raw_visitors).where(
                raw_sum.c.name.in_(select(candidates.c.name))
            )
        )
    both = _combine(figures)
    return select(both.c.name, func.sum(both.c.n), func.sum(both.c.v), most).group_by(both.c.name)


class RollupReader:
    """Answers the dashboard's queries from rollups and events.

    ``window``: the salt window, over which distinct visitors are counted and summed;
    per-day distinct counts only add up when it is one day, otherwise distinct visitors
    are read from the events.
    """

    def __init__(self, engine: AsyncEngine, window: timedelta, *, depth: int = DEPTH) -> None:
        self.engine = engine
        self._depth = depth
        self._postgres = engine.dialect.name == "postgresql"
        self._window_ms = window // timedelta(milliseconds=1)
        self._rankings = _rankings(self._window_ms)
        self._statements: dict[tuple[str, int, int, bool], Any] = {}

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
            rows = (await connection.execute(query, _bounds(project_id, found))).all()
        return {Action(action): int(n) for action, n in rows if n}

    async def unique_visitors(self, project_id: str, span: Interval) -> int:
        async with unavailable_on_failure("count visitors"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, distinct=True)
            parts = _parts(
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
            query = select(func.sum(both.c.n))
            total = (await connection.execute(query, _bounds(project_id, found))).scalar_one()
        return int(total or 0)

    async def top_pages(self, project_id: str, span: Interval, limit: int) -> list[PageStats]:
        async with unavailable_on_failure("rank pages"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, distinct=True)
            top = await self._top(connection, "pages", _bounds(project_id, found), found, limit)
        return [PageStats(path=path, visits=n, unique_visitors=v) for path, n, v in top]

    async def top_referrers(self, project_id: str, span: Interval, limit: int) -> list[Ranked]:
        async with unavailable_on_failure("rank events"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            values = _bounds(project_id, found)
            top = await self._top(connection, "referrers", values, found, limit)
        return [Ranked(name=name, count=n) for name, n, _ in top]

    async def top_targets(
        self, project_id: str, span: Interval, action: Action, limit: int
    ) -> list[Ranked]:
        async with unavailable_on_failure("rank events"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            values = {**_bounds(project_id, found), "action": action.value}
            top = await self._top(connection, "targets", values, found, limit)
        return [Ranked(name=name, count=n) for name, n, _ in top]

    async def _top(
        self,
        connection: AsyncConnection,
        kind: str,
        values: dict[str, Any],
        found: Plan,
        limit: int,
    ) -> list[Candidate]:
        """The first ``limit`` names of the ranking ``kind`` over ``found``: (name, count,
        visitors or 0). Over blocks, from the first names of each part (see
        domain/rollups.py), reading deeper once if they do not settle it, then every name.
        ``values``: what the statements are bound to (:func:`_bounds`, and the action)."""
        if limit <= 0 or not (found.raw or found.blocks):
            return []
        if found.blocks:
            depth = max(self._depth, limit)
            statement = self._statement(kind, found, candidates=True)
            for _ in range(2):
                reads = {"depth": depth, "reach": depth + 1}
                rows = (await connection.execute(statement, {**values, **reads})).all()
                if not rows:
                    return []
                candidates = [(name, int(n), int(v)) for name, n, v, _ in rows]
                top = settled_top(candidates, int(rows[0][3]), limit)
                if top is not None:
                    return top
                depth *= DEEPER
        statement = self._statement(kind, found, candidates=False)
        rows = (await connection.execute(statement, {**values, "limit": limit})).all()
        return [(name, int(n), int(v)) for name, n, v in rows]

    def _statement(self, kind: str, found: Plan, *, candidates: bool) -> Any:
        """The statement of a ranking for ranges of ``found``'s shape, its bounds bound by
        name (:func:`_bounds`), built once: building one is about 3 ms of Python."""
        key = (kind, len(found.raw), len(found.blocks), candidates)
        statement = self._statements.get(key)
        if statement is None:
            if len(self._statements) >= _STATEMENTS:
                self._statements.clear()
            build = _candidates if candidates else self._everything
            statement = self._statements[key] = build(self._rankings[kind], found)
        return statement

    def _everything(self, ranking: _Ranking, found: Plan) -> Any:
        """The first ``limit`` names from every name's counts over every part."""
        extra = [] if ranking.visitors is None else [ranking.visitors.label("v")]
        parts = _parts(
            found,
            ranking.raw,
            ranking.table,
            lambda within: select(
                ranking.name.label("name"), ranking.count.label("n"), *extra
            ).where(within & ranking.where),
        )
        both = _combine(parts)
        total = func.sum(both.c.n).label("total")
        visitors = func.sum(both.c.v) if ranking.visitors is not None else literal(0)
        return (
            select(both.c.name, total, visitors)
            .group_by(both.c.name)
            .order_by(total.desc(), self._order(both.c.name).asc())
            .limit(bindparam("limit", type_=Integer))
        )

    async def average_value(self, project_id: str, span: Interval, action: Action) -> float | None:
        async with unavailable_on_failure("average values"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span)
            parts = _parts(
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
            query = select(func.sum(both.c.total), func.sum(both.c.n))
            total, count = (await connection.execute(query, _bounds(project_id, found))).one()
        # Divided here, not by AVG: the same division whichever part the sums came from.
        return float(total) / int(count) if count else None

    async def daily_series(self, project_id: str, span: Interval) -> list[Bucket]:
        """Visits and distinct visitors (of any event) per UTC day of ``span``, for days
        with an event, in order (the first and last days may be partial)."""
        async with unavailable_on_failure("count visits"), self.engine.connect() as connection:
            found = await self._plan(connection, project_id, span, max_level=0)
            by_day: dict[int, tuple[int, int]] = {}
            day = (_events.c.ts // DAY_MS).label("day")
            visits = func.count(case((_events.c.action == Action.VISIT.value, 1)))
            for interval in found.raw:
                query = (
                    select(day, visits, func.count(distinct(_events.c.visitor_hash)))
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
