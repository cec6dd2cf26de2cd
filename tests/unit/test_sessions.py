"""Sessions: one visitor's runs of events with no gap over 30 minutes, within one UTC day,
whatever order the events arrive in; and the figures reported of them."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import assume, given

from privalytics.domain.models import Action, Event
from privalytics.domain.sessions import (
    PASSIVE_ACTIONS,
    SESSION_GAP,
    Session,
    sessionize,
)
from tests.strategies import (
    boundary_offsets,
    event_mixes,
    joining_gaps,
    reordered_mixes,
    visitor_runs,
)

MICROSECOND = timedelta(microseconds=1)
NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
VISITOR = "0" * 32


def event(
    at: datetime,
    action: Action = Action.VISIT,
    path: str = "/",
    visitor: str = VISITOR,
    project: str = "p",
    referrer: str | None = None,
) -> Event:
    return Event(
        project_id=project,
        action=action,
        path=path,
        timestamp=at,
        visitor_hash=visitor,
        referrer=referrer,
    )


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def members(session: Session, events: list[Event]) -> list[Event]:
    """The events of ``session``'s visitor in its project between its start and its end."""
    return [
        e
        for e in events
        if e.project_id == session.project_id
        and e.visitor_hash == session.visitor_hash
        and session.start <= e.timestamp <= session.end
    ]


def shifted(run: list[Event], by: timedelta) -> list[Event]:
    return [
        Event(
            project_id=e.project_id,
            action=e.action,
            path=e.path,
            timestamp=e.timestamp + by,
            visitor_hash=e.visitor_hash,
            referrer=e.referrer,
            target=e.target,
            value=e.value,
            props=e.props,
        )
        for e in run
    ]


# --- the 30-minute gap and the UTC midnight, exactly ---------------------------------------


def test_a_gap_of_exactly_30_minutes_stays_in_the_session() -> None:
    sessions = sessionize([event(NOON), event(NOON + SESSION_GAP, path="/b")])
    assert len(sessions) == 1
    assert sessions[0].pageviews == 2
    assert sessions[0].duration == 1800.0


def test_a_gap_a_microsecond_over_30_minutes_starts_a_new_session() -> None:
    sessions = sessionize([event(NOON), event(NOON + SESSION_GAP + MICROSECOND, path="/b")])
    assert [(s.entry_page, s.start) for s in sessions] == [
        ("/", NOON),
        ("/b", NOON + SESSION_GAP + MICROSECOND),
    ]


def test_the_gap_is_from_the_previous_event_not_from_the_start() -> None:
    moments = [NOON + k * SESSION_GAP for k in range(5)]
    (session,) = sessionize([event(at) for at in moments])
    assert session.duration == 4 * 1800.0


def test_a_utc_midnight_ends_a_session_even_a_microsecond_apart() -> None:
    midnight = datetime(2026, 3, 5, tzinfo=UTC)
    sessions = sessionize([event(midnight - MICROSECOND), event(midnight, path="/b")])
    assert [s.entry_page for s in sessions] == ["/", "/b"]


def test_the_midnight_is_utcs_whatever_zone_a_timestamp_is_written_in() -> None:
    plus_five = timezone(timedelta(hours=5))
    # 23:50 and 00:10 UTC: 04:50 and 05:10 in UTC+5, the same day there.
    before = datetime(2026, 3, 4, 23, 50, tzinfo=UTC).astimezone(plus_five)
    after = datetime(2026, 3, 5, 0, 10, tzinfo=UTC).astimezone(plus_five)
    assert len(sessionize([event(before), event(after)])) == 2
    # 23:50 and 00:10 in UTC+5: the same UTC day.
    local_night = datetime(2026, 3, 4, 23, 50, tzinfo=plus_five)
    assert len(sessionize([event(local_night), event(local_night + timedelta(minutes=20))])) == 1


def test_visitors_and_projects_are_apart_even_at_the_same_instant() -> None:
    events = [
        event(NOON),
        event(NOON, visitor="1" * 32),
        event(NOON, project="q"),
        event(NOON + timedelta(minutes=1), path="/b"),
    ]
    sessions = sessionize(events)
    assert sorted((s.project_id, s.visitor_hash, s.pageviews) for s in sessions) == [
        ("p", VISITOR, 2),
        ("p", "1" * 32, 1),
        ("q", VISITOR, 1),
    ]


@given(visitor_runs(joining_gaps))
def test_a_run_with_no_gap_over_30_minutes_in_one_utc_day_is_one_session(
    run: list[Event],
) -> None:
    assume(utc_day(run[0].timestamp) == utc_day(run[-1].timestamp))
    (session,) = sessionize(run)
    assert session.events == len(run)
    assert (session.start, session.end) == (run[0].timestamp, run[-1].timestamp)


ONE_VISITORS_RUNS = visitor_runs(joining_gaps, project_id="p", visitor_hash=VISITOR)


@given(ONE_VISITORS_RUNS, ONE_VISITORS_RUNS, boundary_offsets)
def test_two_runs_join_at_exactly_30_minutes_apart_and_split_past_it(
    first: list[Event], second: list[Event], past: timedelta
) -> None:
    # The second run starts 30 minutes and ``past`` after the first run's last event.
    second = shifted(second, first[-1].timestamp + SESSION_GAP + past - second[0].timestamp)
    assume(utc_day(first[0].timestamp) == utc_day(second[-1].timestamp))
    sessions = sessionize(second + first)
    if past:
        assert [s.events for s in sessions] == [len(first), len(second)]
    else:
        assert [s.events for s in sessions] == [len(first) + len(second)]


# --- every event in exactly one session, of one visitor and one day ------------------------


@given(event_mixes())
def test_every_event_is_in_exactly_one_session_of_its_visitor(events: list[Event]) -> None:
    sessions = sessionize(events)
    for e in events:
        assert sum(1 for s in sessions if e in members(s, [e])) == 1
    for s in sessions:
        assert len(members(s, events)) == s.events
    assert sum(s.events for s in sessions) == len(events)


@given(event_mixes())
def test_a_session_never_spans_a_utc_midnight(events: list[Event]) -> None:
    for s in sessionize(events):
        assert utc_day(s.start) == utc_day(s.end)


@given(event_mixes())
def test_sessions_are_the_longest_runs_with_no_gap_over_30_minutes(events: list[Event]) -> None:
    sessions = sessionize(events)
    by_visitor: dict[tuple[str, str], list[Session]] = defaultdict(list)
    for s in sessions:
        moments = sorted(e.timestamp for e in members(s, events))
        assert all(b - a <= SESSION_GAP for a, b in pairwise(moments))
        by_visitor[s.project_id, s.visitor_hash].append(s)
    for visits in by_visitor.values():
        for before, after in pairwise(sorted(visits, key=lambda s: s.start)):
            # Nothing joins them: more than 30 minutes apart, or on two UTC days.
            assert after.start - before.end > SESSION_GAP or utc_day(before.end) != utc_day(
                after.start
            )


@given(event_mixes())
def test_each_utc_days_sessions_come_from_that_days_events_alone(events: list[Event]) -> None:
    days: dict[date, list[Event]] = defaultdict(list)
    for e in events:
        days[utc_day(e.timestamp)].append(e)
    per_day = [s for day_events in days.values() for s in sessionize(day_events)]
    per_day.sort(key=lambda s: (s.start, s.project_id, s.visitor_hash))
    assert sessionize(events) == per_day


# --- arrival order ---------------------------------------------------------------------


@given(reordered_mixes)
def test_the_order_events_arrive_in_never_changes_the_sessions(
    orders: tuple[list[Event], list[Event]],
) -> None:
    one, other = orders
    sessions = sessionize(one)
    assert sessionize(other) == sessions
    assert sessionize(reversed(one)) == sessions
    assert [s.first for s in sessionize(other)] == [s.first for s in sessions]


def test_events_at_the_same_instant_have_one_order_whatever_their_arrival() -> None:
    view = event(NOON, path="/b", referrer="https://x.example/")
    other_view = event(NOON, path="/b", referrer=None)
    click = event(NOON, action=Action.CLICK, path="/a")
    first_view = event(NOON, path="/a")
    orders = (
        [view, other_view, click, first_view],
        [first_view, click, other_view, view],
        [click, view, first_view, other_view],
    )
    found = [(s.first, s.entry_page, s.exit_page) for s in (sessionize(o)[0] for o in orders)]
    # A view before a click; then by path; then by referrer (None before any).
    assert found == [(first_view, "/a", "/b")] * len(orders)


# --- what a session counts ---------------------------------------------------------------


@given(event_mixes())
def test_session_counts_add_up_to_the_events(events: list[Event]) -> None:
    sessions = sessionize(events)
    assert sum(s.pageviews for s in sessions) == sum(e.action is Action.VISIT for e in events)
    assert sum(s.interactive for s in sessions) == sum(
        e.action not in PASSIVE_ACTIONS for e in events
    )


@given(event_mixes())
def test_each_sessions_fields_follow_from_its_events(events: list[Event]) -> None:
    for s in sessionize(events):
        mine = members(s, events)
        visits = [e for e in mine if e.action is Action.VISIT]
        interactions = [
            e
            for e in mine
            if e.action in {Action.CLICK, Action.DOWNLOAD, Action.SHARE, Action.CUSTOM}
        ]
        assert s.pageviews == len(visits)
        assert s.interactive == len(interactions)
        assert s.bounced == (len(visits) == 1 and not interactions)
        assert s.duration == (max(e.timestamp for e in mine) - s.start).total_seconds()
        assert s.first in mine
        assert s.first.timestamp == s.start == min(e.timestamp for e in mine)
        if visits:
            entry = min(e.timestamp for e in visits)
            exit_ = max(e.timestamp for e in visits)
            assert s.entry_page in {e.path for e in visits if e.timestamp == entry}
            assert s.exit_page in {e.path for e in visits if e.timestamp == exit_}
        else:
            assert (s.entry_page, s.exit_page) == (None, None)


@pytest.mark.parametrize(
    ("actions", "bounced"),
    [
        ([Action.VISIT], True),
        ([Action.VISIT, Action.SCROLL, Action.SCROLL], True),
        ([Action.VISIT, Action.CLICK], False),
        ([Action.VISIT, Action.DOWNLOAD], False),
        ([Action.VISIT, Action.SHARE], False),
        ([Action.VISIT, Action.VISIT], False),
        ([Action.CLICK], False),
        ([Action.SCROLL], False),
    ],
)
def test_a_session_bounced_with_one_page_view_and_no_interaction_a_scroll_is_none(
    actions: list[Action], bounced: bool
) -> None:
    (session,) = sessionize(
        [event(NOON + k * timedelta(seconds=10), action) for k, action in enumerate(actions)]
    )
    assert session.bounced is bounced


def test_a_session_without_a_visit_has_no_entry_or_exit_page() -> None:
    (session,) = sessionize([event(NOON, Action.CLICK, "/a"), event(NOON, Action.SCROLL, "/b")])
    assert (session.entry_page, session.exit_page, session.pageviews) == (None, None, 0)


def test_entry_and_exit_pages_are_the_first_and_last_visits() -> None:
    (session,) = sessionize(
        [
            event(NOON, Action.CLICK, "/click"),
            event(NOON + timedelta(minutes=1), path="/in"),
            event(NOON + timedelta(minutes=2), path="/middle"),
            event(NOON + timedelta(minutes=3), path="/out"),
            event(NOON + timedelta(minutes=4), Action.SCROLL, "/scrolled"),
        ]
    )
    assert (session.entry_page, session.exit_page) == ("/in", "/out")
    assert session.first.path == "/click"
    assert (session.pageviews, session.events, session.interactive) == (3, 5, 1)
    assert session.duration == 240.0


def test_no_events_make_no_sessions() -> None:
    assert sessionize([]) == []
