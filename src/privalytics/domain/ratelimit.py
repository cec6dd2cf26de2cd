"""The rate-limiting algorithm: GCRA, pure.

State is one number, the theoretical arrival time (TAT) in seconds on the limiter's clock.
A policy of ``limit`` events per ``period`` spaces events ``period / limit`` apart and lets
a burst of ``burst`` arrive at once. Every adapter (memory, Redis) runs exactly this.

Invariants (see tests/unit/test_ratelimit_properties.py):
- in any interval of length ``d``, at most ``burst + d * limit / period`` units pass;
- when the clock goes backwards the state is clamped, so the limiter is never more
  permissive than a full bucket and never blocks longer than one full refill.
"""

from __future__ import annotations

import math
import re

import msgspec

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import RateDecision, RateLimit


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    limit: int
    period: float
    burst: int

    @property
    def interval(self) -> float:
        return self.period / self.limit

    @classmethod
    def from_rate_limit(cls, rate: RateLimit) -> Policy:
        return cls(limit=rate.events, period=float(rate.period_seconds), burst=rate.events)


def decide(tat: float | None, now: float, policy: Policy, cost: int) -> tuple[RateDecision, float]:
    """Return the decision and the new TAT for ``cost`` units arriving at ``now``."""
    interval = policy.interval
    tolerance = policy.burst * interval
    if tat is None or tat < now:
        tat = now
    # Clock went backwards (or another host's clock is behind): never hold more debt
    # than one full bucket, so the wait stays bounded by one refill.
    tat = min(tat, now + tolerance)
    new_tat = tat + cost * interval
    if new_tat - now <= tolerance + 1e-9:
        remaining = math.floor((tolerance - (new_tat - now)) / interval + 1e-9)
        return (
            RateDecision(
                allowed=True,
                limit=policy.limit,
                remaining=max(0, remaining),
                reset_after=new_tat - now,
                retry_after=0.0,
            ),
            new_tat,
        )
    remaining = math.floor((tolerance - (tat - now)) / interval + 1e-9)
    retry = math.inf if cost > policy.burst else new_tat - now - tolerance
    return (
        RateDecision(
            allowed=False,
            limit=policy.limit,
            remaining=max(0, remaining),
            reset_after=tat - now,
            retry_after=retry,
        ),
        tat,
    )


_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*([a-z]+)\s*$")
MAX_EVENTS = 10_000_000


def parse_rate_limit(text: str) -> RateLimit:
    """Parse ``"1000/minute"`` (units: second, minute, hour, day, or s/m/h/d)."""
    match = _RATE.match(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise InvalidInput(
            f"{text!r} is not a rate limit; write N/second, N/minute, N/hour or N/day",
            field="rate_limit",
        )
    events = int(match.group(1))
    if not 1 <= events <= MAX_EVENTS:
        raise InvalidInput(f"events must be between 1 and {MAX_EVENTS}", field="rate_limit")
    return RateLimit(events=events, period_seconds=_UNITS[match.group(2)])
