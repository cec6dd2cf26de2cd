"""Unfiltered breakdowns from the dimension rollups (``rollup_dimensions``) and the events
together: the rows of a range's whole up-to-date days (in blocks of days, see
:mod:`privalytics.domain.rollups`) summed with the same figures computed from the events
of the rest of it (its partial first and last days, stale days, today) by
:mod:`.dimsql`, in one statement that ranks as :func:`privalytics.domain.insight.breakdown`
does: by visitors, then custom events (a custom event name's rows), then page views, then
value in code-point order, no value last.

Exact only while a day's distinct visitors add up over days, that is under daily salt
windows; :attr:`DimensionReader.exact` says so, and the store reads the events otherwise.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.dimsql import CODES, SUMS, dimension_rows
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.planning import (
    block_bound,
    bounds,
    combine,
    events_in,
    raw_bound,
    read_plan,
    runs,
    text_of,
)
from privalytics.domain.dimensions import Dimension, Scope
from privalytics.domain.insight import Figures, Row
from privalytics.domain.rollups import Interval, Plan
from privalytics.domain.sessions import SessionTotals

_rolled = tables.rollup_dimensions
# Statements kept built, per reader (one per dimension and shape of range).
_STATEMENTS = 256


def _ranked(name: str, found: Plan, *, limited: bool, postgres: bool) -> Any:
    """The statement of a breakdown by ``name`` over ranges of ``found``'s shape, bound by
    name (:func:`.planning.bounds`, ``dimension``, ``limit``): (text, *SUMS) per value,
    ranked."""
    project = bindparam("project", type_=String)
    r = _rolled.c
    raws = [
        dimension_rows(raw_bound(n), project, name, str(n)).subquery()
        for n in range(len(found.raw))
    ]
    parts = [
        *(select(raw.c.value, *(raw.c[s] for s in SUMS)) for raw in raws),
        *(
            select(r.value, *(r[s] for s in SUMS)).where(
                block_bound(_rolled, n) & (r.dimension == bindparam("dimension", type_=Integer))
            )
            for n in range(len(found.blocks))
        ),
    ]
    both = combine(parts)
    summed = (
        select(both.c.value, *(func.sum(both.c[s]).label(s) for s in SUMS))
        .group_by(both.c.value)
        .subquery()
    )
    named = select(
        text_of(summed.c.value, project).label("text"), *(summed.c[s] for s in SUMS)
    ).subquery()
    n = named.c
    # Code-point order on both backends, as in Python.
    text = n.text.collate("C") if postgres else n.text
    statement = select(n.text, *(n[s] for s in SUMS)).order_by(
        n.visitors.desc(),
        n.events.desc(),
        n.pageviews.desc(),
        case((n.text.is_(None), 1), else_=0),
        text,
    )
    return statement.limit(bindparam("limit", type_=Integer)) if limited else statement


def _row(row: Any, custom: bool) -> Row:
    """A breakdown's row from (text, *SUMS); ``custom``: a custom event dimension's, which
    counts its events."""
    text, sessions, visitors, pageviews, bounces, duration, events = row
    totals = SessionTotals(
        sessions=int(sessions),
        pageviews=int(pageviews),
        bounces=int(bounces),
        duration=timedelta(milliseconds=int(duration)),
    )
    figures = Figures(visitors=int(visitors), totals=totals)
    return Row(value=text, figures=figures, events=int(events) if custom else None)


class DimensionReader:
    """Answers unfiltered breakdowns and cell sizes from ``rollup_dimensions`` and the
    events; ``window``: the salt window (see :attr:`exact`)."""

    def __init__(self, engine: AsyncEngine, window: timedelta) -> None:
        self.engine = engine
        # Per-day distinct visitors add up over days only under daily salts.
        self.exact = window == timedelta(days=1)
        self._postgres = engine.dialect.name == "postgresql"
        self._statements: dict[tuple[str, int, int, bool], Any] = {}

    def _statement(self, name: str, found: Plan, *, limited: bool) -> Any:
        key = (name, len(found.raw), len(found.blocks), limited)
        statement = self._statements.get(key)
        if statement is None:
            if len(self._statements) >= _STATEMENTS:
                self._statements.clear()
            statement = self._statements[key] = _ranked(
                name, found, limited=limited, postgres=self._postgres
            )
        return statement

    async def breakdown(
        self, project_id: str, span: Interval, dimension: Dimension, limit: int | None
    ) -> list[Row]:
        """The first ``limit`` (None: every) rows of the unfiltered breakdown of ``span``
        by ``dimension``, as :func:`privalytics.domain.insight.breakdown` ranks them."""
        if limit is not None and limit <= 0:
            return []
        async with unavailable_on_failure("break down"), self.engine.connect() as connection:
            found = await read_plan(connection, project_id, span)
            if not (found.raw or found.blocks):
                return []
            statement = self._statement(dimension.name, found, limited=limit is not None)
            values = {
                **bounds(project_id, found),
                "dimension": CODES[dimension.name],
                "limit": limit,
            }
            rows = (await connection.execute(statement, values)).all()
        custom = dimension.scope is Scope.CUSTOM
        return [_row(row, custom) for row in rows]

    async def cell_sizes(
        self, project_id: str, span: Interval, dimension: Dimension
    ) -> dict[str | None, int]:
        """Per value of ``dimension`` in ``span``, its most distinct visitors in one day
        (:func:`privalytics.domain.insight.cell_sizes` under daily salts): the day rows of
        the whole up-to-date days, the events of the rest."""
        name = dimension.name
        async with unavailable_on_failure("size cells"), self.engine.connect() as connection:
            found = await read_plan(connection, project_id, span, max_level=0)
            r = _rolled.c
            parts = [
                *(
                    select(raw.c.value, raw.c.visitors)
                    for raw in (
                        dimension_rows(
                            events_in(project_id, interval), project_id, name, str(n)
                        ).subquery()
                        for n, interval in enumerate(found.raw)
                    )
                ),
                *(
                    select(r.value, r.visitors).where(
                        (r.project_id == project_id)
                        & (r.level == 0)
                        & (r.block >= first)
                        & (r.block < end)
                        & (r.dimension == CODES[name])
                    )
                    for first, end in runs([block for _, block in found.blocks])
                ),
            ]
            if not parts:
                return {}
            both = combine(parts)
            query = select(text_of(both.c.value, project_id), func.max(both.c.visitors)).group_by(
                both.c.value
            )
            rows = (await connection.execute(query)).all()
        return {text: int(size) for text, size in rows}
