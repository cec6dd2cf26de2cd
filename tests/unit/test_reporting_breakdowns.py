"""Reporting's dashboard figures: series steps, previous period, top lists, scroll depth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privalytics.domain.models import (
    Action,
    ClientInfo,
    IncomingEvent,
    Ranked,
    TimeRange,
    TokenKind,
)
from privalytics.domain.reports import previous_range, step_of
from privalytics.domain.services import Services
from privalytics.testing import ManualClock, make_services

NOW = datetime(2026, 1, 10, 12, 30, tzinfo=UTC)


async def _project(services: Services) -> tuple[str, str]:
    created = await services.admin.create_project("Site")
    # A server token: the events below name their visitors.
    server = await services.admin.issue_token(created.project.id, kind=TokenKind.SERVER)
    return created.project.id, server.token


def _visit(at: datetime, ip: str = "192.0.2.1", **fields: object) -> IncomingEvent:
    return IncomingEvent(action=Action.VISIT, path="/", timestamp=at, visitor_ip=ip, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hours", "step"), [(1, "hour"), (24, "hour"), (48, "hour"), (49, "day"), (24 * 30, "day")]
)
def test_ranges_up_to_48_hours_are_drawn_hourly_longer_ones_daily(hours: int, step: str) -> None:
    assert step_of(TimeRange(start=NOW - timedelta(hours=hours), end=NOW))[0] == step


def test_the_previous_period_has_the_same_length_and_ends_where_the_range_starts() -> None:
    span = TimeRange(start=NOW - timedelta(days=7), end=NOW)
    assert previous_range(span) == TimeRange(start=NOW - timedelta(days=14), end=span.start)


async def test_stats_carry_series_previous_period_and_breakdowns() -> None:
    clock = ManualClock(NOW)
    services = make_services(clock)
    project_id, token = await _project(services)
    client = ClientInfo(ip="192.0.2.9")
    await services.ingestion.record(
        token,
        [
            _visit(NOW - timedelta(hours=1), referrer="https://duckduckgo.com/?q=x"),
            _visit(NOW - timedelta(hours=1), ip="192.0.2.2"),
            _visit(NOW - timedelta(minutes=5)),
            IncomingEvent(action=Action.CLICK, path="/", target="Sign up", timestamp=NOW),
            IncomingEvent(action=Action.SCROLL, path="/", value=40, timestamp=NOW),
            IncomingEvent(action=Action.SCROLL, path="/", value=80, timestamp=NOW),
            IncomingEvent(action=Action.SHARE, path="/", target="mastodon", timestamp=NOW),
        ],
        client,
    )
    clock.advance(hours=24, minutes=1)
    await services.ingestion.record(token, [_visit(clock.now() - timedelta(minutes=1))], client)
    stats = await services.reporting.stats(project_id, services.reporting.span(period="24h"))
    assert stats.visits == 1
    assert stats.previous is not None
    # Visitors of any action: .1 and .2 visited, .9 (the client) clicked, scrolled, shared.
    assert (stats.previous.visits, stats.previous.unique_visitors) == (3, 3)
    assert stats.series_step == "hour"
    # The range starts within an hour: a partial hour, 23 whole ones, a partial one.
    assert len(stats.series) == 25
    assert sum(b.visits for b in stats.series) == stats.visits

    week = await services.reporting.stats(project_id, services.reporting.span(period="7d"))
    assert week.series_step == "day"
    assert sum(b.visits for b in week.series) == week.visits == 4
    assert week.top_referrers == [Ranked(name="https://duckduckgo.com/", count=1)]
    assert week.top_targets[Action.CLICK] == [Ranked(name="Sign up", count=1)]
    assert week.top_targets[Action.SHARE] == [Ranked(name="mastodon", count=1)]
    assert week.top_targets[Action.DOWNLOAD] == []
    assert week.average_scroll_depth == pytest.approx(60.0)


@settings(max_examples=30, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=60 * 24 * 29), max_size=40),
    days=st.sampled_from([1, 2, 3, 7, 30]),
)
async def test_the_series_always_adds_up_to_the_ranges_visits(
    offsets: list[int], days: int
) -> None:
    clock = ManualClock(NOW - timedelta(days=30))
    services = make_services(clock)
    project_id, token = await _project(services)
    for minutes in sorted(offsets):
        clock.set(NOW - timedelta(days=30) + timedelta(minutes=minutes))
        await services.ingestion.record(
            token, [_visit(clock.now(), ip=f"192.0.2.{minutes % 7}")], ClientInfo(ip="192.0.2.1")
        )
    clock.set(NOW)
    stats = await services.reporting.stats(
        project_id, services.reporting.span(start=NOW - timedelta(days=days), end=NOW)
    )
    assert sum(b.visits for b in stats.series) == stats.visits
    assert all(b.unique_visitors <= stats.unique_visitors for b in stats.series)
    starts = [b.start for b in stats.series]
    assert starts == sorted(starts)
    assert starts[0] <= stats.range.start < starts[0] + timedelta(days=1)
