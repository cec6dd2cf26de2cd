"""benchmarks/traffic.py, the benchmarks' traffic: the same seed gives the same events, the
sessions the domain finds in them are the ones the generator meant (counted by
:func:`~privalytics.domain.sessions.sessionize`, not by the generator), their figures are
those of a real site, and every stored value is one that ingestion could have stored."""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache

import msgspec
import pytest
from benchmarks import traffic_values
from benchmarks.traffic import Summary, generate_events, shape_summary

from privalytics.adapters.agents import MAX_NAME, MAX_VERSION
from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.devices import Device
from privalytics.domain.geography import location
from privalytics.domain.models import Action, Event
from privalytics.domain.sessions import SESSION_GAP, Session, sessionize
from privalytics.domain.sources import MAX_CAMPAIGN_VALUE, Campaign, Source, source_of
from privalytics.domain.validation import (
    MAX_TARGET,
    reduce_path,
    reduce_referrer,
    reduce_target,
    scroll_depth,
)

END = datetime(2026, 11, 29, 14, 37, tzinfo=UTC)
PROJECTS = ["big", "small"]
HEX16 = re.compile(r"[0-9a-f]{16}")


@cache
def generated(
    total: int = 30_000, seed: int = 0, days: int = 10, end: datetime = END
) -> tuple[list[list[Event]], Summary]:
    summary = Summary()
    chunks = list(generate_events(total, PROJECTS, seed=seed, days=days, end=end, summary=summary))
    return chunks, summary


@cache
def sessions() -> list[Session]:
    chunks, _ = generated()
    return [session for events in chunks for session in sessionize(events)]


def test_the_same_seed_gives_the_same_events_and_another_seed_others() -> None:
    first, _ = generated(3000, seed=7)
    again = list(generate_events(3000, PROJECTS, seed=7, days=10, end=END))
    other = list(generate_events(3000, PROJECTS, seed=8, days=10, end=END))
    assert msgspec.json.encode(again) == msgspec.json.encode(first)
    assert msgspec.json.encode(other) != msgspec.json.encode(first)


@pytest.mark.parametrize(
    ("total", "days", "end"),
    [
        (30_000, 10, END),
        (1, 1, END),
        (0, 3, END),
        (500, 3, datetime(2026, 11, 29, tzinfo=UTC)),  # midnight: the last day is the 28th
        (500, 2, datetime(2026, 11, 29, 0, 0, 1, tzinfo=UTC)),  # a second of the last day
    ],
)
def test_exactly_the_events_asked_for_one_chunk_per_day_in_time_order_before_the_end(
    total: int, days: int, end: datetime
) -> None:
    chunks, summary = generated(total, days=days, end=end)
    assert len(chunks) == days
    assert sum(map(len, chunks)) == summary.events == total
    last_day = (end - timedelta(microseconds=1)).date()
    for back, events in enumerate(reversed(chunks)):
        assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
        assert {e.timestamp.date() for e in events} <= {last_day - timedelta(days=back)}
        assert all(e.timestamp < end and e.timestamp.tzinfo is UTC for e in events)
    counts = Counter(e.project_id for events in chunks for e in events)
    if total >= 1000:  # the second project has a tenth of the first one's traffic
        assert counts["small"] == pytest.approx(counts["big"] / 10, rel=0.01)


@pytest.mark.parametrize(
    ("total", "seed", "days", "end"),
    [
        (30_000, 0, 10, END),
        (3000, 7, 10, END),
        (500, 3, 2, datetime(2026, 11, 29, 0, 0, 1, tzinfo=UTC)),
    ],
)
def test_the_sessions_the_domain_finds_are_the_ones_the_generator_made(
    total: int, seed: int, days: int, end: datetime
) -> None:
    """Sessions, bounces, direct and campaign sessions, page views, visitors and every
    dimension's distinct values, as sessionize and the dimensions' definitions find them."""
    chunks, made = generated(total, seed=seed, days=days, end=end)
    found = shape_summary(chunks)
    assert found.counts() == made.counts()
    assert found.values == made.values


def test_the_figures_are_those_of_a_real_site() -> None:
    _, made = generated()
    assert 0.40 <= made.bounces / made.sessions <= 0.60
    assert 0.30 <= made.direct / made.sessions <= 0.45
    assert 0.01 <= made.campaigns / made.sessions <= 0.08
    assert 0.55 <= made.pageviews / made.events <= 0.75
    durations = [s.duration for s in sessions() if not s.bounced]
    # Most sessions last a few minutes; none reaches the gap that would end it twice over.
    assert 30 <= statistics.median(durations) <= 10 * 60
    counts = made.counts()
    assert counts["distinct country"] >= 150
    assert counts["distinct city"] >= 1000
    assert counts["distinct page"] >= 300
    assert counts["distinct source"] >= 300


def test_some_visitors_come_back_the_same_day_after_more_than_half_an_hour() -> None:
    """With the same hash that day; on another day, everyone has another hash."""
    chunks, _ = generated()
    days = [{e.visitor_hash for e in events} for events in chunks]
    assert sum(map(len, days)) == len(set().union(*days))
    by_visitor: dict[tuple[str, str], list[Session]] = defaultdict(list)
    for session in sessions():
        by_visitor[session.project_id, session.visitor_hash].append(session)
    returning = [visits for visits in by_visitor.values() if len(visits) > 1]
    assert len(returning) >= len(by_visitor) // 20
    for visits in returning:
        for before, after in itertools.pairwise(visits):
            assert after.start - before.end > SESSION_GAP


def test_only_a_sessions_first_page_view_says_where_it_came_from() -> None:
    """The rest come from the site itself: ingestion derives no source for them. Every
    event of a session has the same browser, system, device and place."""
    person = ("browser", "browser_version", "os", "os_version", "device", "country", "region")
    for session in sessions():
        first, events = session.first, session_events(session)
        assert first.action is Action.VISIT
        for event in events[1:]:
            assert event.source is event.referrer is event.utm_source is event.utm_term is None
            assert event.utm_medium is event.utm_campaign is event.utm_content is None
        for field in (*person, "city"):
            assert {getattr(event, field) for event in events} == {getattr(first, field)}


def session_events(session: Session) -> list[Event]:
    day = _by_visitor(session.start.date())
    return [
        e
        for e in day[session.project_id, session.visitor_hash]
        if session.start <= e.timestamp <= session.end
    ]


@cache
def _by_visitor(day: object) -> dict[tuple[str, str], list[Event]]:
    chunks, _ = generated()
    found: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for events in chunks:
        for event in events:
            if event.timestamp.date() == day:
                found[event.project_id, event.visitor_hash].append(event)
    return found


@cache
def _namer() -> PublicSuffixSourceNamer:
    return PublicSuffixSourceNamer()


def test_every_value_is_one_ingestion_could_have_stored() -> None:
    chunks, _ = generated()
    devices = {device.value for device in Device}
    countries = set(traffic_values.COUNTRIES)
    for events in chunks:
        for e in events:
            assert HEX16.fullmatch(e.visitor_hash)
            assert reduce_path(e.path) == e.path
            assert e.device is None or e.device in devices
            for name in (e.browser, e.os):
                assert name is None or 0 < len(name) <= MAX_NAME
            for version in (e.browser_version, e.os_version):
                assert version is None or 0 < len(version) <= MAX_VERSION
            assert e.country is None or e.country in countries
            if e.region is not None:
                country, _, subdivision = e.region.partition("-")
                assert location(country=country, subdivision=subdivision).region == e.region
                assert country == e.country
            assert location(city=e.city).city == e.city
            if e.action is Action.SCROLL:
                assert e.value is not None
                assert scroll_depth(e.value) == e.value
                assert e.target is None
            elif e.action is Action.VISIT:
                assert e.target is e.value is None
            else:
                assert e.target is not None
                assert len(e.target) <= MAX_TARGET
                assert reduce_target(e.target) == e.target
            assert_derivable_source(e)


def assert_derivable_source(e: Event) -> None:
    """The source is what the domain derives from the referrer and the campaign."""
    if e.referrer is not None:
        assert reduce_referrer(e.referrer) == e.referrer
    campaign = Campaign(
        utm_source=e.utm_source,
        utm_medium=e.utm_medium,
        utm_campaign=e.utm_campaign,
        utm_term=e.utm_term,
        utm_content=e.utm_content,
    )
    for tag in msgspec.structs.astuple(campaign):
        assert tag is None or 0 < len(tag) <= MAX_CAMPAIGN_VALUE
    derived = source_of(e.referrer, campaign, frozenset({"example.com"}), _namer())
    assert derived == Source(source=e.source, referrer=e.referrer)


def test_browsers_and_systems_go_together() -> None:
    """Safari on Apple systems only, Samsung Internet on Android, phones run phone
    systems; a browser's version moves with its releases."""
    pairs = {(s.first.browser, s.first.os) for s in sessions()}
    assert {os for browser, os in pairs if browser == "Safari"} <= {"iOS", "Mac OS X"}
    assert {os for browser, os in pairs if browser == "Samsung Internet"} == {"Android"}
    phones = {s.first.os for s in sessions() if s.first.device == Device.MOBILE}
    assert phones <= {"iOS", "Android", None}
    early = list(generate_events(2000, ["p"], days=1, end=datetime(2025, 1, 2, tzinfo=UTC)))
    late = list(generate_events(2000, ["p"], days=1, end=datetime(2026, 1, 2, tzinfo=UTC)))

    def newest_chrome(chunks: list[list[Event]]) -> int:
        return max(int(e.browser_version or 0) for c in chunks for e in c if e.browser == "Chrome")

    assert newest_chrome(late) - newest_chrome(early) == 13  # every four weeks
