"""benchmarks/conversions.py and the traffic generator's salt windows: the generated
conversions are events ingestion could have stored, the days stay in time order, and the
benchmark's straight computations agree with the domain's (and tell order apart)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache

from benchmarks.conversions import (
    FUNNEL,
    ROTATION,
    straight_event_counts,
    straight_funnel,
    straight_retention,
    with_conversions,
)
from benchmarks.traffic import generate_events

from privalytics.domain.cohorts import activity, days_of
from privalytics.domain.custom import clean_currency, clean_event_name, clean_props
from privalytics.domain.funnels import funnel_counts
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event, TimeRange

END = datetime(2026, 11, 29, 14, 37, tzinfo=UTC)
PROJECTS = ["big", "small"]


@cache
def days() -> list[list[Event]]:
    plain = generate_events(40_000, PROJECTS, seed=3, days=70, end=END, salt_days=30)
    return list(with_conversions(plain, seed=3, end=END))


def everything() -> list[Event]:
    return [event for day in days() for event in day]


def test_thirty_day_salts_keep_a_hash_within_its_window_only() -> None:
    windows: dict[str, set[int]] = defaultdict(set)
    dates: dict[str, set[date]] = defaultdict(set)
    for event in everything():
        windows[event.visitor_hash].add(window_of(event.timestamp, ROTATION))
        dates[event.visitor_hash].add(event.timestamp.date())
    assert all(len(found) == 1 for found in windows.values())
    # Returning visitors keep their hash on later days of the window.
    assert sum(len(found) > 1 for found in dates.values()) > 100
    daily = [e for day in generate_events(4000, PROJECTS, seed=3, days=10, end=END) for e in day]
    per_day: dict[str, set[date]] = defaultdict(set)
    for event in daily:
        per_day[event.visitor_hash].add(event.timestamp.date())
    assert all(len(found) == 1 for found in per_day.values())


def test_conversions_are_added_in_time_order_inside_their_day_before_the_end() -> None:
    plain = list(generate_events(40_000, PROJECTS, seed=3, days=70, end=END, salt_days=30))
    extended = days()
    assert len(extended) == len(plain)
    for before, after in zip(plain, extended, strict=True):
        assert [e.timestamp for e in after] == sorted(e.timestamp for e in after)
        assert {e.timestamp.date() for e in after} <= {before[0].timestamp.date()}
        assert all(e.timestamp < END for e in after)
        kept = iter(after)
        assert all(any(e == other for other in kept) for e in before)  # a subsequence
    added = sum(map(len, extended)) - sum(map(len, plain))
    assert 0.01 * sum(map(len, plain)) < added < 0.1 * sum(map(len, plain))


def test_the_custom_events_are_ones_ingestion_stores_as_they_are() -> None:
    customs = [e for e in everything() if e.action is Action.CUSTOM]
    names = straight_event_counts(customs)
    assert {"Signup", "Purchase", "Copy command", "Outbound Link: Click"} <= set(names)
    for event in customs:
        assert event.name is not None
        assert clean_event_name(event.name) == event.name
        assert clean_props(event.props) == event.props
        assert event.source is None
        assert event.utm_source is None
        if event.name == "Purchase":
            assert event.currency is not None
            assert clean_currency(event.currency) == event.currency
            assert event.value is not None
            assert event.value > 0
        else:
            assert event.value is None
            assert event.currency is None


def test_the_straight_funnel_equals_the_domains_and_reaches_every_step() -> None:
    events = everything()
    counts = straight_funnel(events, ROTATION)
    assert counts == funnel_counts(events, FUNNEL.steps, ROTATION)
    assert counts[0] > counts[1] > counts[2] > counts[3] > 0


def test_the_straight_funnel_counts_steps_in_order_only() -> None:
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)

    def event(minute: int, path: str, name: str | None = None) -> Event:
        return Event(
            project_id="p",
            action=Action.CUSTOM if name else Action.VISIT,
            path=path,
            name=name,
            timestamp=at + timedelta(minutes=minute),
            visitor_hash="a" * 16,
        )

    # Signup and Purchase before the pricing page: only the first two steps count.
    run = [event(0, "/"), event(1, "/", "Signup"), event(2, "/", "Purchase"), event(3, "/pricing")]
    assert straight_funnel(run, ROTATION) == [1, 1, 0, 0]
    assert straight_funnel(list(reversed(run)), ROTATION) == [1, 1, 0, 0]
    ordered = [event(0, "/"), event(3, "/pricing"), event(4, "/", "Signup")]
    assert straight_funnel([*ordered, event(5, "/", "Purchase")], ROTATION) == [1, 1, 1, 1]


def test_the_straight_retention_equals_the_domains() -> None:
    project = [e for e in everything() if e.project_id == "big"]
    span = TimeRange(start=END - timedelta(days=30), end=END)
    visitors, cohorts = straight_retention(project, days_of(span), ROTATION)
    seen: dict[date, set[str]] = defaultdict(set)
    for event in project:
        seen[event.timestamp.date()].add(event.visitor_hash)
    found = activity(seen, days_of(span), ROTATION)
    assert visitors == [d.visitors for d in found.days]
    assert cohorts == [(c.visitors, c.returning) for c in found.cohorts]
    assert sum(n or 0 for _, returning in cohorts for n in returning) > 50
