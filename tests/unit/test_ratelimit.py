"""Examples of the rate-limiting algorithm and of rate-limit parsing.

The algorithm's examples run through the in-memory limiter on a manual clock: what a
caller sees (the clock's datetimes in, decisions out), with ``step`` and ``decision``
doing the work as in every adapter."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from privalytics.adapters.memory import InMemoryRateLimiter
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import RateDecision, RateLimit
from privalytics.domain.ratelimit import (
    US_PER_SECOND,
    Policy,
    datetime_to_us,
    parse_rate_limit,
    seconds_to_us,
    step,
)
from privalytics.testing import ManualClock

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FIVE_PER_SECOND = Policy(limit=5, period=1.0, burst=5)


class Limiter:
    """A limiter on a manual clock; times are seconds after :data:`NOW`."""

    def __init__(self, policy: Policy = FIVE_PER_SECOND) -> None:
        self.policy = policy
        self.clock = ManualClock(NOW)
        self.limiter = InMemoryRateLimiter(self.clock)

    async def ask(self, cost: int = 1, at: float = 0.0, key: str = "k") -> RateDecision:
        self.clock.set(NOW + timedelta(seconds=at))
        return await self.limiter.acquire(key, self.policy, cost)

    async def burst(self, at: float = 0.0, key: str = "k") -> int:
        """How many unit requests pass at ``at``, one after another."""
        count = 0
        while (await self.ask(1, at, key)).allowed:
            count += 1
        return count


# --- parse_rate_limit -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "events", "period"),
    [
        ("1000/minute", 1000, 60),
        ("1000/min", 1000, 60),
        ("1000/m", 1000, 60),
        ("5/second", 5, 1),
        (" 5 / s ", 5, 1),
        ("5/sec", 5, 1),
        ("10/HOUR", 10, 3600),
        ("10/hours", 10, 3600),
        ("3/d", 3, 86400),
        ("3/days", 3, 86400),
        ("1/second", 1, 1),
        ("10000000/day", 10_000_000, 86400),
        ("1000000/second", 1_000_000, 1),
    ],
)
def test_parse_rate_limit_reads_events_per_unit(text: str, events: int, period: int) -> None:
    assert parse_rate_limit(text) == RateLimit(events=events, period_seconds=period)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is not a rate limit"),
        ("1000", "is not a rate limit"),
        ("minute", "is not a rate limit"),
        ("1000/fortnight", "is not a rate limit"),
        ("1.5/minute", "is not a rate limit"),
        ("-1/minute", "is not a rate limit"),
        ("1000 per minute", "is not a rate limit"),
        ("1000/minute/hour", "is not a rate limit"),
        ("1234567890/day", "is not a rate limit"),
        ("0/minute", "events must be between 1 and 10000000"),
        ("10000001/day", "events must be between 1 and 10000000"),
        ("1000001/second", "at most 1000000 events per second"),
    ],
)
def test_parse_rate_limit_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rate_limit(text)
    assert caught.value.field == "rate_limit"
    assert problem in str(caught.value)


def test_parse_rate_limit_quotes_what_it_could_not_read() -> None:
    with pytest.raises(InvalidInput, match="'ten/minute' is not a rate limit; write N/second"):
        parse_rate_limit("ten/minute")


# --- Policy ------------------------------------------------------------------------------


def test_a_policy_from_a_rate_limit_allows_a_burst_of_the_whole_allowance() -> None:
    policy = Policy.from_rate_limit(RateLimit(events=1000, period_seconds=60))
    assert policy == Policy(limit=1000, period=60.0, burst=1000)
    assert policy.interval_us == 60_000
    assert policy.interval == 0.06
    assert policy.tolerance_us == 60 * US_PER_SECOND


def test_an_interval_that_is_not_a_whole_microsecond_is_rounded_up() -> None:
    assert Policy(limit=7, period=60.0, burst=7).interval_us == 8_571_429


@pytest.mark.parametrize(
    ("limit", "period", "burst"),
    [(0, 1.0, 1), (1, 1.0, 0), (-1, 1.0, 1), (1, 0.0, 1), (1, -1.0, 1), (1, math.nan, 1)],
)
def test_a_policy_that_cannot_be_run_is_refused(limit: int, period: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must"):
        Policy(limit=limit, period=period, burst=burst)


def test_a_policy_whose_bucket_spans_more_than_a_century_is_refused() -> None:
    with pytest.raises(ValueError, match="century"):
        Policy(limit=1, period=86400.0, burst=40_000)


# --- the algorithm, through a limiter ---------------------------------------------------


async def test_a_burst_passes_then_the_next_request_waits_one_interval() -> None:
    limiter = Limiter()
    for remaining in [4, 3, 2, 1, 0]:
        answer = await limiter.ask()
        assert answer.allowed
        assert answer.remaining == remaining
        assert answer.retry_after == 0.0
    assert answer.reset_after == 1.0
    refused = await limiter.ask()
    assert not refused.allowed
    assert (refused.remaining, refused.reset_after, refused.retry_after) == (0, 1.0, 0.2)
    # The refusal spent nothing: asked again, the same answer.
    assert await limiter.ask() == refused
    assert (await limiter.ask(at=0.2)).allowed


@pytest.mark.parametrize(
    ("limit", "period"),
    [(5, 1.0), (3, 1.0), (7, 60.0), (1000, 60.0), (200_000, 1.0), (1_000_000, 1.0)],
)
async def test_a_full_burst_passes_at_todays_timestamps(limit: int, period: float) -> None:
    """Float seconds lost a unit of a 5/second burst and did not limit 1,000,000/second."""
    assert await Limiter(Policy(limit=limit, period=period, burst=limit)).burst() == limit


async def test_a_cost_counts_as_that_many_requests() -> None:
    limiter = Limiter()
    answer = await limiter.ask(3)
    assert (answer.allowed, answer.remaining) == (True, 2)
    refused = await limiter.ask(3)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.2)
    answer = await limiter.ask(2)
    assert (answer.allowed, answer.remaining) == (True, 0)


async def test_a_cost_beyond_the_burst_is_refused_for_good_and_changes_nothing() -> None:
    limiter = Limiter()
    answer = await limiter.ask(6)
    assert not answer.allowed
    assert answer.retry_after == math.inf
    assert (answer.remaining, answer.reset_after) == (5, 0.0)
    assert await limiter.burst() == 5


async def test_a_zero_cost_only_reports() -> None:
    limiter = Limiter()
    await limiter.ask(2)
    answer = await limiter.ask(0)
    assert (answer.allowed, answer.remaining, answer.reset_after) == (True, 3, 0.4)
    assert await limiter.burst() == 3


async def test_a_negative_cost_is_a_programming_error() -> None:
    limiter = Limiter()
    with pytest.raises(ValueError, match="cost"):
        await limiter.ask(-1)
    assert await limiter.burst() == 5


async def test_after_a_clock_jumps_back_an_hour_the_wait_is_one_refill_not_an_hour() -> None:
    limiter = Limiter()
    await limiter.ask(5)
    refused = await limiter.ask(1, at=-3600)
    # The debt is kept (no free burst for stepping back)...
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.2)
    # ...but only one bucket of it.
    assert await limiter.burst(at=-3599) == 5


@pytest.mark.parametrize(("after", "admitted"), [(0.599999, 2), (0.6, 3), (60.0, 5)])
async def test_refill_is_gradual(after: float, admitted: int) -> None:
    limiter = Limiter()
    await limiter.ask(5)
    assert await limiter.burst(at=after) == admitted


# --- time conversions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 12, 0, 0, 999_999, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
    ],
)
def test_times_are_exact_microseconds(moment: datetime) -> None:
    us = datetime_to_us(moment)
    assert seconds_to_us(moment.timestamp()) == us
    assert us % US_PER_SECOND == moment.microsecond


def test_step_reports_the_clamped_start_and_the_admitted_end() -> None:
    result = step(None, 10, FIVE_PER_SECOND, 2)
    assert (result.tat, result.new_tat, result.allowed, result.state) == (
        10,
        400_010,
        True,
        400_010,
    )
