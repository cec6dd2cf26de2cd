"""The EventStore contract, continued: the dashboard's breakdowns (rankings, averages,
series of any step, the latest events), over memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from privalytics.domain.models import Action, Bucket, Ranked, TimeRange
from privalytics.domain.ports import EventStore
from privalytics.domain.reports import REFERRERS, TARGETS
from tests.integration.test_event_store_contract import event

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = TimeRange(start=NOON - timedelta(hours=12), end=NOON + timedelta(hours=12))
HOUR = timedelta(hours=1)


async def test_nothing_stored_means_empty_breakdowns(event_store: EventStore) -> None:
    assert await event_store.top_referrers("p1", DAY, 10) == []
    assert await event_store.top_targets("p1", DAY, Action.CLICK, 10) == []
    assert await event_store.average_value("p1", DAY, Action.SCROLL) is None
    assert await event_store.series("p1", DAY, DAY.start, HOUR) == []


async def test_referrers_rank_visits_by_count_then_text(event_store: EventStore) -> None:
    await event_store.add(
        [
            event(referrer="https://b.example/"),
            event(referrer="https://b.example/"),
            event(referrer="https://a.example/"),
            event(referrer="https://Z.example/"),
            event(),
            event(action=Action.CLICK, referrer="https://c.example/", target="x"),
            event(referrer="https://b.example/", project="p2"),
            event(referrer="https://b.example/", at=DAY.end),
        ]
    )
    assert await event_store.top_referrers("p1", DAY, 10) == [
        Ranked(name="https://b.example/", count=2),
        Ranked(name="https://Z.example/", count=1),
        Ranked(name="https://a.example/", count=1),
    ]
    assert len(await event_store.top_referrers("p1", DAY, 1)) == 1


async def test_targets_are_ranked_per_action(event_store: EventStore) -> None:
    await event_store.add(
        [
            event(action=Action.CLICK, target="Sign up"),
            event(action=Action.CLICK, target="Sign up"),
            event(action=Action.CLICK, target="/pricing"),
            event(action=Action.DOWNLOAD, target="/guide.pdf"),
            event(action=Action.SHARE, target="mastodon"),
            event(action=Action.CLICK),
        ]
    )
    assert await event_store.top_targets("p1", DAY, Action.CLICK, 10) == [
        Ranked(name="Sign up", count=2),
        Ranked(name="/pricing", count=1),
    ]
    assert await event_store.top_targets("p1", DAY, Action.DOWNLOAD, 10) == [
        Ranked(name="/guide.pdf", count=1)
    ]
    assert await event_store.top_targets("p1", DAY, Action.SHARE, 10) == [
        Ranked(name="mastodon", count=1)
    ]


async def test_top_lists_count_what_the_domains_rankings_count_before_and_after_rollups(
    event_store: EventStore,
) -> None:
    """One definition (domain/reports.py: REFERRERS, TARGETS) for the events read raw, the
    rollups and the in-memory store: blank names and other actions are left out."""
    sent = [
        event(referrer="https://a.example/"),
        event(referrer=""),
        event(action=Action.CLICK, referrer="https://other-action.example/", target="Buy"),
        event(action=Action.CLICK, target=""),
        event(action=Action.DOWNLOAD, target="Buy"),
        event(target="a visit's target"),
    ]
    await event_store.add(sent)
    expected_referrers = Counter(name for e in sent if (name := REFERRERS.name_in(e)) is not None)
    expected_clicks = Counter(
        name for e in sent if (name := TARGETS.name_in(e, Action.CLICK)) is not None
    )
    assert expected_referrers == {"https://a.example/": 1}
    assert expected_clicks == {"Buy": 1}
    for _ in ("raw", "rollups"):
        referrers = await event_store.top_referrers("p1", DAY, 10)
        clicks = await event_store.top_targets("p1", DAY, Action.CLICK, 10)
        assert {r.name: r.count for r in referrers} == expected_referrers
        assert {r.name: r.count for r in clicks} == expected_clicks
        await event_store.refresh(DAY.end + timedelta(days=2))


async def test_average_value_counts_only_events_with_a_value(event_store: EventStore) -> None:
    await event_store.add(
        [
            event(action=Action.SCROLL, value=25.0),
            event(action=Action.SCROLL, value=100.0),
            event(action=Action.SCROLL),
            event(action=Action.SCROLL, value=0.0, project="p2"),
        ]
    )
    assert await event_store.average_value("p1", DAY, Action.SCROLL) == pytest.approx(62.5)


@pytest.mark.parametrize("step", [HOUR, timedelta(days=1)])
async def test_series_counts_visits_and_visitors_per_step_from_the_origin(
    event_store: EventStore, step: timedelta
) -> None:
    origin = datetime(2026, 3, 1, tzinfo=UTC)
    span = TimeRange(start=origin + timedelta(minutes=30), end=origin + 3 * step)
    await event_store.add(
        [
            event(at=origin + timedelta(minutes=10)),  # before the span
            event(at=origin + timedelta(minutes=40), visitor="a"),
            event(at=origin + timedelta(minutes=50), visitor="a"),
            event(at=origin + 2 * step, visitor="b"),
            event(at=origin + 2 * step + timedelta(minutes=1), visitor="c"),
            event(at=origin + 2 * step, action=Action.CLICK, target="x"),
        ]
    )
    # The click's visitor ("a") is a visitor of that step too: visitors of any event.
    assert await event_store.series("p1", span, origin, step) == [
        Bucket(start=origin, visits=2, unique_visitors=1),
        Bucket(start=origin + 2 * step, visits=2, unique_visitors=3),
    ]


async def test_a_ranges_unique_visitors_are_the_sum_of_its_daily_points(
    event_store: EventStore,
) -> None:
    """One definition (docs/privacy.md): a unique visitor is a distinct visitor hash with
    any event in a salt window (daily here), so the 7-day tile equals the sum of the
    chart's days, whether the days are read from rollups or from events."""
    midnight = datetime(2026, 3, 1, tzinfo=UTC)
    day = timedelta(days=1)
    await event_store.add(
        [
            event(at=midnight + timedelta(hours=9), visitor="a"),
            event(at=midnight + timedelta(hours=10), visitor="a", action=Action.CLICK, target="x"),
            event(at=midnight + timedelta(hours=11), visitor="b", action=Action.SCROLL, value=50),
            event(at=midnight + day + timedelta(hours=1), visitor="a"),
            event(at=midnight + day + timedelta(hours=2), visitor="c", action=Action.SHARE),
            event(at=midnight + 3 * day + timedelta(hours=5), visitor="d"),
        ]
    )
    await event_store.refresh(midnight + 3 * day + timedelta(hours=6))  # days 0-2 rolled up
    span = TimeRange(start=midnight, end=midnight + 3 * day + timedelta(hours=6))
    points = await event_store.series("p1", span, midnight, day)
    assert points == [
        Bucket(start=midnight, visits=1, unique_visitors=2),
        Bucket(start=midnight + day, visits=1, unique_visitors=2),
        Bucket(start=midnight + 3 * day, visits=1, unique_visitors=1),
    ]
    assert sum(p.unique_visitors for p in points) == await event_store.unique_visitors("p1", span)


async def test_latest_gives_the_newest_events_first(event_store: EventStore) -> None:
    await event_store.add(
        [
            event(at=NOON - HOUR, path="/old"),
            event(at=NOON, path="/new", referrer="https://r.example/"),
            event(at=NOON - 2 * HOUR, path="/older"),
            event(at=NOON, path="/other", project="p2"),
            event(at=DAY.end, path="/outside"),
        ]
    )
    latest = await event_store.latest("p1", DAY, 2)
    assert [e.path for e in latest] == ["/new", "/old"]
    assert latest[0].referrer == "https://r.example/"
    assert await event_store.latest("p1", DAY, 0) == []
