"""The insight reads (figures, breakdown, selected_events) on every store equal the
reference computation over the same events, and SQLite answers as PostgreSQL does.

Random located visitors' sessions (across the 30-minute gap and UTC midnight), every
dimension, random filters (the "is one of" filters k-anonymity makes included), ranges
that cut sessions. The events are generated as the SQL stores keep them
(``tests.strategies.storable_events``: milliseconds; every derived field since the compact
storage of migration 0006).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from msgspec.structs import replace
from sqlalchemy import func, select

from privalytics.adapters.memory import InMemoryEventStore, InMemoryTokenStore
from privalytics.adapters.sqlalchemy import migrate, open_stores, tables
from privalytics.adapters.sqlalchemy.events import SqlAlchemyEventStore
from privalytics.adapters.sqlalchemy.rollups import RollupReader
from privalytics.domain import activity, insight
from privalytics.domain.dimensions import DIMENSIONS, Dimension, Scope, dimension
from privalytics.domain.filters import Filter, Op, parse_filters
from privalytics.domain.goals import Goal, goal_dimension
from privalytics.domain.models import Event, Project, RateLimit, TimeRange
from privalytics.domain.ports import EventStore
from privalytics.domain.reporting import Reporting
from privalytics.domain.rollups import DAY_MS
from privalytics.testing import ManualClock
from tests import strategies
from tests.integration.conftest import sqlite_url

DAILY = timedelta(days=1)
WEEKLY = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVERYTHING = TimeRange(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2101, 1, 1, tzinfo=UTC))
FOUND = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _dimensions() -> list[Dimension]:
    """Every dimension, and custom-event properties the events hold (``prop:KEY``)."""
    made = [dimension(name) for name in strategies.CUSTOM_DIMENSIONS]
    return [*DIMENSIONS.values(), *(d for d in made if d is not None)]


def filters_of(drawn: Sequence[tuple[str, Op, str]]) -> tuple[Filter, ...]:
    written = parse_filters(
        [f"{n}{op.value}{v or ('e' if op is Op.CONTAINS else '')}" for n, op, v in drawn]
    )
    # What k-anonymity makes of a filter on a city: "is one of".
    among = Filter(dimension="city", op=Op.ONE_OF, value="", values=frozenset({None, "Berlin"}))
    return (*written, among) if len(written) % 2 else written


def spans_of(events: list[Event]) -> list[TimeRange]:
    """Everything, and a range from the middle of the first event's hour that cuts its
    sessions."""
    if not events:
        return [EVERYTHING]
    first = min(e.timestamp for e in events).astimezone(UTC)
    start = first.replace(minute=30, second=0, microsecond=0)
    return [EVERYTHING, TimeRange(start=start, end=start + timedelta(hours=26))]


def _key(event: Event) -> tuple[object, ...]:
    return (event.timestamp, event.visitor_hash, event.action, event.path, repr(event))


async def answers(
    store: EventStore, project_id: str, span: TimeRange, filters: tuple[Filter, ...]
) -> dict[str, object]:
    """Every insight read of ``store``, events as a multiset (ordered by a key)."""
    found: dict[str, object] = {
        "figures": await store.figures(project_id, span, filters),
        "events": sorted(
            (
                replace(e, timestamp=e.timestamp.astimezone(UTC))
                for e in await store.selected_events(project_id, span, filters)
            ),
            key=_key,
        ),
    }
    for chosen in _dimensions():
        name = chosen.name
        found[name] = await store.breakdown(project_id, span, chosen, filters, None)
        found[f"{name}/2"] = await store.breakdown(project_id, span, chosen, filters, 2)
    return found


def reference(
    events: list[Event], span: TimeRange, filters: tuple[Filter, ...]
) -> dict[str, object]:
    inside = [e for e in events if span.start <= e.timestamp < span.end]
    expected: dict[str, object] = {
        "figures": insight.figures(inside, filters, DAILY),
        "events": sorted(
            (
                replace(e, timestamp=e.timestamp.astimezone(UTC))
                for e in activity.selected_events(inside, filters, DAILY)
            ),
            key=_key,
        ),
    }
    for chosen in _dimensions():
        rows = insight.breakdown(inside, chosen, filters, DAILY)
        expected[chosen.name] = rows
        expected[f"{chosen.name}/2"] = rows[:2]
    return expected


@FOUND
@given(events=strategies.storable_events, drawn=strategies.placed_filters)
def test_every_store_answers_as_the_reference_computation(
    sql_url: str, events: list[Event], drawn: list[tuple[str, Op, str]]
) -> None:
    # A fresh project per example: the database is shared by the examples.
    project_id = secrets.token_hex(8)
    mine = [replace(e, project_id=project_id) for e in events]
    filters = filters_of(drawn)

    async def scenario() -> None:
        stores = open_stores(sql_url)
        memory = InMemoryEventStore()
        try:
            await stores.events.add(mine)
            await memory.add(mine)
            for span in spans_of(mine):
                for chosen in ((), filters):
                    expected = reference(mine, span, chosen)
                    assert await answers(memory, project_id, span, chosen) == expected
                    assert await answers(stores.events, project_id, span, chosen) == expected
        finally:
            await stores.dispose()

    asyncio.run(scenario())


def _moment(millis: int) -> datetime:
    return EPOCH + timedelta(milliseconds=millis)


@settings(FOUND, max_examples=25)
@given(history=strategies.rolled_histories())
def test_unfiltered_figures_over_rollups_and_events_equal_the_reference(
    sql_url: str, history: tuple[list[list[Event]], list[int | None], list[tuple[int, int]]]
) -> None:
    """After refreshes (some days rolled up, some stale, some made stale again by later
    events), unfiltered figures over ranges that cut days and sessions equal the reference
    over the range's events, under daily salts and weekly ones (whose distinct visitors
    do not add up over days)."""
    batches, refreshes, ranges = history
    # A fresh project per example: the database is shared by the examples.
    project_id = secrets.token_hex(8)

    async def scenario() -> None:
        stores = open_stores(sql_url)
        weekly = SqlAlchemyEventStore(stores.engine, RollupReader(stores.engine, WEEKLY))
        try:
            stored: list[Event] = []
            for batch, refresh in zip(batches, refreshes, strict=True):
                mine = [replace(e, project_id=project_id) for e in batch]
                await stores.events.add(mine)
                stored.extend(mine)
                if refresh is not None:
                    await stores.events.refresh(_moment(refresh * DAY_MS))
            for start, end in ranges:
                span = TimeRange(start=_moment(start), end=_moment(end))
                inside = [e for e in stored if span.start <= e.timestamp < span.end]
                for store, window in ((stores.events, DAILY), (weekly, WEEKLY)):
                    expected = insight.figures(inside, (), window)
                    assert await store.figures(project_id, span, ()) == expected, (span, window)
        finally:
            await weekly.aclose()
            await stores.dispose()

    asyncio.run(scenario())


@FOUND
@given(events=strategies.storable_events, drawn=strategies.placed_filters)
def test_reporting_over_a_sql_store_answers_as_over_memory(
    sql_url: str, events: list[Event], drawn: list[tuple[str, Op, str]]
) -> None:
    """The whole use case (filtered stats with their series, actions and top lists; the
    k-anonymous breakdowns) over a SQL store and over the in-memory one."""
    filters = [str(f) for f in filters_of(drawn) if f.op is not Op.ONE_OF]
    span = spans_of(events)[-1]

    async def scenario() -> None:
        stores = open_stores(sql_url)
        try:
            answers = []
            # A fresh project per example: the database is shared by the examples.
            project_id = secrets.token_hex(8)
            tokens = InMemoryTokenStore()
            tokens.projects[project_id] = Project(
                id=project_id,
                name="site",
                rate_limit=RateLimit(events=10, period_seconds=60),
                created_at=span.start,
            )
            for store in (stores.events, InMemoryEventStore()):
                await store.add([replace(e, project_id=project_id) for e in events])
                clock = ManualClock(span.end)
                reporting = Reporting(events=store, tokens=tokens, clock=clock, min_cell_visitors=2)
                stats = await reporting.stats(project_id, span, filters=filters)
                rows = [
                    (await reporting.breakdown(project_id, span, name, filters)).rows
                    for name in DIMENSIONS
                ]
                answers.append((stats, rows))
            assert answers[0] == answers[1]
        finally:
            await stores.dispose()

    asyncio.run(scenario())


@pytest.mark.postgres
@FOUND
@given(events=strategies.storable_events, drawn=strategies.placed_filters)
def test_sqlite_answers_as_postgresql(
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    events: list[Event],
    drawn: list[tuple[str, Op, str]],
) -> None:
    project_id = secrets.token_hex(8)
    mine = [replace(e, project_id=project_id) for e in events]
    filters = filters_of(drawn)
    folder: Path = tmp_path_factory.mktemp("sqlite")

    async def scenario() -> None:
        await migrate(sqlite_url(folder))
        lite, postgres = open_stores(sqlite_url(folder)), open_stores(postgres_url)
        try:
            await lite.events.add(mine)
            await postgres.events.add(mine)
            for span in spans_of(mine):
                got = await answers(lite.events, project_id, span, filters)
                assert got == await answers(postgres.events, project_id, span, filters)
        finally:
            await lite.dispose()
            await postgres.dispose()

    asyncio.run(scenario())


@settings(FOUND, max_examples=12)
@given(history=strategies.segmented_histories, drawn=strategies.placed_filters)
def test_filtered_reads_over_segments_and_events_equal_the_reference(
    sql_url: str,
    history: tuple[list[list[Event]], list[int | None], list[tuple[int, int]]],
    drawn: list[tuple[str, Op, str]],
) -> None:
    """After refreshes (closed days segmented and rolled up, some made stale again by later
    events), filtered figures, every breakdown (every row, and the first two) and every
    cell size over ranges that cut days and sessions equal the reference over the range's
    events: unfiltered whole days from the dimension rollups, filtered ones from their
    segments, the rest from the events. Under weekly salts (visitors span days) the
    events alone."""
    batches, refreshes, ranges = history
    project_id = secrets.token_hex(8)
    filters = filters_of(drawn)

    async def scenario() -> None:
        stores = open_stores(sql_url)
        weekly = SqlAlchemyEventStore(stores.engine, RollupReader(stores.engine, WEEKLY))
        try:
            stored: list[Event] = []
            for batch, refresh in zip(batches, refreshes, strict=True):
                mine = [replace(e, project_id=project_id) for e in batch]
                await stores.events.add(mine)
                stored.extend(mine)
                if refresh is not None:
                    await stores.events.refresh(_moment(refresh * DAY_MS))
            for start, end in ranges:
                span = TimeRange(start=_moment(start), end=_moment(end))
                inside = [e for e in stored if span.start <= e.timestamp < span.end]
                for store, window in ((stores.events, DAILY), (weekly, WEEKLY)):
                    for chosen in ((), filters):
                        if chosen:
                            expected = insight.figures(inside, chosen, window)
                            found = await store.figures(project_id, span, chosen)
                            assert found == expected, (span, window, chosen)
                        for dimension in DIMENSIONS.values():
                            rows = insight.breakdown(inside, dimension, chosen, window)
                            got = await store.breakdown(project_id, span, dimension, chosen, None)
                            assert got == rows, (span, window, dimension.name, chosen)
                            two = await store.breakdown(project_id, span, dimension, chosen, 2)
                            assert two == rows[:2], (span, window, dimension.name, chosen)
                            sizes = insight.cell_sizes(inside, dimension, chosen, window)
                            assert (
                                await store.cell_sizes(project_id, span, dimension, chosen) == sizes
                            ), (span, window, dimension.name, chosen)
        finally:
            await weekly.aclose()
            await stores.dispose()

    asyncio.run(scenario())


def test_every_dimension_has_a_stored_code_of_its_own() -> None:
    """rollup_dimensions keys rows by these codes: one per dimension, none shared; a
    custom event's name has one, a goal none (its reads take the events)."""
    codes = tables.DIMENSION_CODES
    assert set(codes) == {n for n, d in DIMENSIONS.items() if d.scope is not Scope.GOAL}
    assert DIMENSIONS["event"].scope is Scope.CUSTOM
    assert len(set(codes.values())) == len(codes)
    assert all(code > 0 for code in codes.values())


@settings(FOUND, max_examples=20)
@given(history=strategies.segmented_histories, goals=strategies.goal_sets())
def test_goal_breakdowns_over_goal_rollups_and_events_equal_the_reference(
    sql_url: str,
    history: tuple[list[list[Event]], list[int | None], list[tuple[int, int]]],
    goals: tuple[Goal, ...],
) -> None:
    """After refreshes (some days rolled up, some stale, some made stale again by later
    events), the unfiltered breakdown by goal and its cell sizes equal the reference over
    the range's events: whole up-to-date days from the goals' day rows (computed and kept
    by the first read, so each range is read twice), the rest from the events. A goal's
    rows go with it."""
    batches, refreshes, ranges = history
    project_id = secrets.token_hex(8)
    mine = tuple(replace(goal, project_id=project_id) for goal in goals)
    resolved = goal_dimension(mine)

    async def scenario() -> None:
        stores = open_stores(sql_url)
        try:
            stored: list[Event] = []
            for batch, refresh in zip(batches, refreshes, strict=True):
                added = [replace(e, project_id=project_id) for e in batch]
                await stores.events.add(added)
                stored.extend(added)
                if refresh is not None:
                    await stores.events.refresh(_moment(refresh * DAY_MS))
                for start, end in ranges:
                    span = TimeRange(start=_moment(start), end=_moment(end))
                    inside = [e for e in stored if span.start <= e.timestamp < span.end]
                    rows = insight.breakdown(inside, resolved, (), DAILY)
                    sizes = insight.cell_sizes(inside, resolved, (), DAILY)
                    for _ in range(2):
                        got = await stores.events.breakdown(project_id, span, resolved, (), None)
                        assert got == rows, (span, refresh)
                        two = await stores.events.breakdown(project_id, span, resolved, (), 2)
                        assert two == rows[:2], (span, refresh)
                        found = await stores.events.cell_sizes(project_id, span, resolved, ())
                        assert found == sizes, (span, refresh)
            async with stores.engine.connect() as connection:
                kept = await connection.execute(
                    select(tables.rollup_goals.c.goal_id)
                    .where(tables.rollup_goals.c.project_id == project_id)
                    .distinct()
                )
                assert set(kept.scalars()) <= {goal.id for goal in mine}
            for goal in mine:
                await stores.goals.delete_goal(project_id, goal.id)
            async with stores.engine.connect() as connection:
                left = await connection.scalar(
                    select(func.count())
                    .select_from(tables.rollup_goals)
                    .where(tables.rollup_goals.c.project_id == project_id)
                )
            assert left == 0
        finally:
            await stores.dispose()

    asyncio.run(scenario())
