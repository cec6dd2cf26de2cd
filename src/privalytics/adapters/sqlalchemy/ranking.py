"""The top lists on SQL (pages, referrers, targets) over a plan's parts: the candidates'
statement (the first names of each part, and the bound on every other name: see
:mod:`privalytics.domain.rollups`), the statement that sums every name, and
:class:`Rankings`, which runs them and keeps them built.

Ties break by text in code-point order on both backends (PostgreSQL: ``COLLATE "C"``), as
in Python, so memory, SQLite and PostgreSQL rank alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
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
from sqlalchemy.ext.asyncio import AsyncConnection

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.planning import (
    Part,
    Where,
    added,
    block_bound,
    code,
    combine,
    ids_of,
    parts,
    raw_bound,
    text_of,
)
from privalytics.domain.models import Action
from privalytics.domain.reports import BLANK_NAMES, REFERRERS, TARGETS, Ranking
from privalytics.domain.rollups import Candidate, Plan, settled_top

_events = tables.events
_pages = tables.rollup_pages
_referrers = tables.rollup_referrers
_targets = tables.rollup_targets

# A ranking over blocks first reads this many names of each part (at least as many as it
# shows), then this many times more, then every name (see domain/rollups.py).
DEPTH = 32
DEEPER = 16
# Ranking statements kept built, per reader (one per shape: ranking, raw intervals, blocks).
_STATEMENTS = 256

Kind = Literal["pages", "referrers", "targets"]


def ranked(ranking: Ranking, project_id: Any, action: Any = None) -> ColumnElement[bool]:
    """The events ``ranking`` counts (domain/reports.py), for the events table of
    ``project_id`` (a value or a bound parameter): of its action, or of ``action`` (a
    stored code, a value or a bound parameter) when the ranking is of the action asked
    for; of every action when neither is given (grouped by action)."""
    column = _events.c[ranking.field]
    # The blank names' ids: looked up once per statement.
    named = column.is_not(None) & column.not_in(ids_of(BLANK_NAMES, project_id))
    of = action if ranking.action is None else code(ranking.action)
    return named if of is None else (_events.c.action == of) & named


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


def _rankings(window_ms: int) -> dict[Kind, _Ranking]:
    """The rankings of the dashboard (targets: of the bound action, ``action`` as the
    rollups store it and ``action_code`` as the events do)."""
    visit = _events.c.action == code(Action.VISIT)
    action = bindparam("action", type_=String)
    project = bindparam("project", type_=String)

    def named(ranking: Ranking, of: Any = None) -> Where:
        column = _events.c[ranking.field]
        return lambda within: (
            select(text_of(column, project).label("name"), func.count().label("n"))
            .where(within & ranked(ranking, project, of))
            .group_by(column)
        )

    return {
        "pages": _Ranking(
            # Grouped by salt window, as the rollups count distinct visitors.
            raw=lambda within: (
                select(
                    text_of(_events.c.path, project).label("name"),
                    func.count().label("n"),
                    func.count(distinct(_events.c.visitor)).label("v"),
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
            raw=named(TARGETS, bindparam("action_code", type_=Integer)),
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
        raw = combine([ranking.raw(raw_bound(n)) for n in raws])
        sums = [func.sum(raw.c.n).label("n")]
        if ranking.visitors is not None:
            sums.append(func.sum(raw.c.v).label("v"))
        raw_sum = select(raw.c.name, *sums).group_by(raw.c.name).cte("raw_sum")
        firsts.append(select(raw_sum.c.name, raw_sum.c.n).order_by(raw_sum.c.n.desc()))
    for n in blocks:
        within = block_bound(table, n) & ranking.where
        firsts.append(
            select(name.label("name"), count.label("n")).where(within).order_by(count.desc())
        )
    # Each part's first names, numbered by part.
    firsts_read = [first.limit(reach).subquery() for first in firsts]
    read = union_all(
        *(select(literal(n).label("part"), p.c.name, p.c.n) for n, p in enumerate(firsts_read))
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
        return added(
            [
                func.coalesce(
                    select(column)
                    .where(block_bound(table, n) & ranking.where & (name == candidates.c.name))
                    .scalar_subquery(),
                    0,
                )
                for n in blocks
            ]
        )

    # The blocks' figures per candidate, and the raw intervals' (a join of the raw sums
    # would scan them once per candidate on SQLite), summed by name.
    visitors = literal(0) if ranking.visitors is None else looked_up(ranking.visitors)
    figures: list[Part] = [
        select(candidates.c.name, looked_up(count).label("n"), visitors.label("v"))
    ]
    if raw_sum is not None:
        raw_visitors = literal(0) if ranking.visitors is None else raw_sum.c.v
        figures.append(
            select(raw_sum.c.name, raw_sum.c.n, raw_visitors).where(
                raw_sum.c.name.in_(select(candidates.c.name))
            )
        )
    both = combine(figures)
    return select(both.c.name, func.sum(both.c.n), func.sum(both.c.v), most).group_by(both.c.name)


def _everything(ranking: _Ranking, found: Plan, *, postgres: bool) -> Any:
    """The first ``limit`` names from every name's counts over every part."""
    extra = [] if ranking.visitors is None else [ranking.visitors.label("v")]
    both = combine(
        parts(
            found,
            ranking.raw,
            ranking.table,
            lambda within: select(
                ranking.name.label("name"), ranking.count.label("n"), *extra
            ).where(within & ranking.where),
        )
    )
    total = func.sum(both.c.n).label("total")
    visitors = func.sum(both.c.v) if ranking.visitors is not None else literal(0)
    # Code-point order on both backends, as in Python.
    name = both.c.name.collate("C") if postgres else both.c.name
    return (
        select(both.c.name, total, visitors)
        .group_by(both.c.name)
        .order_by(total.desc(), name.asc())
        .limit(bindparam("limit", type_=Integer))
    )


class Rankings:
    """The top lists of one engine, their statements built once per shape of range.

    ``window_ms``: the salt window, by which the events' distinct visitors of a page are
    grouped (as the rollups count them); ``depth``: the names of each part read first.
    """

    def __init__(self, *, window_ms: int, postgres: bool, depth: int = DEPTH) -> None:
        self._depth = depth
        self._postgres = postgres
        self._rankings = _rankings(window_ms)
        self._statements: dict[tuple[Kind, int, int, bool], Any] = {}

    async def top(
        self,
        connection: AsyncConnection,
        kind: Kind,
        values: dict[str, Any],
        found: Plan,
        limit: int,
    ) -> list[Candidate]:
        """The first ``limit`` names of the ranking ``kind`` over ``found``: (name, count,
        visitors or 0). Over blocks, from the first names of each part (see
        domain/rollups.py), reading deeper once if they do not settle it, then every name.
        ``values``: what the statements are bound to (:func:`.planning.bounds`, and the
        action)."""
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

    def _statement(self, kind: Kind, found: Plan, *, candidates: bool) -> Any:
        """The statement of a ranking for ranges of ``found``'s shape, its bounds bound by
        name (:func:`.planning.bounds`), built once: building one is about 3 ms of
        Python."""
        key = (kind, len(found.raw), len(found.blocks), candidates)
        statement = self._statements.get(key)
        if statement is None:
            if len(self._statements) >= _STATEMENTS:
                self._statements.clear()
            ranking = self._rankings[kind]
            statement = self._statements[key] = (
                _candidates(ranking, found)
                if candidates
                else _everything(ranking, found, postgres=self._postgres)
            )
        return statement
