"""Unfiltered breakdowns by goal from ``rollup_goals`` and the events together.

A range's whole, up-to-date days (:func:`.planning.read_plan`) are read from the goals'
day rows; the days among them that a goal has no row for yet are computed from their
events (:func:`.goalsql.goal_rows`) and stored, a row of zeros where the goal had no
conversion, so the next read finds them; the refresh warms them ahead
(:meth:`GoalReader.warm`: a month of days per project and call, the newest first). The
rest of the range (its partial first and last days, stale days, today) is computed from
the events on every read. The refresh
deletes the rows of the days it recomputes (their events changed), and the rows of a goal
go with it (:meth:`privalytics.adapters.sqlalchemy.goals.SqlAlchemyGoalStore.remove`).

Exact only while a day's distinct visitors add up over days, that is under daily salt
windows, as :class:`.dimrollups.DimensionReader`; the store reads the events otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.goals import goal_of
from privalytics.adapters.sqlalchemy.goalsql import (
    GOAL_SUMS,
    Target,
    TargetCache,
    goal_rows,
    goal_targets,
)
from privalytics.adapters.sqlalchemy.planning import events_in, number_of, read_plan, runs
from privalytics.domain.goals import Goal
from privalytics.domain.insight import Figures, Row, rank
from privalytics.domain.rollups import DAY_MS, Interval
from privalytics.domain.sessions import SessionTotals

_rolled = tables.rollup_goals
_stale = tables.rollup_stale
# Per (goal index, day): the goal's figures that day, in GOAL_SUMS' order.
DayFigures = dict[tuple[int, int], tuple[int, ...]]
_ZERO = (0,) * len(GOAL_SUMS)
# Days per project whose goal rows one warming computes at most (see GoalReader.warm).
WARM_DAYS = 31


async def _computed(
    connection: AsyncConnection,
    project_id: str,
    targets: Sequence[Target],
    intervals: Sequence[Interval],
) -> DayFigures:
    """The figures per goal and day of the events of ``intervals``."""
    found: DayFigures = {}
    for n, interval in enumerate(intervals):
        query = goal_rows(events_in(project_id, interval), project_id, targets, str(n))
        for day, goal, *sums in (await connection.execute(query)).all():
            found[int(goal), int(day)] = tuple(int(value) for value in sums)
    return found


def _row(goal: Goal, sums: tuple[int, ...]) -> Row:
    sessions, visitors, pageviews, bounces, duration, events = sums
    totals = SessionTotals(
        sessions=sessions,
        pageviews=pageviews,
        bounces=bounces,
        duration=timedelta(milliseconds=duration),
    )
    return Row(value=goal.name, figures=Figures(visitors=visitors, totals=totals), events=events)


class GoalReader:
    """Answers unfiltered breakdowns by goal and their cell sizes from ``rollup_goals``
    and the events."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._targets = TargetCache()

    async def _days(
        self, project_id: str, span: Interval, goals: Sequence[Goal], *, raw: bool = True
    ) -> tuple[DayFigures, int]:
        """Per goal (its index in ``goals``) and day of ``span``, the goal's figures (days
        without a conversion may be left out), and how many whole days were computed and
        kept; ``raw``: the rest of the range too (else only its whole days)."""
        async with unavailable_on_failure("break down by goal"), self.engine.connect() as c:
            targets = await goal_targets(c, project_id, goals, self._targets)
            if not targets:
                return {}, 0
            found = await read_plan(c, project_id, span, max_level=0)
            days = sorted(block for _, block in found.blocks)
            figures: DayFigures = {}
            missing: list[int] = days
            if days:
                index = {goals[t.index].id: t.index for t in targets}
                r = _rolled.c
                query = select(r.goal_id, r.day, *(r[name] for name in GOAL_SUMS)).where(
                    (r.project_id == project_id)
                    & r.goal_id.in_(sorted(index))
                    & (r.day >= days[0])
                    & (r.day <= days[-1])
                )
                wanted = set(days)
                for goal_id, day, *sums in (await c.execute(query)).all():
                    if day in wanted:
                        figures[index[goal_id], day] = tuple(int(value) for value in sums)
                missing = [d for d in days if any((t.index, d) not in figures for t in targets)]
            made = await _computed(
                c, project_id, targets, [(a * DAY_MS, b * DAY_MS) for a, b in runs(missing)]
            )
            rest = await _computed(c, project_id, targets, found.raw) if raw else {}
        if missing:
            made_rows = {
                (t.index, day): made.get((t.index, day), _ZERO) for t in targets for day in missing
            }
            await self._store(project_id, goals, made_rows)
            figures.update(made_rows)
        figures.update(rest)
        return figures, len(missing)

    async def warm(self, before: datetime, days: int = WARM_DAYS) -> int:
        """Compute and keep, per project with goals, the goal rows of at most ``days``
        past days that lack them, the newest first (run with the refresh, so that a
        goal's history is ready before a long range is read); returns how many days were
        computed."""
        today = tables.to_millis(before) // DAY_MS
        g = tables.goals.c
        async with unavailable_on_failure("read goals"), self.engine.connect() as c:
            rows = (
                (await c.execute(select(tables.goals).order_by(g.project_id, g.created_at, g.id)))
                .mappings()
                .all()
            )
            by_project: dict[str, list[Goal]] = {}
            for row in rows:
                by_project.setdefault(row["project_id"], []).append(goal_of(row))
            firsts = {
                project_id: await c.scalar(
                    select(func.min(tables.events.c.ts)).where(
                        tables.events.c.project == number_of(project_id)
                    )
                )
                for project_id in by_project
            }
        done = 0
        for project_id, goals in by_project.items():
            first = firsts[project_id]
            if first is None:
                continue
            end = today
            while end > first // DAY_MS:
                start = max(first // DAY_MS, end - days)
                _, computed = await self._days(
                    project_id, (start * DAY_MS, end * DAY_MS), goals, raw=False
                )
                end = start
                if computed:
                    done += computed
                    break
        return done

    async def _store(self, project_id: str, goals: Sequence[Goal], rows: DayFigures) -> None:
        """Keep computed day rows, but for days made stale since (their events changed:
        the refresh will not find rows to delete for them, so none may be written)."""
        days = sorted({day for _, day in rows})
        insert = postgresql_insert if self._postgres else sqlite_insert
        async with unavailable_on_failure("keep goal figures"), self.engine.begin() as c:
            stale = set(
                (
                    await c.execute(
                        select(_stale.c.day).where(
                            (_stale.c.project_id == project_id)
                            & (_stale.c.day >= days[0])
                            & (_stale.c.day <= days[-1])
                        )
                    )
                ).scalars()
            )
            values: list[dict[str, Any]] = [
                {
                    "project_id": project_id,
                    "goal_id": goals[index].id,
                    "day": day,
                    **dict(zip(GOAL_SUMS, sums, strict=True)),
                }
                for (index, day), sums in rows.items()
                if day not in stale
            ]
            if values:
                await c.execute(insert(_rolled).on_conflict_do_nothing(), values)

    async def breakdown(
        self, project_id: str, span: Interval, goals: Sequence[Goal], limit: int | None
    ) -> list[Row]:
        """The first ``limit`` (None: every) rows of the unfiltered breakdown of ``span``
        by the goal dimension of ``goals``, ranked as the domain ranks them."""
        if limit is not None and limit <= 0:
            return []
        totals: dict[int, tuple[int, ...]] = {}
        found, _ = await self._days(project_id, span, goals)
        for (index, _), sums in found.items():
            held = totals.get(index, _ZERO)
            totals[index] = tuple(a + b for a, b in zip(held, sums, strict=True))
        rows = sorted(
            (_row(goals[index], sums) for index, sums in totals.items() if sums[0]), key=rank
        )
        return rows if limit is None else rows[:limit]

    async def cell_sizes(
        self, project_id: str, span: Interval, goals: Sequence[Goal]
    ) -> dict[str | None, int]:
        """Per goal with a conversion in ``span``, its most distinct visitors in one day."""
        sizes: dict[str | None, int] = {}
        found, _ = await self._days(project_id, span, goals)
        for (index, _), sums in found.items():
            if sums[0]:
                name = goals[index].name
                sizes[name] = max(sizes.get(name, 0), sums[1])
        return sizes
