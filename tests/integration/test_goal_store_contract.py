"""The GoalStore contract over memory, SQLite and PostgreSQL, and goal figures read
through a SQL event store, held to the reference computation."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privalytics.adapters.memory import InMemoryEventStore, InMemoryGoalStore, InMemoryTokenStore
from privalytics.adapters.sqlalchemy import SqlStores, open_stores
from privalytics.domain.conversions import goal_figures
from privalytics.domain.filters import Op, parse_filter
from privalytics.domain.goals import Goal, GoalKind
from privalytics.domain.models import Action, Event, Project, RateLimit, TimeRange, TokenRecord
from privalytics.domain.ports import GoalStore, TokenStore
from privalytics.domain.reporting import Reporting
from privalytics.testing import ManualClock
from tests import strategies
from tests.integration.conftest import ALL_BACKENDS, SQL_BACKENDS, _migrated_url

NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAILY = timedelta(days=1)


@dataclass(frozen=True)
class Stores:
    tokens: TokenStore
    goals: GoalStore
    sql: SqlStores | None = None


async def _with_project(tokens: TokenStore, project_id: str) -> None:
    project = Project(
        id=project_id,
        name=project_id,
        rate_limit=RateLimit(events=10, period_seconds=60),
        created_at=NOON,
    )
    token = TokenRecord(
        id=f"t{project_id}", project_id=project_id, secret_hash=b"x", created_at=NOON
    )
    await tokens.add_project(project, token)


@pytest.fixture(params=ALL_BACKENDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "memory":
        made = Stores(InMemoryTokenStore(), InMemoryGoalStore())
        await _with_project(made.tokens, "p")
        await _with_project(made.tokens, "q")
        yield made
        return
    sql = open_stores(await _migrated_url(request.param, request, tmp_path))
    await _with_project(sql.tokens, "p")
    await _with_project(sql.tokens, "q")
    yield Stores(sql.tokens, sql.goals, sql)
    await sql.dispose()


def goal(name: str, number: int, project_id: str = "p", **fields: object) -> Goal:
    values: dict[str, object] = {"kind": GoalKind.PAGE, "page": "/", **fields}
    return Goal(
        id=f"{number:016x}",
        project_id=project_id,
        name=name,
        created_at=NOON + timedelta(seconds=number),
        **values,  # type: ignore[arg-type]
    )


async def test_goals_are_kept_listed_oldest_first_and_deleted(stores: Stores) -> None:
    store = stores.goals
    scroll = goal("Deep", 2, kind=GoalKind.SCROLL, page="/blog/**", depth=75)
    signup = goal("Signup", 1, kind=GoalKind.EVENT, page=None, event="Signup")
    home = goal("Home", 3)
    for made in (scroll, signup, home):
        assert await store.add_goal(made, 100)
    assert await store.list_goals("p") == [signup, scroll, home]
    assert await store.list_goals("q") == []
    assert await store.delete_goal("q", signup.id) is None
    assert await store.delete_goal("p", signup.id) == signup
    assert await store.delete_goal("p", signup.id) is None
    assert await store.list_goals("p") == [scroll, home]
    assert await store.delete_project_goals("p") == 2
    assert await store.list_goals("p") == []


async def test_a_name_is_unique_per_project_and_the_limit_holds(stores: Stores) -> None:
    store = stores.goals
    assert await store.add_goal(goal("A", 1), 2)
    assert not await store.add_goal(goal("A", 2), 2)
    assert await store.add_goal(goal("A", 3, project_id="q"), 2)
    assert await store.add_goal(goal("B", 4), 2)
    assert not await store.add_goal(goal("C", 5), 2)
    assert [g.name for g in await store.list_goals("p")] == ["A", "B"]


async def test_adds_at_once_never_pass_the_limit_or_share_a_name(stores: Stores) -> None:
    store = stores.goals
    same = await asyncio.gather(*(store.add_goal(goal("Same", n), 100) for n in range(8)))
    assert sum(same) == 1
    many = await asyncio.gather(*(store.add_goal(goal(f"G{n}", 10 + n), 5) for n in range(12)))
    assert sum(many) == 4
    assert len(await store.list_goals("p")) == 5


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_deleting_a_project_deletes_its_goals_in_sql(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    sql = open_stores(await _migrated_url(backend, request, tmp_path))
    try:
        await _with_project(sql.tokens, "p")
        assert await sql.goals.add_goal(goal("A", 1), 100)
        assert await sql.tokens.delete_project("p")
        assert await sql.goals.list_goals("p") == []
        # A goal of a project that does not exist is refused.
        assert not await sql.goals.add_goal(goal("A", 2), 100)
    finally:
        await sql.dispose()


def _event(visitor: int, minutes: int, action: Action, path: str = "/", **fields: object) -> Event:
    return Event(
        project_id="p",
        action=action,
        path=path,
        timestamp=NOON + timedelta(minutes=minutes),
        visitor_hash=f"{visitor:016x}",
        **fields,  # type: ignore[arg-type]
    )


EVENTS = [
    *(_event(n, n, Action.VISIT, country="DE" if n % 2 else "FR") for n in range(6)),
    _event(0, 1, Action.VISIT, "/pricing"),
    _event(1, 2, Action.VISIT, "/pricing"),
    _event(1, 3, Action.CUSTOM, name="Signup", value=12.5, currency="EUR"),
    _event(2, 3, Action.CUSTOM, name="Signup", value=3.0, currency="USD"),
    _event(2, 4, Action.CUSTOM, name="Signup"),
    _event(3, 5, Action.SCROLL, "/blog/a", value=90.0),
    _event(4, 5, Action.SCROLL, "/blog/a/b", value=30.0),
    # Another day: another session, another salt window.
    _event(1, 60 * 24, Action.VISIT, "/pricing"),
    _event(1, 60 * 24 + 1, Action.CUSTOM, name="Signup", value=1.0, currency="EUR"),
]
GOALS = (
    goal("Pricing", 1, page="/pricing"),
    goal("Signup", 2, kind=GoalKind.EVENT, page=None, event="Signup"),
    goal("Deep", 3, kind=GoalKind.SCROLL, page="/blog/**", depth=75),
    goal("Any", 4, page="/**"),
)
EVERYTHING = TimeRange(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2101, 1, 1, tzinfo=UTC))
SPAN = TimeRange(start=NOON - timedelta(hours=1), end=NOON + timedelta(days=2))


@pytest.mark.parametrize("filters", [(), ("goal==Signup",), ("country==DE",), ("page==/pricing",)])
async def test_goal_figures_over_every_store_equal_the_reference(
    stores: Stores, filters: tuple[str, ...]
) -> None:
    events = InMemoryEventStore() if stores.sql is None else stores.sql.events
    await events.add(EVENTS)
    for made in GOALS:
        assert await stores.goals.add_goal(made, 100)
    if stores.sql is not None:
        # Rolled-up days answer the unfiltered figures: the goals read the events.
        await stores.sql.events.refresh(NOON + timedelta(days=3))
    reporting = Reporting(
        events=events, tokens=stores.tokens, clock=ManualClock(NOON), goals=stores.goals
    )
    found = await reporting.goal_report("p", SPAN, filters)
    resolved = [msgspec.structs.replace(parse_filter(f), goals=GOALS) for f in filters]
    expected = goal_figures(EVENTS, GOALS, resolved, DAILY)
    assert found.goals == expected
    assert found.filters == filters
    breakdown = await reporting.breakdown("p", SPAN, "goal", filters)
    assert {row.value: row.events for row in breakdown.rows} == {
        f.goal.name: f.conversions for f in expected if f.conversions
    }


GOAL_FOUND = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@GOAL_FOUND
@given(
    events=strategies.storable_events,
    goals=strategies.goal_sets(),
    drawn=strategies.placed_filters,
    pick=st.integers(min_value=0, max_value=5),
)
def test_goal_reads_over_a_sql_store_answer_as_over_memory(
    sql_url: str,
    events: list[Event],
    goals: tuple[Goal, ...],
    drawn: list[tuple[str, Op, str]],
    pick: int,
) -> None:
    """The goal report and the breakdown by goal, under drawn filters and a goal filter,
    over a SQL event store (rolled up or not) and over the in-memory one."""
    filters = [f"{n}{op.value}{v or ('e' if op is Op.CONTAINS else '')}" for n, op, v in drawn]
    if goals:
        filters.append(f"goal=={goals[pick % len(goals)].name}")

    async def scenario() -> None:
        sql = open_stores(sql_url)
        try:
            # A fresh project per example: the database is shared by the examples.
            project_id = secrets.token_hex(8)
            tokens = InMemoryTokenStore()
            await _with_project(tokens, project_id)
            book = InMemoryGoalStore()
            for made in goals:
                assert await book.add_goal(
                    msgspec.structs.replace(made, project_id=project_id), 100
                )
            answers = []
            for store in (sql.events, InMemoryEventStore()):
                await store.add([msgspec.structs.replace(e, project_id=project_id) for e in events])
                # Closed days rolled up: the unfiltered visitors come from the rollups.
                await store.refresh(EVERYTHING.end)
                reporting = Reporting(
                    events=store, tokens=tokens, clock=ManualClock(NOON), goals=book
                )
                report = await reporting.goal_report(project_id, EVERYTHING, filters)
                rows = (await reporting.breakdown(project_id, EVERYTHING, "goal", filters)).rows
                unfiltered = await reporting.goal_report(project_id, EVERYTHING)
                answers.append((report, rows, unfiltered))
            assert answers[0] == answers[1]
        finally:
            await sql.dispose()

    asyncio.run(scenario())
