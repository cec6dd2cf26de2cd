"""domain/retention.py: where raw events begin, and which answers cover only that part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from privalytics.domain.models import TimeRange
from privalytics.domain.retention import Retention, minimum_days

NOW = datetime(2026, 12, 5, 15, 30, tzinfo=UTC)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def test_forever_has_no_raw_from_and_nothing_is_partial() -> None:
    forever = Retention()
    assert forever.raw_from(NOW) is None
    span = TimeRange(start=datetime(2020, 1, 1, 6, tzinfo=UTC), end=NOW)
    assert not forever.partial(span, None, raw=True)


def test_raw_from_is_midnight_so_many_days_back_under_daily_salts() -> None:
    assert Retention(30).raw_from(NOW) == datetime(2026, 11, 5, tzinfo=UTC)


def test_raw_from_moves_back_to_its_salt_windows_start() -> None:
    # Windows of 7 days from the epoch: one starts on 2026-11-05, so 29 days back
    # (2026-11-06) moves to it, and 30 days back stays.
    assert Retention(29, WEEK).raw_from(NOW) == datetime(2026, 11, 5, tzinfo=UTC)
    assert Retention(30, WEEK).raw_from(NOW) == datetime(2026, 11, 5, tzinfo=UTC)
    assert Retention(31, WEEK).raw_from(NOW) == datetime(2026, 10, 29, tzinfo=UTC)


def test_whole_unfiltered_days_before_raw_from_are_not_partial_under_daily_salts() -> None:
    kept = Retention(30)
    raw_from = kept.raw_from(NOW)
    whole = TimeRange(start=datetime(2026, 9, 1, tzinfo=UTC), end=NOW)
    assert not kept.partial(whole, raw_from, raw=False)
    assert kept.partial(whole, raw_from, raw=True)
    cut = TimeRange(start=datetime(2026, 9, 1, 6, tzinfo=UTC), end=NOW)
    assert kept.partial(cut, raw_from, raw=False)
    ends_cut = TimeRange(
        start=datetime(2026, 9, 1, tzinfo=UTC), end=datetime(2026, 10, 1, 6, tzinfo=UTC)
    )
    assert kept.partial(ends_cut, raw_from, raw=False)


def test_under_longer_salt_windows_any_range_before_raw_from_is_partial() -> None:
    weekly = Retention(30, WEEK)
    whole = TimeRange(start=datetime(2026, 9, 1, tzinfo=UTC), end=NOW)
    assert weekly.partial(whole, weekly.raw_from(NOW), raw=False)


def test_the_minimum_keeps_a_salt_window_the_oldest_event_and_two_days() -> None:
    assert minimum_days(DAY, timedelta(hours=24)) == 4
    assert minimum_days(WEEK, timedelta(hours=25)) == 11
    assert minimum_days(timedelta(days=30), timedelta(hours=720)) == 62
