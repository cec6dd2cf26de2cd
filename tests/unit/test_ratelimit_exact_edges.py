"""The rate limiter's arithmetic stays on exact integers at its edges: far-off instants, a
bucket of exactly the longest span, and the count of requests still allowed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from privalytics.domain.ratelimit import (
    MAX_TOLERANCE_US,
    US_PER_SECOND,
    Policy,
    datetime_to_us,
    decision,
    step,
)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2300, 6, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ],
)
def test_instants_beyond_what_a_double_holds_are_exact_whole_microseconds(
    moment: datetime,
) -> None:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    exact = (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds
    us = datetime_to_us(moment)
    assert type(us) is int
    assert us == exact


def test_a_bucket_of_exactly_a_century_is_allowed_and_one_more_event_is_not() -> None:
    century_of_seconds = MAX_TOLERANCE_US // US_PER_SECOND
    policy = Policy(limit=1, period=1.0, burst=century_of_seconds)
    assert policy.tolerance_us == MAX_TOLERANCE_US
    with pytest.raises(ValueError, match="must not exceed a century"):
        Policy(limit=1, period=1.0, burst=century_of_seconds + 1)


def test_remaining_counts_whole_requests() -> None:
    """Part of an interval refilled is no request: ``remaining`` rounds down, as an int."""
    policy = Policy(limit=3, period=1.0, burst=3)
    now = 1_000 * US_PER_SECOND
    first = step(None, now, policy, 1)
    later = now + policy.interval_us // 3
    answer = decision(step(first.state, later, policy, 0), later, policy, 0)
    assert type(answer.remaining) is int
    # One request taken, a third of it refilled: two whole requests remain.
    assert answer.remaining == 2
