"""Reading the numbers: exact figures for a dataset built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.models import (
    Action,
    Bucket,
    ClientInfo,
    IncomingEvent,
    PageStats,
    TimeRange,
)
from privalytics.domain.services import MAX_TOP, PERIODS, Services
from privalytics.testing import ManualClock

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC)


# (visitor, action, path, time): A..D are four visitors; D never visits, only clicks.
DATASET = [
    ("A", Action.VISIT, "/home", at(14, 10)),
    ("A", Action.VISIT, "/pricing", at(13, 5)),
    ("A", Action.CLICK, "/home", at(14, 12)),
    ("B", Action.VISIT, "/home", at(14, 20)),
    ("B", Action.SCROLL, "/home", at(14, 21)),
    ("C", Action.VISIT, "/home", at(3, 0)),
    ("C", Action.VISIT, "/blog", at(3, 10)),
    ("C", Action.DOWNLOAD, "/files", at(3, 15)),
    ("D", Action.CLICK, "/home", at(10, 0)),
]
IPS = {"A": "192.0.2.1", "B": "192.0.2.2", "C": "2001:db8::3", "D": "192.0.2.4"}


@pytest.fixture
def now(clock: ManualClock) -> datetime:
    clock.set(NOW)
    return NOW


async def load(services: Services) -> str:
    """A project holding DATASET, beside another project whose events must not count."""
    created = await services.admin.create_project("site")
    other = await services.admin.create_project("other")
    for visitor, action, path, moment in DATASET:
        event = IncomingEvent(
            action=action,
            path=path,
            timestamp=moment,
            value=50.0 if action is Action.SCROLL else None,
        )
        client = ClientInfo(ip=IPS[visitor], user_agent="same agent")
        await services.ingestion.record(created.token.token, [event], client)
    noise = IncomingEvent(action=Action.VISIT, path="/home")
    await services.ingestion.record(other.token.token, [noise] * 7, ClientInfo(ip="192.0.2.9"))
    return created.project.id


async def test_stats_of_the_last_24_hours_are_exact(services: Services, now: datetime) -> None:
    project_id = await load(services)
    span = services.reporting.span()
    stats = await services.reporting.stats(project_id, span)
    assert stats.range == TimeRange(start=now - 24 * HOUR, end=now)
    assert stats.visits == 5
    # Over every action: D only clicked, and counts.
    assert stats.unique_visitors == 4
    assert stats.actions == {
        Action.CUSTOM: 0,
        Action.VISIT: 5,
        Action.CLICK: 2,
        Action.SCROLL: 1,
        Action.DOWNLOAD: 1,
        Action.SHARE: 0,
    }
    assert stats.top_pages == [
        PageStats(path="/home", visits=3, unique_visitors=3),
        PageStats(path="/blog", visits=1, unique_visitors=1),
        PageStats(path="/pricing", visits=1, unique_visitors=1),
    ]


async def test_top_pages_are_cut_at_the_limit(services: Services, now: datetime) -> None:
    project_id = await load(services)
    span = services.reporting.span()
    top = await services.reporting.stats(project_id, span, top=2)
    assert [p.path for p in top.top_pages] == ["/home", "/blog"]
    one = await services.reporting.stats(project_id, span, top=1)
    assert [p.path for p in one.top_pages] == ["/home"]
    assert len((await services.reporting.stats(project_id, span, top=MAX_TOP)).top_pages) == 3


async def test_recent_has_24_hourly_buckets_ending_at_the_current_hour(
    services: Services, now: datetime
) -> None:
    project_id = await load(services)
    stats = await services.reporting.stats(project_id, services.reporting.span())
    current = at(14, 0)
    expected = {
        current: (2, 2),  # A and B
        at(13, 0): (1, 1),  # A
        at(10, 0): (0, 1),  # D only clicked: a visitor, no visit
        at(3, 0): (2, 1),  # C twice
    }
    assert [b.start for b in stats.recent] == [current - n * HOUR for n in range(23, -1, -1)]
    assert stats.recent == [
        Bucket(start=b.start, visits=v, unique_visitors=u)
        for b in stats.recent
        for v, u in [expected.get(b.start, (0, 0))]
    ]


async def test_recent_does_not_depend_on_the_requested_range(
    services: Services, now: datetime
) -> None:
    project_id = await load(services)
    span = services.reporting.span(start=at(13, 0), end=at(14, 0))
    stats = await services.reporting.stats(project_id, span)
    assert stats.visits == 1
    assert stats.unique_visitors == 1
    assert stats.actions[Action.CLICK] == 0
    assert sum(b.visits for b in stats.recent) == 5


async def test_an_empty_project_has_zeros_everywhere(services: Services, now: datetime) -> None:
    project = (await services.admin.create_project("empty")).project
    stats = await services.reporting.stats(project.id, services.reporting.span(period="7d"))
    assert (stats.visits, stats.unique_visitors, stats.top_pages) == (0, 0, [])
    assert stats.actions == dict.fromkeys(Action, 0)
    assert len(stats.recent) == 24
    assert all(b.visits == b.unique_visitors == 0 for b in stats.recent)


async def test_an_unknown_project_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        await services.reporting.stats("0" * 16, services.reporting.span())


@pytest.mark.parametrize("top", [0, -1, MAX_TOP + 1])
async def test_a_limit_out_of_bounds_is_refused(services: Services, top: int) -> None:
    project = (await services.admin.create_project("site")).project
    with pytest.raises(InvalidInput) as caught:
        await services.reporting.stats(project.id, services.reporting.span(), top=top)
    assert caught.value.field == "limit"


# --- periods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "length"),
    [
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
        ("12m", timedelta(days=365)),
    ],
)
def test_named_periods_end_now(
    services: Services, now: datetime, period: str, length: timedelta
) -> None:
    assert services.reporting.span(period=period) == TimeRange(start=now - length, end=now)
    assert PERIODS[period] == length


def test_the_default_period_is_24_hours(services: Services, now: datetime) -> None:
    assert services.reporting.span() == TimeRange(start=now - 24 * HOUR, end=now)


def test_from_and_to_give_the_range_in_utc(services: Services, now: datetime) -> None:
    east = timezone(timedelta(hours=2))
    span = services.reporting.span(
        start=datetime(2026, 3, 1, 2, 0, tzinfo=east), end=datetime(2026, 3, 2)
    )
    assert span == TimeRange(
        start=datetime(2026, 3, 1, 0, 0, tzinfo=UTC), end=datetime(2026, 3, 2, tzinfo=UTC)
    )
    assert span.start.tzinfo is UTC
    assert span.end.tzinfo is UTC


def test_from_alone_runs_until_now(services: Services, now: datetime) -> None:
    start = now - timedelta(days=3)
    assert services.reporting.span(start=start) == TimeRange(start=start, end=now)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"period": "7d", "start": NOW - HOUR}, "period"),
        ({"period": "7d", "end": NOW}, "period"),
        ({"end": NOW}, "from"),
        ({"start": NOW, "end": NOW - HOUR}, "to"),
        ({"start": NOW, "end": NOW}, "to"),
        ({"start": NOW + HOUR}, "to"),
        ({"period": "1y"}, "period"),
        ({"period": "24H"}, "period"),
    ],
)
def test_bad_ranges_are_refused(
    services: Services, now: datetime, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.reporting.span(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
