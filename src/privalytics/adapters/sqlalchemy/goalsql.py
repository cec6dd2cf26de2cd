"""Breakdowns by goal in SQL: per UTC day and goal, the figures
:func:`privalytics.domain.insight.breakdown` gives a resolved goal dimension's row (the
sessions that converted the goal, their distinct visitors, page views, bounces and summed
lengths, and the goal's conversions), for the events a condition selects, unfiltered.

A goal is matched against stored ids, not texts: its event name, or the ids of the
project's paths that its pattern matches (:func:`privalytics.domain.goals.matches_pattern`,
over the texts that share the pattern's literal beginning), looked up once per read
(:func:`goal_targets`). Sessions are cut as :mod:`.dimsql` cuts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.dimsql import (
    SESSION_KEY,
    bounced,
    numbered_events,
    session_rows,
    with_visitors_of,
)
from privalytics.adapters.sqlalchemy.planning import code
from privalytics.domain.goals import Goal, GoalKind, matches_pattern
from privalytics.domain.models import Action

_texts = tables.texts
_events = tables.events
# A goal's figures, in rollup_goals' column order.
GOAL_SUMS = ("sessions", "visitors", "pageviews", "bounces", "duration", "events")


@dataclass(frozen=True, slots=True)
class Target:
    """What converts goal number ``index`` of a read, in stored ids: ``ids`` are the
    event names (an event goal) or the paths (a page or scroll goal) that convert it."""

    index: int
    kind: GoalKind
    ids: tuple[int, ...]
    depth: int | None = None


async def texts_matching(
    connection: AsyncConnection, number: Any, text: str, *, pattern: bool, after: int = 0
) -> dict[int, str]:
    """The project's texts (by id) equal to ``text`` or, with ``pattern``, that the page
    pattern ``text`` matches (:func:`privalytics.domain.goals.matches_pattern`): the
    texts sharing its literal beginning, tested one by one; ``after``: only texts with a
    greater id (added since)."""
    t = _texts.c
    query = select(t.id, t.text).where((t.project == number) & (t.id > after))
    if not pattern or "*" not in text:
        query = query.where(t.text == text)
        return {int(id_): str(found) for id_, found in (await connection.execute(query)).all()}
    prefix = text.split("*", 1)[0]
    if prefix:
        query = query.where(func.substr(t.text, 1, len(prefix)) == prefix)
    rows = (await connection.execute(query)).all()
    return {int(id_): str(found) for id_, found in rows if matches_pattern(text, found)}


# Names and patterns a TargetCache keeps at most (of every project).
MAX_HELD = 4096


class TargetCache:
    """The ids a goal's name or pattern matches, kept between reads: a project's texts
    are only ever added (ids grow, never reused; they go only with the project), so a read
    tests only the texts added since the last (for a pattern over many paths, a scan of
    the project's texts became one index lookup)."""

    def __init__(self) -> None:
        # Per (project number, text, is a pattern): the ids handed out when last looked
        # at, and the matching ids then.
        self._held: dict[tuple[int, str, bool], tuple[int, tuple[int, ...]]] = {}

    async def ids(
        self, connection: AsyncConnection, number: int, handed_out: int, text: str, pattern: bool
    ) -> tuple[int, ...]:
        """The ids matching ``text``, ``handed_out`` being the project's ids so far."""
        key = (number, text, pattern)
        seen, ids = self._held.get(key, (0, ()))
        if handed_out > seen:
            found = await texts_matching(connection, number, text, pattern=pattern, after=seen)
            ids = tuple(sorted({*ids, *found}))
            if len(self._held) >= MAX_HELD and key not in self._held:
                # Goals renamed or deleted leave entries behind: start again.
                self._held.clear()
            self._held[key] = (handed_out, ids)
        return ids


async def goal_targets(
    connection: AsyncConnection,
    project_id: str,
    goals: Sequence[Goal],
    cache: TargetCache | None = None,
) -> list[Target]:
    """The targets of ``goals`` (numbered in their order), those that nothing stored can
    convert left out; ``cache``: the ids found by earlier reads."""
    n = tables.project_numbers.c
    numbered = (
        await connection.execute(select(n.number, n.texts).where(n.project_id == project_id))
    ).first()
    if numbered is None:
        return []
    number, handed_out = int(numbered[0]), int(numbered[1])
    cache = cache or TargetCache()
    found: list[Target] = []
    for index, goal in enumerate(goals):
        if goal.kind is GoalKind.EVENT:
            assert goal.event is not None
            ids = await cache.ids(connection, number, handed_out, goal.event, False)
        else:
            assert goal.page is not None
            ids = await cache.ids(connection, number, handed_out, goal.page, True)
        if ids:
            found.append(Target(index=index, kind=goal.kind, ids=ids, depth=goal.depth))
    return found


def _ids_in(column: Any, ids: tuple[int, ...]) -> Any:
    # Rendered as literals: a pattern may match more paths than a statement may bind.
    return column.in_(bindparam(None, list(ids), expanding=True, literal_execute=True))


def _converts(t: Any, target: Target) -> Any:
    """SQL: whether a numbered event converts ``target``'s goal (domain/goals.py: converts)."""
    if target.kind is GoalKind.EVENT:
        return (t.action == code(Action.CUSTOM)) & _ids_in(t.name, target.ids)
    if target.kind is GoalKind.PAGE:
        return (t.action == code(Action.VISIT)) & _ids_in(t.path, target.ids)
    assert target.depth is not None
    return (
        (t.action == code(Action.SCROLL))
        & _ids_in(t.path, target.ids)
        & t.value.is_not(None)
        & (t.value >= target.depth)
    )


def goal_rows(where: ColumnElement[bool], project: Any, targets: Sequence[Target], tag: str) -> Any:
    """SQL: (day, goal, *GOAL_SUMS) over the events ``where`` selects, one row per day and
    goal with a conversion (``goal``: its target's index); ``project``: its id, for the
    texts compared among events at one instant; ``tag``: what makes the name of the
    common table expression unique in its statement. ``targets`` must not be empty."""
    # Only the sessions of visitors who converted a goal count: the others' events need
    # no numbering.
    converting = or_(*(_converts(_events.c, target) for target in targets))
    where = where & with_visitors_of(where, converting)
    numbered = numbered_events(where, []).element.cte(f"goal_numbered_{tag}")
    sessions = session_rows(numbered, project, []).subquery()
    t, s = numbered.c, sessions.c
    key = [t[name] for name in SESSION_KEY]
    converted = union_all(
        *(
            select(*key, literal(target.index).label("goal"), func.count().label("times"))
            .where(_converts(t, target))
            .group_by(*key)
            for target in targets
        )
    ).subquery()
    c = converted.c
    joined = converted.join(sessions, and_(*(c[name] == s[name] for name in SESSION_KEY)))
    return (
        select(
            c.day,
            c.goal,
            func.count().label("sessions"),
            func.count(distinct(c.visitor)).label("visitors"),
            func.sum(s.views).label("pageviews"),
            func.sum(bounced(s)).label("bounces"),
            func.sum(s.length).label("duration"),
            func.sum(c.times).label("events"),
        )
        .select_from(joined)
        .group_by(c.day, c.goal)
    )
