"""Reading a range in parts: the plan of a range (:func:`privalytics.domain.rollups.plan`,
given the stale days stored), and the SQL of its parts: one select per raw interval of the
events and one per rollup block, bound by name so that a statement serves every range of
the same shape, and put together with ``UNION ALL``.

Also the one conversion of a :class:`~privalytics.domain.models.TimeRange` to the stored
milliseconds (:func:`interval_of`), the one filter of the events of an interval
(:func:`events_in`), which every reader of the events table uses, and what the compact
events table (migration 0006) stores as integers, in SQL: a project's number
(:func:`number_of`), a text id's text (:func:`text_of`), an action's code and name.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Table,
    bindparam,
    case,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.tables import ACTION_CODES, to_micros
from privalytics.domain.models import Action, TimeRange
from privalytics.domain.rollups import DAY_MS, MAX_LEVEL, Interval, Plan, day_of, plan

_events = tables.events
_stale = tables.rollup_stale
_numbers = tables.project_numbers
_texts = tables.texts

# Past this many pieces (raw intervals and blocks: many stale days apart from each other,
# over a long range) a range is read from the events alone: SQLite allows at most 500
# SELECTs in one compound statement.
MAX_PARTS = 100

# A part of a union: a select of any columns.
Part = Select[*tuple[Any, ...]]
# A part's select, given the filter of the rows it reads.
Where = Callable[[ColumnElement[bool]], Part]


def _bound(moment: datetime) -> int:
    # A stored ts (whole ms) lies at or after ``moment`` iff ts >= ceil(moment in ms); the
    # same bound serves the exclusive end. So half-open ranges with sub-millisecond bounds
    # select exactly the events whose truncated timestamps fall inside them.
    return -(-to_micros(moment) // 1000)


def interval_of(span: TimeRange) -> Interval:
    """The bounds of ``span`` in stored milliseconds, as :func:`events_in` compares them."""
    return _bound(span.start), _bound(span.end)


def number_of(project_id: Any) -> ScalarSelect[Any]:
    """SQL: the number of a project (a value or a bound parameter), as events store it;
    computed once per statement by both engines, so it bounds an index range."""
    return select(_numbers.c.number).where(_numbers.c.project_id == project_id).scalar_subquery()


def text_of(column: Any, project_id: Any) -> Any:
    """SQL: the text of the id ``column`` in the dictionary of ``project_id``. Used on
    grouped rows (one lookup per group, not per event)."""
    return (
        select(_texts.c.text)
        .where((_texts.c.project == number_of(project_id)) & (_texts.c.id == column))
        .scalar_subquery()
    )


def ids_of(texts: Sequence[str], project_id: Any) -> Any:
    """SQL: the ids of ``texts`` in the dictionary of ``project_id``, for ``NOT IN``."""
    return select(_texts.c.id).where(
        (_texts.c.project == number_of(project_id)) & _texts.c.text.in_(texts)
    )


def code(action: Action) -> int:
    """The stored code of ``action``."""
    return ACTION_CODES[action]


def action_name(column: Any) -> Any:
    """SQL: the action's name (as the rollups store it) of a stored code."""
    return case({c: a.value for a, c in ACTION_CODES.items()}, value=column)


def events_in(project_id: str, interval: Interval) -> ColumnElement[bool]:
    """The events of one interval: one range of the (project, ts) index."""
    return (
        (_events.c.project == number_of(project_id))
        & (_events.c.ts >= interval[0])
        & (_events.c.ts < interval[1])
    )


def stale_marks(values: Iterable[tuple[Any, ...]]) -> list[tuple[str, int]]:
    """The (project id, day) pairs that event rows (project id first, ts second: see
    :func:`.dictionary.event_values`) make stale."""
    return sorted({(row[0], day_of(row[1])) for row in values})


def runs(days: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted days as runs of consecutive days: (first, day after the last)."""
    found: list[tuple[int, int]] = []
    for day in days:
        if found and found[-1][1] == day:
            found[-1] = (found[-1][0], day + 1)
        else:
            found.append((day, day + 1))
    return found


async def read_plan(
    connection: AsyncConnection,
    project_id: str,
    span: Interval,
    *,
    whole: bool = False,
    max_level: int = MAX_LEVEL,
) -> Plan:
    """The plan of ``span`` for ``project_id``, given the stale days stored; ``whole``:
    the range read from the events alone (distinct visitors over windows longer than a
    day do not add up), as is a range of more than :data:`MAX_PARTS` parts."""
    start, end = span
    if whole:
        return Plan(raw=((start, end),) if start < end else (), blocks=())
    first, last = -(-start // DAY_MS), end // DAY_MS
    if first >= last:
        return plan(start, end)
    query = select(_stale.c.day).where(
        (_stale.c.project_id == project_id) & (_stale.c.day >= first) & (_stale.c.day < last)
    )
    stale = (await connection.execute(query)).scalars().all()
    found = plan(start, end, stale, max_level=max_level)
    # Day blocks are read as runs of consecutive days (RollupReader.daily_series).
    blocks = len(runs([b for _, b in found.blocks])) if max_level == 0 else len(found.blocks)
    if len(found.raw) + blocks > MAX_PARTS:
        return Plan(raw=((start, end),), blocks=())
    return found


def raw_bound(n: int) -> ColumnElement[bool]:
    """The events of raw interval ``n`` of a plan, bound by name (:func:`bounds`): one
    range of the (project, ts) index."""
    return (
        (_events.c.project == number_of(bindparam("project")))
        & (_events.c.ts >= bindparam(f"start_{n}"))
        & (_events.c.ts < bindparam(f"end_{n}"))
    )


def block_bound(table: Table, n: int) -> ColumnElement[bool]:
    """The rows of block ``n`` of a plan, bound by name (:func:`bounds`): one range of the
    table's primary key."""
    return (
        (table.c.project_id == bindparam("project"))
        & (table.c.level == bindparam(f"level_{n}"))
        & (table.c.block == bindparam(f"block_{n}"))
    )


def bounds(project_id: str, found: Plan) -> dict[str, Any]:
    """The values of :func:`raw_bound` and :func:`block_bound` for ``found``."""
    values: dict[str, Any] = {"project": project_id}
    for n, (start, end) in enumerate(found.raw):
        values[f"start_{n}"], values[f"end_{n}"] = start, end
    for n, (level, block) in enumerate(found.blocks):
        values[f"level_{n}"], values[f"block_{n}"] = level, block
    return values


def parts(found: Plan, raw: Where, table: Table, rolled: Where) -> list[Part]:
    """One select per raw interval and one per block of ``found``'s shape, bound by name
    (:func:`bounds`): each reads one index range (an OR of ranges would make SQLite read
    every row of the project)."""
    return [
        *(raw(raw_bound(n)) for n in range(len(found.raw))),
        *(rolled(block_bound(table, n)) for n in range(len(found.blocks))),
    ]


def combine(selects: Sequence[Part]) -> Any:
    """The union of the parts, as a subquery."""
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery()


def added(terms: Sequence[ColumnElement[int]]) -> ColumnElement[int]:
    """The sum of the terms, as one SQL expression."""
    return functools.reduce(operator.add, terms)
