"""Active visitors and cohort retention, within what the salt windows allow.

A visitor hash names one visitor within one salt window only (:mod:`hashing`): the salt
changes at the window's end and the old one is deleted, so nobody can tell whether the
visitor of one window came back in the next. Every figure here is therefore counted
inside one salt window, and a figure whose days cross a window's edge is not given at all
(None), never estimated. Salt windows are whole UTC days aligned on the epoch, so a UTC
day always lies in one window, and:

- daily active visitors (DAU) are exact under any rotation;
- weekly active visitors (WAU, the 7 days ending on a day) exist only for days whose 7
  days lie in one window: never with a rotation under 7 days;
- monthly active visitors (MAU, the 30 days ending on a day) need a 30-day rotation, and
  then exist only on the last day of each window;
- a cohort (visitors first seen in their window on day d) can be followed on day d+k only
  while d+k is in the same window: with daily salts not at all.

"First seen" means first seen in the salt window, which may start before the range asked
for: the store is read from the start of the window holding the range's first day
(:func:`read_span`), so a visitor of the day before the range is not counted as new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta

import msgspec

from privalytics.domain.hashing import window_of
from privalytics.domain.models import Event, TimeRange

DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WEEK_DAYS = 7
MONTH_DAYS = 30
SETTING = "PRIVALYTICS_SALT_ROTATION"
DOCS = "docs/privacy.md"
_COST = (
    f"A longer {SETTING} (7d, 30d) makes these figures exact within each salt window, at a "
    "privacy cost: a visitor can then be followed for that long, and the salt that could "
    f"link their visits is kept that long ({DOCS})."
)


class DayActivity(msgspec.Struct, frozen=True, kw_only=True):
    """One UTC day's active visitors. ``wau``/``mau``: distinct visitors of the 7/30 days
    ending on the day, None where those days cross a salt window's edge (or reach before
    1970); ``stickiness``: ``visitors / mau`` where ``mau`` is given."""

    day: date
    visitors: int
    wau: int | None = None
    mau: int | None = None
    stickiness: float | None = None


class Cohort(msgspec.Struct, frozen=True, kw_only=True):
    """The visitors first seen in their salt window on ``day``, and how many of them were
    seen again on each later day: ``returning[k - 1]`` for day + k, None where day + k is
    in another salt window (they cannot be followed there) or past the range."""

    day: date
    visitors: int
    returning: list[int | None]


class Active(msgspec.Struct, frozen=True, kw_only=True):
    """The headline figures: the mean DAU over the range's days, the last WAU and MAU the
    range has (with their days), and stickiness over that MAU's days: their mean DAU
    divided by the MAU (None without a MAU)."""

    dau: float | None
    wau: int | None = None
    wau_day: date | None = None
    mau: int | None = None
    mau_day: date | None = None
    stickiness: float | None = None


class Activity(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`activity` finds: ``available`` is False when no visitor can be followed
    from one day to the next (daily salts); ``reason`` then says why and what would change
    it. ``wau_available``/``mau_available``: whether the rotation allows them at all."""

    rotation_days: int
    available: bool
    wau_available: bool
    mau_available: bool
    reason: str | None
    days: list[DayActivity]
    cohorts: list[Cohort]
    active: Active


def days_of(span: TimeRange) -> list[date]:
    """The UTC days ``span`` touches, in order."""
    first = span.start.astimezone(UTC).date()
    last = (span.end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def whole_days(span: TimeRange) -> TimeRange:
    """``span`` widened to whole UTC days: the figures are per day."""
    days = days_of(span)
    return TimeRange(start=_midnight(days[0]), end=_midnight(days[-1]) + DAY)


def read_span(span: TimeRange, rotation: timedelta) -> TimeRange:
    """What to read for :func:`activity` over ``span``'s days: from the start of the salt
    window holding its first day (where "first seen" begins) to the end of its last day."""
    whole = whole_days(span)
    first = window_of(whole.start, rotation) * rotation
    return TimeRange(start=_EPOCH + first, end=whole.end)


class Tally:
    """The distinct visitors of each UTC day, gathered from events in any order and in
    any number of batches (a store's stream): memory grows with visitor-days, not events."""

    def __init__(self) -> None:
        self.seen: dict[date, set[str]] = {}

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            day = event.timestamp.astimezone(UTC).date()
            self.seen.setdefault(day, set()).add(event.visitor_hash)


def reason(rotation: timedelta) -> str | None:
    """Why cohorts, WAU or MAU are not available under ``rotation``, in plain words; None
    when they all are."""
    days = rotation.days
    if days < 2:
        return (
            "Visitors cannot be followed from one day to the next: the visitor salt "
            f"changes every day ({SETTING}=1d), so a returning visitor looks new. Daily "
            "active visitors are exact; weekly and monthly active visitors and cohort "
            "retention cannot be measured, and a sum of daily visitors is not shown in "
            f"their place. {_COST}"
        )
    if days < WEEK_DAYS:
        return (
            f"The visitor salt changes every {days} days ({SETTING}={days}d): cohorts are "
            f"followed only within each {days}-day window; weekly and monthly active "
            f"visitors cannot be measured. {_COST}"
        )
    if days < MONTH_DAYS:
        return (
            f"The visitor salt changes every {days} days ({SETTING}={days}d): cohorts and "
            f"weekly active visitors count only within each {days}-day window; monthly "
            f"active visitors need {SETTING}=30d. {_COST}"
        )
    return None


def activity(seen: Mapping[date, set[str]], days: list[date], rotation: timedelta) -> Activity:
    """Active visitors and cohorts of ``days`` (consecutive UTC days) from ``seen`` (each
    day's distinct visitor hashes, from at least the start of the salt window holding the
    first day: :func:`read_span`), every figure within one salt window of ``rotation``."""
    span_days = rotation.days
    window = {day: window_of(_midnight(day), rotation) for day in _around(days, span_days)}
    empty: set[str] = set()

    def union(last: date, length: int) -> int | None:
        first = last - timedelta(days=length - 1)
        if first < date(1970, 1, 1) or window_of(_midnight(first), rotation) != window[last]:
            return None
        found: set[str] = set()
        for n in range(length):
            found |= seen.get(first + timedelta(days=n), empty)
        return len(found)

    rows: list[DayActivity] = []
    for day in days:
        visitors = len(seen.get(day, empty))
        wau = union(day, WEEK_DAYS) if span_days >= WEEK_DAYS else None
        mau = union(day, MONTH_DAYS) if span_days >= MONTH_DAYS else None
        rows.append(
            DayActivity(
                day=day,
                visitors=visitors,
                wau=wau,
                mau=mau,
                stickiness=_ratio(visitors, mau),
            )
        )
    return Activity(
        rotation_days=span_days,
        available=span_days >= 2,
        wau_available=span_days >= WEEK_DAYS,
        mau_available=span_days >= MONTH_DAYS,
        reason=reason(rotation),
        days=rows,
        cohorts=_cohorts(seen, days, rotation, window) if span_days >= 2 else [],
        active=_active(seen, rows),
    )


def _cohorts(
    seen: Mapping[date, set[str]],
    days: list[date],
    rotation: timedelta,
    window: Mapping[date, int],
) -> list[Cohort]:
    """One pass over the visitor-days from the start of the first day's salt window: each
    visitor's first day in its window, and each later day of that window it is seen on
    (the cost grows with the visitor-days read, not with days times offsets)."""
    offsets = rotation.days - 1
    first_day, last = days[0], days[-1]
    start = (_EPOCH + window[first_day] * rotation).date()
    sizes = dict.fromkeys(days, 0)
    returns = {day: [0] * offsets for day in days}
    firsts: dict[str, date] = {}
    current = window[first_day]
    for n in range((last - start).days + 1):
        day = start + timedelta(days=n)
        here = window_of(_midnight(day), rotation)
        if here != current:
            # A new salt window: nobody seen before it can be recognised in it.
            firsts, current = {}, here
        for visitor in seen.get(day, ()):
            first = firsts.setdefault(visitor, day)
            if first < first_day:
                continue
            if first == day:
                sizes[day] += 1
            else:
                returns[first][(day - first).days - 1] += 1
    cohorts: list[Cohort] = []
    for day in days:
        returning: list[int | None] = []
        for k in range(1, offsets + 1):
            later = day + timedelta(days=k)
            if later > last or window_of(_midnight(later), rotation) != window[day]:
                returning.append(None)
            else:
                returning.append(returns[day][k - 1])
        cohorts.append(Cohort(day=day, visitors=sizes[day], returning=returning))
    return cohorts


def _active(seen: Mapping[date, set[str]], rows: list[DayActivity]) -> Active:
    if not rows:
        return Active(dau=None)
    dau = sum(row.visitors for row in rows) / len(rows)
    weekly = [row for row in rows if row.wau is not None]
    monthly = [row for row in rows if row.mau is not None]
    wau = weekly[-1] if weekly else None
    mau = monthly[-1] if monthly else None
    stickiness = None
    if mau is not None and mau.mau:
        month = [mau.day - timedelta(days=n) for n in range(MONTH_DAYS)]
        mean = sum(len(seen.get(day, ())) for day in month) / MONTH_DAYS
        stickiness = round(mean / mau.mau, 4)
    return Active(
        dau=round(dau, 2),
        wau=None if wau is None else wau.wau,
        wau_day=None if wau is None else wau.day,
        mau=None if mau is None else mau.mau,
        mau_day=None if mau is None else mau.day,
        stickiness=stickiness,
    )


def _ratio(part: int, whole: int | None) -> float | None:
    if not whole:
        return None
    return round(part / whole, 4)


def _around(days: list[date], span_days: int) -> list[date]:
    """The range's days and those its figures may look back or ahead to."""
    reach = max(MONTH_DAYS, span_days)
    first = max(days[0] - timedelta(days=reach), date(1970, 1, 1))
    count = (days[-1] - first).days + 1
    return [first + timedelta(days=n) for n in range(count)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
