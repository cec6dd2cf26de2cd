"""The rate-limiting algorithm: GCRA, pure, in whole microseconds.

State is one number, the theoretical arrival time (TAT) on the limiter's clock. A policy
of ``limit`` events per ``period`` spaces events ``interval = period / limit`` apart and
lets a burst of ``burst`` arrive at once. Every adapter (memory, Redis) runs exactly this.

All arithmetic is on integer microseconds. Float seconds cannot do it: at today's epoch a
double resolves only about 0.24 µs, so a float TAT drifts by a rounding error on every
request (a "5/second" burst admitted 4, a "1000000/hour" burst was off by dozens, rates
above ~4 million a second were not limited at all). Integers stay exact, in Python and in
Redis' Lua alike (its doubles hold integers exactly up to 2**53 µs: a TAT up to a
century ahead stays exact until 2155).
The price: the interval is rounded *up* to a whole microsecond, so the limiter is never
more permissive than the policy and at most 1 µs per event stricter; a rate over 1,000,000
events per second cannot be expressed (``parse_rate_limit`` refuses it).

Invariants (see tests/unit/test_ratelimit_properties.py):
- in any interval of length ``d`` of a monotonic clock, at most ``burst + d / interval``
  units pass; over any stretch of requests, whatever the clock does, at most ``burst``
  plus what the clock's forward steps refill;
- a refused request changes nothing but the clamp below;
- when the clock goes backwards the state is clamped, so the limiter is never more
  permissive than a full bucket and never blocks longer than one full refill.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta

import msgspec

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import RateDecision, RateLimit

US_PER_SECOND = 1_000_000
# Tolerances beyond a century would push TATs past what Redis' Lua doubles hold exactly.
MAX_TOLERANCE_US = 100 * 366 * 86400 * US_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def seconds_to_us(seconds: float) -> int:
    """Float seconds to the nearest whole microsecond, exactly.

    ``round(seconds * 1e6)`` is off by one for instants after ~2041; splitting off the
    whole seconds first keeps the product small, so this is exact for any ``seconds``
    that was itself produced from whole microseconds.
    """
    whole = math.floor(seconds)
    return whole * US_PER_SECOND + round((seconds - whole) * US_PER_SECOND)


def datetime_to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime, exactly."""
    return (moment - _EPOCH) // _ONE_US


@functools.lru_cache(maxsize=1024)
def _interval_us(period: float, limit: int) -> int:
    # Read several times per limited request; a project has one policy.
    return -(-seconds_to_us(period) // limit)


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    limit: int
    period: float
    burst: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.burst < 1:
            raise ValueError(f"limit and burst must be at least 1 (got {self.limit}, {self.burst})")
        if not (math.isfinite(self.period) and seconds_to_us(self.period) >= 1):
            raise ValueError(f"period must be at least one microsecond (got {self.period})")
        if self.tolerance_us > MAX_TOLERANCE_US:
            raise ValueError("burst * interval must not exceed a century")

    @property
    def interval_us(self) -> int:
        """Microseconds between two events, rounded up (never more permissive)."""
        return _interval_us(self.period, self.limit)

    @property
    def tolerance_us(self) -> int:
        """How far ahead of now the TAT may run: one full bucket."""
        return self.burst * _interval_us(self.period, self.limit)

    @property
    def interval(self) -> float:
        return self.interval_us / US_PER_SECOND

    @classmethod
    def from_rate_limit(cls, rate: RateLimit) -> Policy:
        return cls(limit=rate.events, period=float(rate.period_seconds), burst=rate.events)


class Step(msgspec.Struct, frozen=True):
    """One GCRA step: the clamped TAT it started from, the TAT if admitted, the verdict."""

    tat: int
    new_tat: int
    allowed: bool

    @property
    def state(self) -> int:
        """The TAT to store: ``new_tat`` when admitted; a refusal keeps the clamped TAT."""
        return self.new_tat if self.allowed else self.tat


def clamp(tat: int | None, now: int, policy: Policy) -> int:
    """The stored TAT as seen at ``now``: never before now, never a refill beyond it."""
    if tat is None or tat < now:
        return now
    # Clock went backwards (or another host's clock is behind): never hold more debt
    # than one full bucket, so the wait stays bounded by one refill.
    return min(tat, now + policy.tolerance_us)


def step(tat: int | None, now: int, policy: Policy, cost: int) -> Step:
    """``cost`` units arriving at ``now`` (µs) against the stored ``tat`` (µs)."""
    if cost < 0:
        raise ValueError(f"cost must not be negative (got {cost})")
    start = clamp(tat, now, policy)
    new_tat = start + cost * policy.interval_us
    return Step(start, new_tat, new_tat - now <= policy.tolerance_us)


def decision(result: Step, now: int, policy: Policy, cost: int) -> RateDecision:
    """The RateDecision of a step, as every adapter reports it."""
    interval, tolerance = policy.interval_us, policy.tolerance_us
    debt = result.state - now
    if result.allowed:
        retry_after = 0.0
    elif cost > policy.burst:
        retry_after = math.inf  # no wait makes room for more than a full bucket
    else:
        retry_after = (result.new_tat - now - tolerance) / US_PER_SECOND
    return RateDecision(
        allowed=result.allowed,
        limit=policy.limit,
        remaining=(tolerance - debt) // interval,
        reset_after=debt / US_PER_SECOND,
        retry_after=retry_after,
    )


_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
# The unit names a rate limit may be written with (any case).
RATE_UNITS = tuple(_UNITS)
_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*([a-z]+)\s*$")
MAX_EVENTS = 10_000_000
MAX_PER_SECOND = US_PER_SECOND
MAX_PERIOD = 366 * 86400


def parse_rate_limit(text: str) -> RateLimit:
    """Parse ``"1000/minute"`` (units: second, minute, hour, day, or s/m/h/d)."""
    match = _RATE.match(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise InvalidInput(
            f"{text!r} is not a rate limit; write N/second, N/minute, N/hour or N/day",
            field="rate_limit",
        )
    return check_rate_limit(
        RateLimit(events=int(match.group(1)), period_seconds=_UNITS[match.group(2)])
    )


def check_rate_limit(rate: RateLimit) -> RateLimit:
    """A rate limit the limiter can run exactly: a zero would divide by zero, a negative
    invert it, and more than one event per microsecond cannot be spaced."""
    if not 1 <= rate.events <= MAX_EVENTS:
        raise InvalidInput(f"events must be between 1 and {MAX_EVENTS}", field="rate_limit")
    if not 1 <= rate.period_seconds <= MAX_PERIOD:
        raise InvalidInput(
            f"the period must be between 1 and {MAX_PERIOD} seconds", field="rate_limit"
        )
    if rate.events > MAX_PER_SECOND * rate.period_seconds:
        raise InvalidInput(
            f"at most {MAX_PER_SECOND} events per second can be limited", field="rate_limit"
        )
    return rate
