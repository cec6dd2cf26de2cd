"""Active visitors and cohorts (domain/cohorts.py) against a brute-force reference written
from the definitions, straight over the events: every figure within one salt window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from privalytics.domain.cohorts import (
    SETTING,
    Tally,
    activity,
    days_of,
    read_span,
    reason,
)
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event, TimeRange

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Around a few salt windows of every length, epoch-aligned or not.
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _event(moment: datetime, visitor: str) -> Event:
    return Event(
        project_id="p",
        action=Action.VISIT,
        path="/",
        timestamp=moment,
        visitor_hash=visitor,
    )


events = st.lists(
    st.builds(
        _event,
        st.integers(min_value=-40 * 24, max_value=70 * 24).map(
            lambda hours: BASE + timedelta(hours=hours, minutes=7)
        ),
        st.sampled_from(["a", "b", "c", "d", "e"]),
    ),
    max_size=80,
)
rotations = st.sampled_from([1, 2, 3, 7, 10, 30]).map(lambda days: timedelta(days=days))
spans = st.tuples(st.integers(0, 40 * 24), st.integers(1, 45 * 24)).map(
    lambda pair: TimeRange(
        start=BASE + timedelta(hours=pair[0]),
        end=BASE + timedelta(hours=pair[0] + pair[1]),
    )
)


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _window(day: date, rotation: timedelta) -> int:
    return window_of(datetime(day.year, day.month, day.day, tzinfo=UTC), rotation)


def _active(evs: list[Event], days: set[date]) -> int:
    return len({e.visitor_hash for e in evs if _day(e.timestamp) in days})


def _reference(evs: list[Event], span: TimeRange, rotation: timedelta) -> dict[str, object]:
    days = days_of(span)
    wau: list[int | None] = []
    mau: list[int | None] = []
    for day in days:
        for length, out in ((7, wau), (30, mau)):
            stretch = {day - timedelta(days=n) for n in range(length)}
            one_window = len({_window(d, rotation) for d in stretch}) == 1
            out.append(_active(evs, stretch) if one_window else None)
    cohorts = []
    for day in days:
        # First seen in the window: an event on the day, none earlier in its window.
        new = {
            e.visitor_hash
            for e in evs
            if _day(e.timestamp) == day
            and not any(
                _day(o.timestamp) < day
                and _window(_day(o.timestamp), rotation) == _window(day, rotation)
                and o.visitor_hash == e.visitor_hash
                for o in evs
            )
        }
        returning: list[int | None] = []
        for k in range(1, rotation.days):
            later = day + timedelta(days=k)
            if later > days[-1] or _window(later, rotation) != _window(day, rotation):
                returning.append(None)
            else:
                returning.append(
                    len({e.visitor_hash for e in evs if _day(e.timestamp) == later} & new)
                )
        cohorts.append((day, len(new), returning))
    return {
        "dau": [_active(evs, {day}) for day in days],
        "wau": wau if rotation.days >= 7 else [None] * len(days),
        "mau": mau if rotation.days >= 30 else [None] * len(days),
        "cohorts": cohorts if rotation.days >= 2 else [],
    }


@settings(max_examples=150, deadline=None)
@given(events, spans, rotations)
def test_every_figure_equals_the_reference_within_salt_windows(
    evs: list[Event], span: TimeRange, rotation: timedelta
) -> None:
    read = read_span(span, rotation)
    tally = Tally()
    tally.add(e for e in evs if read.start <= e.timestamp < read.end)
    found = activity(tally.seen, days_of(span), rotation)
    expected = _reference(evs, span, rotation)
    assert [row.visitors for row in found.days] == expected["dau"]
    assert [row.wau for row in found.days] == expected["wau"]
    assert [row.mau for row in found.days] == expected["mau"]
    assert [(c.day, c.visitors, c.returning) for c in found.cohorts] == expected["cohorts"]


@settings(max_examples=50, deadline=None)
@given(events, spans, rotations, st.integers(1, 7))
def test_batches_and_order_do_not_change_the_tally(
    evs: list[Event], span: TimeRange, rotation: timedelta, parts: int
) -> None:
    whole = Tally()
    whole.add(evs)
    split = Tally()
    for n in range(parts):
        split.add(reversed(evs[n::parts]))
    assert whole.seen == split.seen


def test_read_span_starts_at_the_salt_window_of_the_first_day() -> None:
    span = TimeRange(start=BASE + timedelta(hours=30), end=BASE + timedelta(days=3))
    read = read_span(span, timedelta(days=7))
    assert read.end == BASE + timedelta(days=3)
    assert read.start <= BASE + timedelta(days=1)
    assert window_of(read.start, timedelta(days=7)) == window_of(
        BASE + timedelta(days=1), timedelta(days=7)
    )
    assert (read.start - EPOCH) % timedelta(days=7) == timedelta(0)


def test_daily_salts_say_why_and_name_the_setting_and_its_cost() -> None:
    evs = [_event(BASE + timedelta(days=d, hours=1), "a") for d in range(40)]
    tally = Tally()
    tally.add(evs)
    span = TimeRange(start=BASE + timedelta(days=31), end=BASE + timedelta(days=40))
    found = activity(tally.seen, days_of(span), timedelta(days=1))
    assert not found.available
    assert not found.wau_available
    assert not found.mau_available
    assert found.cohorts == []
    assert all(row.wau is None and row.mau is None for row in found.days)
    # The daily figure is shown, never a sum of it named MAU.
    assert [row.visitors for row in found.days] == [1] * 9
    assert found.active.mau is None
    assert found.active.stickiness is None
    assert found.reason is not None
    assert SETTING in found.reason
    assert "docs/privacy.md" in found.reason
    assert "cannot be measured" in found.reason


def test_thirty_day_salts_give_mau_and_stickiness_on_a_window_s_last_day() -> None:
    rotation = timedelta(days=30)
    start = EPOCH + window_of(BASE, rotation) * rotation
    # "a" every day, "b" on the first day only.
    evs = [_event(start + timedelta(days=d, hours=2), "a") for d in range(30)]
    evs.append(_event(start + timedelta(hours=3), "b"))
    tally = Tally()
    tally.add(evs)
    span = TimeRange(start=start, end=start + timedelta(days=30))
    found = activity(tally.seen, days_of(span), rotation)
    assert found.available
    assert found.wau_available
    assert found.mau_available
    assert reason(rotation) is None
    assert [row.mau for row in found.days] == [None] * 29 + [2]
    assert found.active.mau == 2
    # Mean DAU (31 visitor-days / 30) over a MAU of 2.
    assert found.active.stickiness == round(31 / 30 / 2, 4)
    assert found.cohorts[0].visitors == 2
    assert found.cohorts[0].returning == [1] * 29
    assert found.cohorts[1].visitors == 0
