"""The goals' day rows (rollup_goals) on a SQLite file and PostgreSQL: kept by the first
read of a whole, up-to-date day, read back by the next, dropped when the refresh
recomputes the day (a late event) and when the goal goes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace
from sqlalchemy import select, text

from privalytics.adapters.sqlalchemy import BACKGROUND_TIMEOUT, open_stores, tables
from privalytics.adapters.sqlalchemy.goalrollups import WARM_DAYS
from privalytics.domain import insight
from privalytics.domain.goals import Goal, GoalKind, goal_dimension
from privalytics.domain.models import Action, Event, Project, RateLimit, TimeRange, TokenRecord

DAY = datetime(2026, 11, 2, tzinfo=UTC)
SPAN = TimeRange(start=DAY - timedelta(days=1), end=DAY + timedelta(days=2))


def _goal(number: int, kind: GoalKind, **definition: object) -> Goal:
    return Goal(
        id=f"{number:016x}",
        project_id="rg",
        name=f"goal {number}",
        kind=kind,
        created_at=DAY,
        **definition,  # type: ignore[arg-type]
    )


GOALS = (
    _goal(1, GoalKind.PAGE, page="/blog/**"),
    _goal(2, GoalKind.EVENT, event="Signup"),
    _goal(3, GoalKind.SCROLL, page="/blog/*", depth=50),
    _goal(4, GoalKind.PAGE, page="/nowhere"),
)


def _event(minutes: int, visitor: str, action: Action, path: str, **more: object) -> Event:
    return Event(
        project_id="rg",
        action=action,
        path=path,
        timestamp=DAY + timedelta(minutes=minutes),
        visitor_hash=visitor * 16,
        **more,  # type: ignore[arg-type]
    )


EVENTS = [
    _event(0, "1", Action.VISIT, "/blog/a"),
    _event(1, "1", Action.SCROLL, "/blog/a", value=80.0),
    _event(2, "1", Action.VISIT, "/blog/a/b"),
    _event(3, "1", Action.CUSTOM, "/blog/a/b", name="Signup"),
    _event(5, "2", Action.VISIT, "/"),
    _event(6, "2", Action.CUSTOM, "/", name="Signup"),
    _event(7, "2", Action.CUSTOM, "/", name="Signup"),
    _event(90, "2", Action.VISIT, "/blog/c"),
    _event(91, "2", Action.SCROLL, "/blog/c", value=20.0),
]


async def _rows(stores: object, goal_id: str, project_id: str) -> list[tuple[int, ...]]:
    engine = stores.engine  # type: ignore[attr-defined]
    r = tables.rollup_goals.c
    async with engine.connect() as connection:
        found = await connection.execute(
            select(r.day, r.sessions, r.visitors, r.pageviews, r.bounces, r.events)
            .where((r.project_id == project_id) & (r.goal_id == goal_id))
            .order_by(r.day)
        )
        return [tuple(row) for row in found.all()]


async def test_goal_rows_are_kept_read_back_and_dropped(sql_url: str) -> None:
    stores = open_stores(sql_url)
    # A project of its own: the PostgreSQL database is shared.
    project_id = secrets.token_hex(8)
    goals = tuple(replace(goal, project_id=project_id) for goal in GOALS)
    events = [replace(event, project_id=project_id) for event in EVENTS]
    dimension = goal_dimension(goals)
    day = int(DAY.timestamp()) // 86_400
    try:
        await stores.events.add(events)
        await stores.events.refresh(DAY + timedelta(days=1))
        expected = insight.breakdown(events, dimension, (), timedelta(days=1))
        assert [(row.value, row.figures.visitors, row.events) for row in expected] == [
            ("goal 1", 2, 3),
            ("goal 2", 2, 3),
            ("goal 3", 1, 1),
        ]
        assert await _rows(stores, goals[0].id, project_id) == []
        assert await stores.events.breakdown(project_id, SPAN, dimension, (), None) == expected
        # The first read kept the range's whole days, a row of zeros where the goal had
        # no conversion: the blog goal's sessions are visitor 1's (2 views, both on the
        # blog) and visitor 2's second (1 view, a bounce: a scroll is no interaction); the
        # Signup goal's, visitor 1's and visitor 2's first (1 view and its 2 signups). No
        # row for the goal that nothing stored converts.
        nothing = (0, 0, 0, 0, 0)
        assert await _rows(stores, goals[0].id, project_id) == [
            (day - 1, *nothing),
            (day, 2, 2, 3, 1, 3),
            (day + 1, *nothing),
        ]
        assert await _rows(stores, goals[1].id, project_id) == [
            (day - 1, *nothing),
            (day, 2, 2, 3, 0, 3),
            (day + 1, *nothing),
        ]
        assert await _rows(stores, goals[3].id, project_id) == []
        # Read back (a wrong row would show): the same answer, and cell sizes.
        assert await stores.events.breakdown(project_id, SPAN, dimension, (), 2) == expected[:2]
        assert await stores.events.cell_sizes(project_id, SPAN, dimension, ()) == {
            "goal 1": 2,
            "goal 2": 2,
            "goal 3": 1,
        }
        # A late event makes the day stale: read from the events, and its rows go when
        # the refresh recomputes it; the next read keeps them again.
        late = replace(_event(200, "3", Action.VISIT, "/blog/late"), project_id=project_id)
        await stores.events.add([late])
        expected = insight.breakdown([*events, late], dimension, (), timedelta(days=1))
        assert await stores.events.breakdown(project_id, SPAN, dimension, (), None) == expected
        await stores.events.refresh(DAY + timedelta(days=1))
        assert [row[0] for row in await _rows(stores, goals[0].id, project_id)] == [
            day - 1,
            day + 1,
        ]
        assert await stores.events.breakdown(project_id, SPAN, dimension, (), None) == expected
        assert (day, 3, 3, 4, 2, 4) in await _rows(stores, goals[0].id, project_id)
        # A goal's rows go with it.
        await stores.goals.delete_goal(project_id, goals[0].id)
        assert await _rows(stores, goals[0].id, project_id) == []
        assert await _rows(stores, goals[1].id, project_id) != []
    finally:
        await stores.dispose()


async def test_the_refresh_warms_a_stored_goals_history_a_month_per_call(sql_url: str) -> None:
    """Without any read, each refresh computes and keeps the goal rows of at most a month
    of past days per project (the newest first), until the project's first day."""
    stores = open_stores(sql_url)
    project_id = secrets.token_hex(8)
    goal = replace(GOALS[1], project_id=project_id, id=secrets.token_hex(8))
    first = replace(EVENTS[0], project_id=project_id, timestamp=DAY - timedelta(days=40))
    events = [replace(e, project_id=project_id) for e in EVENTS]
    try:
        project = Project(
            id=project_id,
            name=project_id,
            rate_limit=RateLimit(events=10, period_seconds=60),
            created_at=DAY,
        )
        token = TokenRecord(
            id=f"t{project_id}", project_id=project_id, secret_hash=b"x", created_at=DAY
        )
        await stores.tokens.add_project(project, token)
        assert await stores.goals.add_goal(goal, 100)
        await stores.events.add([first, *events])
        await stores.events.refresh(DAY + timedelta(days=3))
        day = int(DAY.timestamp()) // 86_400

        async def kept() -> list[int]:
            r = tables.rollup_goals.c
            async with stores.engine.connect() as connection:
                found = await connection.execute(
                    select(r.day).where((r.project_id == project_id) & (r.goal_id == goal.id))
                )
                return sorted(found.scalars())

        assert await kept() == list(range(day + 3 - WARM_DAYS, day + 3))
        await stores.events.refresh(DAY + timedelta(days=3))
        assert await kept() == list(range(day - 40, day + 3))
        expected = insight.breakdown(events, goal_dimension((goal,)), (), timedelta(days=1))
        span = TimeRange(start=DAY - timedelta(days=45), end=DAY + timedelta(days=3))
        assert (
            await stores.events.breakdown(project_id, span, goal_dimension((goal,)), (), None)
            == expected
        )
    finally:
        await stores.dispose()


@pytest.mark.postgres
async def test_the_refresh_has_a_statement_bound_of_its_own_on_postgresql(
    postgres_url: str,
) -> None:
    """A day of a busy site takes the refresh longer than a request may take: on
    PostgreSQL the refresh and the goals' warming run on an engine whose statements may
    last BACKGROUND_TIMEOUT, and a request's keep the configured bound."""
    stores = open_stores(postgres_url, statement_timeout=2.0)
    show = text("SHOW statement_timeout")
    try:
        async with stores.engine.connect() as connection:
            assert await connection.scalar(show) == "2s"
        for engine in (stores.events._refresher.engine, stores.events._warmer.engine):
            assert engine is not stores.engine
            async with engine.connect() as connection:
                assert await connection.scalar(show) == f"{round(BACKGROUND_TIMEOUT / 60)}min"
    finally:
        await stores.dispose()
