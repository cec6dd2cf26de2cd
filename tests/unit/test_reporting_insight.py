"""Breakdowns, filters and the session figures through the reporting use case (memory).

The rules: an unknown dimension, a bad filter or limit is refused precisely; regions and
cities of fewer than ``min_cell_visitors`` visitors are one "(other)" row, and filters see
them as "(other)" too (checked against an independent oracle: the reference computation
over events whose small cells were renamed "(other)"); a filtered stats answer honours
its filters in every number it gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain import activity, insight
from privalytics.domain.anonymity import coarse
from privalytics.domain.dimensions import DIMENSIONS, Scope
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.filters import Filter, Op, parse_filters
from privalytics.domain.geography import OTHER
from privalytics.domain.insight import session_value
from privalytics.domain.models import Action, Event, TimeRange
from privalytics.domain.reporting import MAX_TOP, Reporting
from privalytics.domain.reports import breakdowns
from privalytics.domain.services import Services, build_services
from privalytics.domain.sessions import figures_of, sessionize
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests.strategies import placed_events, placed_filters

DAILY = timedelta(days=1)
EVERYTHING = TimeRange(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2101, 1, 1, tzinfo=UTC))
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def services_on(store: InMemoryEventStore, k: int, clock: ManualClock | None = None) -> Services:
    clock = clock or ManualClock(NOON)
    return build_services(
        **lookups()._asdict(),
        events=store,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        min_cell_visitors=k,
    )


async def project_with(services: Services, store: InMemoryEventStore, events: list[Event]) -> str:
    project_id = (await services.admin.create_project("site")).project.id
    await store.add([msgspec.structs.replace(e, project_id=project_id) for e in events])
    return project_id


def visit(
    visitor: int, at: datetime, *, path: str = "/", city: str | None = None, **f: str
) -> Event:
    return Event(
        project_id="p",
        action=Action.VISIT,
        path=path,
        timestamp=at,
        visitor_hash=f"{visitor:032x}",
        city=city,
        country="DE" if city else None,
        **f,  # type: ignore[arg-type]
    )


# --- a worked example: three cities, k = 2 --------------------------------------------

MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TOWNS = [
    visit(1, MORNING, city="Berlin", source="Google"),
    visit(2, MORNING, city="Berlin"),
    visit(3, MORNING, city="Berlin", path="/a"),
    visit(4, MORNING, city="Smalltown", source="Google"),
    visit(5, MORNING, city="Tinyville", path="/a"),
    visit(5, MORNING + timedelta(minutes=2), city="Tinyville", path="/b"),
]
MARCH_10 = TimeRange(start=datetime(2026, 3, 10, tzinfo=UTC), end=NOON)


@pytest.fixture
async def towns() -> tuple[Reporting, str]:
    store = InMemoryEventStore()
    services = services_on(store, k=2)
    return services.reporting, await project_with(services, store, TOWNS)


async def rows_of(reporting: Reporting, project_id: str, name: str, *filters: str) -> list[object]:
    found = await reporting.breakdown(project_id, MARCH_10, name, filters, limit=MAX_TOP)
    return [(row.value, row.figures.visitors, row.figures.totals.pageviews) for row in found.rows]


async def test_small_cities_are_one_other_row(towns: tuple[Reporting, str]) -> None:
    reporting, project_id = towns
    assert await rows_of(reporting, project_id, "city") == [("Berlin", 3, 3), (OTHER, 2, 3)]
    # Countries are left whole.
    assert await rows_of(reporting, project_id, "country") == [("DE", 5, 6)]


async def test_a_filter_on_a_small_city_selects_nothing_and_other_selects_every_small_one(
    towns: tuple[Reporting, str],
) -> None:
    reporting, project_id = towns
    assert await rows_of(reporting, project_id, "source", "city==Smalltown") == []
    assert await rows_of(reporting, project_id, "source", "city==(other)") == [
        (None, 1, 2),
        ("Google", 1, 1),
    ]
    assert await rows_of(reporting, project_id, "city", "city!=Smalltown") == [
        ("Berlin", 3, 3),
        (OTHER, 2, 3),
    ]
    # "town" is in Smalltown only (a small cell): nothing; "oth" is in "(other)".
    assert await rows_of(reporting, project_id, "page", "city~town") == []
    assert await rows_of(reporting, project_id, "page", "city~OTH") == [
        ("/", 1, 1),
        ("/a", 1, 1),
        ("/b", 1, 1),
    ]
    assert await rows_of(reporting, project_id, "page", "city==Berlin") == [
        ("/", 2, 2),
        ("/a", 1, 1),
    ]


async def test_one_person_on_many_days_is_one_person_not_many_visitors() -> None:
    """A hash stands for one person within one salt window only: the same person from a
    small town on five days is five "visitors" of the month, but one person, and their
    town stays unnamed; five people from the town on one day name it."""
    store = InMemoryEventStore()
    services = services_on(store, k=5)
    events = [visit(n, MORNING + timedelta(days=n), city="Smalltown") for n in range(5)]
    events += [visit(10 + n, MORNING, city="Bigtown") for n in range(5)]
    project_id = await project_with(services, store, events)
    month = TimeRange(start=MORNING - timedelta(days=1), end=MORNING + timedelta(days=6))
    found = await services.reporting.breakdown(project_id, month, "city", limit=10)
    assert [(r.value, r.figures.visitors) for r in found.rows] == [("Bigtown", 5), (OTHER, 5)]
    named = await services.reporting.breakdown(
        project_id, month, "page", ["city==Smalltown"], limit=10
    )
    assert named.rows == []
    other = await services.reporting.breakdown(
        project_id, month, "page", ["city==(other)"], limit=10
    )
    assert [(r.value, r.figures.visitors) for r in other.rows] == [("/", 5)]


async def test_the_other_row_counts_small_rows_beyond_the_limit(
    towns: tuple[Reporting, str],
) -> None:
    reporting, project_id = towns
    found = await reporting.breakdown(project_id, MARCH_10, "city", (), limit=1)
    assert [(row.value, row.figures.visitors) for row in found.rows] == [("Berlin", 3)]
    # Under a filter, the rows are merged by their filtered visitors.
    assert await rows_of(reporting, project_id, "city", "source==Google") == [(OTHER, 2, 2)]


async def test_stats_under_a_filter_count_only_what_it_selects(
    towns: tuple[Reporting, str],
) -> None:
    reporting, project_id = towns
    stats = await reporting.stats(project_id, MARCH_10, filters=["page==/a"])
    assert (stats.visits, stats.pageviews, stats.unique_visitors, stats.sessions) == (2, 2, 2, 2)
    assert stats.actions[Action.VISIT] == 2
    assert [(p.path, p.visits) for p in stats.top_pages] == [("/a", 2)]
    assert sum(b.visits for b in stats.series) == 2
    assert stats.filters == ("page==/a",)
    # Visitor 5's session viewed /a and /b: it did not bounce.
    assert stats.bounce_rate == 50
    assert stats.visit_duration == 60
    whole = await reporting.stats(project_id, MARCH_10)
    assert (whole.visits, whole.sessions, whole.views_per_session) == (6, 5, 1.2)
    assert whole.bounce_rate == 80
    assert whole.previous is not None
    assert whole.previous.sessions == 0
    assert whole.previous.bounce_rate is None


# --- refusals ----------------------------------------------------------------------------


async def test_an_unknown_dimension_is_not_found_listing_the_known_ones(
    towns: tuple[Reporting, str],
) -> None:
    reporting, project_id = towns
    with pytest.raises(NotFound) as caught:
        await reporting.breakdown(project_id, MARCH_10, "colour")
    assert "no dimension 'colour'" in str(caught.value)
    assert all(name in str(caught.value) for name in DIMENSIONS)
    with pytest.raises(NotFound) as hostile:
        await reporting.breakdown(project_id, MARCH_10, "x\x00" * 5000)
    assert "\x00" not in str(hostile.value)
    assert len(str(hostile.value)) < 400


@pytest.mark.parametrize("limit", [0, MAX_TOP + 1, -1])
async def test_a_limit_out_of_bounds_is_refused(towns: tuple[Reporting, str], limit: int) -> None:
    reporting, project_id = towns
    with pytest.raises(InvalidInput) as caught:
        await reporting.breakdown(project_id, MARCH_10, "page", limit=limit)
    assert caught.value.field == "limit"


@pytest.mark.parametrize(
    "bad", ["city", "colour==red", "page==/\x00", "page~", "page==" + "x" * 5000]
)
async def test_a_bad_filter_is_refused_naming_filter(
    towns: tuple[Reporting, str], bad: str
) -> None:
    reporting, project_id = towns
    with pytest.raises(InvalidInput) as caught:
        await reporting.breakdown(project_id, MARCH_10, "page", [bad])
    assert caught.value.field == "filter"
    with pytest.raises(InvalidInput) as on_stats:
        await reporting.stats(project_id, MARCH_10, filters=[bad])
    assert on_stats.value.field == "filter"


async def test_an_unknown_project_is_not_found(towns: tuple[Reporting, str]) -> None:
    reporting, _ = towns
    with pytest.raises(NotFound, match="no project"):
        await reporting.breakdown("0123456789abcdef", MARCH_10, "page")


def test_a_minimum_below_one_is_refused() -> None:
    with pytest.raises(InvalidInput):
        services_on(InMemoryEventStore(), k=0)


# --- properties against the reference computation ----------------------------------------


def _filters(drawn: Sequence[tuple[str, Op, str]]) -> list[str]:
    return [f"{n}{op.value}{v or ('e' if op is Op.CONTAINS else '')}" for n, op, v in drawn]


def oracle_sizes(
    events: list[Event], name: str, filters: Sequence[Filter] = ()
) -> dict[str | None, int]:
    """Per value of a session dimension, the most distinct visitor hashes among the
    sessions ``filters`` select that have it and start on one UTC day (the daily salt
    window): the sessions by their own values, and by a page view on a matching page."""
    hashes: dict[tuple[str | None, object], set[str]] = {}
    pages = [f for f in filters if f.scope is Scope.EVENT]
    for session in sessionize(events):
        if not all(
            f.matches(session_value(DIMENSIONS[f.dimension], session))
            for f in filters
            if f.scope is Scope.SESSION
        ):
            continue
        if pages and not any(all(f.matches(path) for f in pages) for path in session.paths):
            continue
        value = getattr(session.first, name)
        hashes.setdefault((value, session.start.date()), set()).add(session.visitor_hash)
    sizes: dict[str | None, int] = {}
    for (value, _), seen in hashes.items():
        sizes[value] = max(sizes.get(value, 0), len(seen))
    return sizes


def oracle_events(events: list[Event], k: int) -> list[Event]:
    """``events`` with every region and city that fewer than ``k`` visitors share within
    one day of the range (unfiltered) renamed "(other)": what a k-anonymous filter sees."""
    renamed: dict[str, frozenset[str | None]] = {}
    for name in ("region", "city"):
        sizes = oracle_sizes(events, name)
        renamed[name] = frozenset(value for value, size in sizes.items() if size < k)
    return [
        msgspec.structs.replace(
            e, region=coarse(e.region, renamed["region"]), city=coarse(e.city, renamed["city"])
        )
        for e in events
    ]


def oracle_merged(rows: list[insight.Row], sizes: dict[str | None, int], k: int) -> list[object]:
    """``rows`` with the small cells' rows summed into one "(other)" row, placed by its
    visitors after the rows with as many."""
    small = [r for r in rows if sizes.get(r.value, 0) < k or r.value == OTHER]
    kept = [r for r in rows if r not in small]
    if not small:
        return list(kept)
    totals = small[0].figures.totals
    for r in small[1:]:
        totals += r.figures.totals
    visitors = sum(r.figures.visitors for r in small)
    other = insight.Row(value=OTHER, figures=insight.Figures(visitors=visitors, totals=totals))
    place = len([r for r in kept if r.figures.visitors >= visitors])
    return [*kept[:place], other, *kept[place:]]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=placed_events,
    drawn=placed_filters,
    name=st.sampled_from(sorted(DIMENSIONS)),
    k=st.integers(1, 4),
)
async def test_breakdowns_and_figures_equal_the_reference_over_renamed_small_cells(
    events: list[Event], drawn: list[tuple[str, Op, str]], name: str, k: int
) -> None:
    store = InMemoryEventStore()
    services = services_on(store, k)
    project_id = await project_with(services, store, events)
    texts = _filters(drawn)
    parsed = parse_filters(texts)
    seen = oracle_events(events, k)
    dimension = DIMENSIONS[name]
    expected: list[object] = list(insight.breakdown(seen, dimension, parsed, DAILY))
    if dimension.merge_small_cells:
        sizes = oracle_sizes(seen, name, parsed)
        expected = oracle_merged(insight.breakdown(seen, dimension, parsed, DAILY), sizes, k)
    found = await services.reporting.breakdown(project_id, EVERYTHING, name, texts, limit=MAX_TOP)
    assert found.rows == expected[:MAX_TOP]
    if dimension.merge_small_cells:
        assert all(r.value == OTHER or sizes.get(r.value, 0) >= k for r in found.rows)
    stats = await services.reporting.stats(project_id, EVERYTHING, filters=texts)
    figures = insight.figures(seen, parsed, DAILY)
    reported = figures_of(figures.totals)
    assert (stats.visits, stats.unique_visitors) == (reported.pageviews, figures.visitors)
    assert (stats.pageviews, stats.sessions) == (reported.pageviews, reported.sessions)
    assert stats.views_per_session == reported.views_per_session
    assert (stats.bounce_rate, stats.visit_duration) == (
        reported.bounce_rate,
        reported.visit_duration,
    )
    # Every part of the answer honours the filters.
    chosen = activity.selected_events(seen, parsed, DAILY)
    assert stats.actions == activity.count_actions(chosen)
    assert stats.actions[Action.VISIT] == stats.visits == sum(b.visits for b in stats.series)
    # With daily salts the days' visitors add up to the range's, filtered or not.
    assert stats.series_step == "day"
    assert sum(b.unique_visitors for b in stats.series) == stats.unique_visitors


@settings(max_examples=60, deadline=None)
@given(events=placed_events)
async def test_without_filters_the_selected_events_give_the_stores_own_reads(
    events: list[Event],
) -> None:
    """The pure functions that count a filtered answer count as the port's reads do."""
    store = InMemoryEventStore()
    await store.add(events)
    span = EVERYTHING if not events else _day_of(events[0])
    chosen = await store.selected_events("p", span, ())
    assert len(chosen) == sum(span.start <= e.timestamp < span.end for e in events)
    assert activity.breakdowns_of(chosen, span, 3) == await breakdowns(store, "p", span, 3)
    counts = await store.count_by_action("p", span)
    assert activity.count_actions(chosen) == {a: counts.get(a, 0) for a in Action}


def _day_of(event: Event) -> TimeRange:
    start = event.timestamp.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return TimeRange(start=start, end=start + timedelta(days=2))


@settings(max_examples=60, deadline=None)
@given(events=placed_events, drawn=placed_filters)
def test_selected_events_are_exactly_the_selected_sessions_events(
    events: list[Event], drawn: list[tuple[str, Op, str]]
) -> None:
    parsed = [
        Filter(dimension=n, op=op, value=v or ("e" if op is Op.CONTAINS else ""))
        for n, op, v in drawn
    ]
    chosen = activity.selected_events(events, parsed, DAILY)
    # Every selected session's events, and no other, are chosen: their sessions are the
    # selected ones, and their page views the selected page views.
    selected = insight.select(events, parsed, DAILY)
    views = sum(len(item.views) for item in selected)
    assert sum(e.action is Action.VISIT for e in chosen) == views
    pages = [f for f in parsed if f.dimension == "page"]
    if not pages:
        # (Under a page filter only the events on the matching pages are chosen, and a
        # session's bounce and duration are its whole run's: they are not these events'.)
        assert insight.figures(chosen, parsed, DAILY) == insight.figures(events, parsed, DAILY)
        assert len(chosen) == sum(item.session.events for item in selected)


async def test_current_visitors_are_those_of_the_last_five_minutes_filtered_alike() -> None:
    clock = ManualClock(NOON)
    store = InMemoryEventStore()
    services = services_on(store, 1, clock)
    events = [
        visit(1, NOON - timedelta(minutes=6)),
        visit(2, NOON - timedelta(minutes=4), source="Google"),
        # Visitor 3's session began at 11:00 from Google; its later page view has no source.
        visit(3, NOON - timedelta(minutes=60), source="Google"),
        visit(3, NOON - timedelta(minutes=35)),
        visit(3, NOON - timedelta(minutes=10)),
        visit(3, NOON - timedelta(minutes=1)),
        visit(4, NOON + timedelta(seconds=30)),
    ]
    project_id = await project_with(services, store, events)
    span = TimeRange(start=NOON - timedelta(hours=2), end=NOON)
    assert (await services.reporting.stats(project_id, span)).current_visitors == 3
    filtered = await services.reporting.stats(project_id, span, filters=["source==Google"])
    assert filtered.current_visitors == 2
