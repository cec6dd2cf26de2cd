"""The FunnelStore contract over memory, SQLite and PostgreSQL, and funnel reports read
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

from privalytics.adapters.memory import InMemoryEventStore, InMemoryFunnelStore, InMemoryTokenStore
from privalytics.adapters.sqlalchemy import SqlStores, open_stores
from privalytics.domain.activity import selected_events
from privalytics.domain.filters import Op, parse_filters
from privalytics.domain.funnels import Funnel, Step, funnel_counts
from privalytics.domain.models import Action, Event, Project, RateLimit, TimeRange, TokenRecord
from privalytics.domain.ports import FunnelStore, TokenStore
from privalytics.domain.reporting import Reporting
from privalytics.testing import ManualClock
from tests import strategies
from tests.integration.conftest import ALL_BACKENDS, SQL_BACKENDS, _migrated_url

NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAILY = timedelta(days=1)


@dataclass(frozen=True)
class Stores:
    tokens: TokenStore
    funnels: FunnelStore
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
        made = Stores(InMemoryTokenStore(), InMemoryFunnelStore())
        await _with_project(made.tokens, "p")
        await _with_project(made.tokens, "q")
        yield made
        return
    sql = open_stores(await _migrated_url(request.param, request, tmp_path))
    await _with_project(sql.tokens, "p")
    await _with_project(sql.tokens, "q")
    yield Stores(sql.tokens, sql.funnels, sql)
    await sql.dispose()


STEPS = (Step(page="/pricing"), Step(event="Signup"), Step(page="/welcome/**"))


def funnel(
    name: str, number: int, project_id: str = "p", steps: tuple[Step, ...] = STEPS
) -> Funnel:
    return Funnel(
        id=f"{number:016x}",
        project_id=project_id,
        name=name,
        steps=steps,
        created_at=NOON + timedelta(seconds=number),
    )


async def test_funnels_are_kept_whole_listed_oldest_first_and_deleted(stores: Stores) -> None:
    store = stores.funnels
    # Every kind of step, and text a JSON column must keep as it is.
    odd = funnel('Ünïcode "quoted" → ok', 2, steps=(Step(page="/a/*/b"), Step(event="日本")))
    first = funnel("First", 1)
    last = funnel("Last", 3, steps=tuple(Step(page=f"/{n}") for n in range(8)))
    for made in (odd, first, last):
        assert await store.add_funnel(made, 50)
    assert await store.list_funnels("p") == [first, odd, last]
    assert await store.list_funnels("q") == []
    assert await store.get_funnel("p", odd.id) == odd
    assert await store.get_funnel("q", odd.id) is None
    assert await store.delete_funnel("q", first.id) is None
    assert await store.delete_funnel("p", first.id) == first
    assert await store.delete_funnel("p", first.id) is None
    assert await store.get_funnel("p", first.id) is None
    assert await store.list_funnels("p") == [odd, last]
    assert await store.delete_project_funnels("p") == 2
    assert await store.list_funnels("p") == []


async def test_a_name_is_unique_per_project_and_the_limit_holds(stores: Stores) -> None:
    store = stores.funnels
    assert await store.add_funnel(funnel("A", 1), 2)
    assert not await store.add_funnel(funnel("A", 2), 2)
    assert await store.add_funnel(funnel("A", 3, project_id="q"), 2)
    assert await store.add_funnel(funnel("B", 4), 2)
    assert not await store.add_funnel(funnel("C", 5), 2)
    assert [f.name for f in await store.list_funnels("p")] == ["A", "B"]


async def test_adds_at_once_never_pass_the_limit_or_share_a_name(stores: Stores) -> None:
    store = stores.funnels
    same = await asyncio.gather(*(store.add_funnel(funnel("Same", n), 50) for n in range(8)))
    assert sum(same) == 1
    many = await asyncio.gather(*(store.add_funnel(funnel(f"F{n}", 10 + n), 5) for n in range(12)))
    assert sum(many) == 4
    assert len(await store.list_funnels("p")) == 5


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_deleting_a_project_deletes_its_funnels_in_sql(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    sql = open_stores(await _migrated_url(backend, request, tmp_path))
    try:
        await _with_project(sql.tokens, "p")
        assert await sql.funnels.add_funnel(funnel("A", 1), 50)
        assert await sql.tokens.delete_project("p")
        assert await sql.funnels.list_funnels("p") == []
        # A funnel of a project that does not exist is refused.
        assert not await sql.funnels.add_funnel(funnel("A", 2), 50)
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
    *(_event(n, n, Action.VISIT, "/pricing", country="DE" if n % 2 else "FR") for n in range(5)),
    *(_event(n, 10, Action.CUSTOM, name="Signup") for n in range(4)),
    _event(0, 20, Action.VISIT, "/welcome/a"),
    _event(1, 20, Action.VISIT, "/welcome/b/c"),
    # Before its signup: does not count for the third step.
    _event(2, 5, Action.VISIT, "/welcome/a"),
    # At the same instant as its signup: a page view comes before a custom event in the
    # domain's order of events, so this one is before the signup: no third step.
    _event(3, 10, Action.VISIT, "/welcome/a"),
    # Another day: another salt window, another visitor, who signs up only.
    _event(0, 60 * 24, Action.CUSTOM, name="Signup"),
    _event(0, 60 * 24 + 1, Action.VISIT, "/welcome/a"),
]
SPAN = TimeRange(start=NOON - timedelta(hours=1), end=NOON + timedelta(days=2))


@pytest.mark.parametrize("filters", [(), ("country==DE",), ("page==/pricing",), ("event==Signup",)])
async def test_funnel_reports_over_every_store_equal_the_reference(
    stores: Stores, filters: tuple[str, ...]
) -> None:
    events = InMemoryEventStore() if stores.sql is None else stores.sql.events
    await events.add(EVENTS)
    made = funnel("Signup", 1)
    assert await stores.funnels.add_funnel(made, 50)
    if stores.sql is not None:
        # Rolled-up days answer unfiltered reads elsewhere: a funnel reads the events.
        await stores.sql.events.refresh(NOON + timedelta(days=3))
    reporting = Reporting(
        events=events, tokens=stores.tokens, clock=ManualClock(NOON), funnels=stores.funnels
    )
    found = await reporting.funnel_report("p", made.id, SPAN, filters)
    chosen = selected_events(EVENTS, parse_filters(filters), DAILY)
    assert [s.visitors for s in found.steps] == funnel_counts(chosen, STEPS, DAILY)
    assert found.filters == filters
    assert found.funnel == made
    if not filters:
        assert [s.visitors for s in found.steps] == [5, 4, 2]


EVERYTHING = TimeRange(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2101, 1, 1, tzinfo=UTC))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=strategies.storable_events,
    steps=strategies.funnel_steps,
    drawn=strategies.placed_filters,
)
def test_funnel_reports_over_a_sql_store_answer_as_over_memory(
    sql_url: str, events: list[Event], steps: tuple[Step, ...], drawn: list[tuple[str, Op, str]]
) -> None:
    """A funnel's report under drawn filters over a SQL event store (rolled up) and over
    the in-memory one."""
    filters = [f"{n}{op.value}{v or ('e' if op is Op.CONTAINS else '')}" for n, op, v in drawn]

    async def scenario() -> None:
        sql = open_stores(sql_url)
        try:
            # A fresh project per example: the database is shared by the examples.
            project_id = secrets.token_hex(8)
            tokens = InMemoryTokenStore()
            await _with_project(tokens, project_id)
            book = InMemoryFunnelStore()
            made = funnel("F", 1, project_id=project_id, steps=steps)
            assert await book.add_funnel(made, 50)
            answers = []
            for store in (sql.events, InMemoryEventStore()):
                await store.add([msgspec.structs.replace(e, project_id=project_id) for e in events])
                await store.refresh(EVERYTHING.end)
                reporting = Reporting(
                    events=store, tokens=tokens, clock=ManualClock(NOON), funnels=book
                )
                # Unfiltered (the SQL store reads the events that do a step) and filtered.
                answers.append(
                    [
                        await reporting.funnel_report(project_id, made.id, EVERYTHING, chosen)
                        for chosen in ([], filters)
                    ]
                )
            assert answers[0] == answers[1]
        finally:
            await sql.dispose()

    asyncio.run(scenario())


async def test_custom_events_at_one_instant_are_ordered_in_full(sql_url: str) -> None:
    """Two custom events of one visitor at the same millisecond, on the same page, of
    different names: the domain orders them by their referrer before their name, and a
    funnel read from the events that do a step orders them alike (both orders are
    drawn: the steps in one order, then the other)."""
    project_id = secrets.token_hex(8)
    at = NOON + timedelta(minutes=5)

    def custom(name: str, referrer: str) -> Event:
        return Event(
            project_id=project_id,
            action=Action.CUSTOM,
            path="/",
            timestamp=at,
            visitor_hash="a" * 16,
            name=name,
            referrer=referrer,
        )

    # "Zeta" sorts after "Alpha" by name, but its referrer sorts first: Zeta, then Alpha.
    events = [custom("Alpha", "https://b.example/"), custom("Zeta", "https://a.example/")]
    sql = open_stores(sql_url)
    try:
        await sql.events.add(events)
        for steps, expected in (
            ((Step(event="Zeta"), Step(event="Alpha")), [1, 1]),
            ((Step(event="Alpha"), Step(event="Zeta")), [1, 0]),
        ):
            assert funnel_counts(events, steps, DAILY) == expected
            found = await sql.events.funnel_counts(project_id, SPAN, steps, ())
            assert found == expected, steps
    finally:
        await sql.dispose()
