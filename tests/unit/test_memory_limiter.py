"""The in-memory limiter's upkeep: what an acquire costs however many keys are live.

Cost is counted as the keys an acquire reads, writes or walks in the limiter's table (a
counting dict put in its place), not as time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from privalytics.adapters.memory import KEEP_AFTER_US, SWEEP_PER_ACQUIRE, InMemoryRateLimiter
from privalytics.domain.ratelimit import Policy
from privalytics.testing import ManualClock

ONE_PER_HOUR = Policy(limit=1, period=3600.0, burst=1)
# More than the 100 000 live keys past which the limiter used to walk all of them.
LIVE_KEYS = 100_050


class CountingDict(dict[str, int]):
    """A dict counting every key it is asked for, given, or walks over."""

    touched = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.touched += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> int:
        self.touched += 1
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: int) -> None:
        self.touched += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.touched += 1
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.touched += 1
        return super().pop(key, *default)

    def __iter__(self) -> Iterator[str]:
        for key in super().__iter__():
            self.touched += 1
            yield key

    def keys(self) -> Any:
        return list(iter(self))

    def values(self) -> Any:
        return [super(CountingDict, self).__getitem__(key) for key in self]

    def items(self) -> Any:
        return [(key, super(CountingDict, self).__getitem__(key)) for key in self]


def counting(limiter: InMemoryRateLimiter) -> CountingDict:
    """Put a counting dict in place of the limiter's table of keys (its one private part
    these tests reach)."""
    table = CountingDict(limiter._tats)
    limiter._tats = table
    return table


async def test_an_acquire_touches_a_few_keys_however_many_are_live(clock: ManualClock) -> None:
    limiter = InMemoryRateLimiter(clock)
    for n in range(LIVE_KEYS):
        assert (await limiter.acquire(f"user:{n}", ONE_PER_HOUR)).allowed
    table = counting(limiter)
    for n in range(20):
        before = table.touched
        assert (await limiter.acquire(f"attacker:{n}", ONE_PER_HOUR)).allowed
        assert table.touched - before <= 2 + 2 * SWEEP_PER_ACQUIRE
    assert len(table) == LIVE_KEYS + 20  # all live: nothing was dropped


async def test_expired_keys_are_dropped_a_few_per_acquire_until_none_is_left(
    clock: ManualClock,
) -> None:
    limiter = InMemoryRateLimiter(clock)
    for n in range(1000):
        await limiter.acquire(f"user:{n}", ONE_PER_HOUR)
    table = counting(limiter)
    clock.advance(hours=1, seconds=KEEP_AFTER_US / 1e6 + 1)
    for _ in range(1000):
        before = table.touched
        await limiter.acquire("steady", ONE_PER_HOUR)
        assert table.touched - before <= 2 + 2 * SWEEP_PER_ACQUIRE
    assert list(table) == ["steady"]


async def test_sweeping_changes_no_decision_of_a_key_still_in_debt(clock: ManualClock) -> None:
    """A key looked at by the sweep before its TAT has passed is kept: its decisions are
    those of a limiter that never swept."""
    swept, reference = InMemoryRateLimiter(clock), InMemoryRateLimiter(clock)
    ten_per_minute = Policy(limit=10, period=60.0, burst=10)
    for _ in range(10):
        assert await swept.acquire("busy", ten_per_minute) == await reference.acquire(
            "busy", ten_per_minute
        )
    for n in range(50):
        await swept.acquire(f"other:{n}", Policy(limit=1, period=1.0, burst=1))
        clock.advance(seconds=1)
    for _ in range(10):
        assert await swept.acquire("busy", ten_per_minute) == await reference.acquire(
            "busy", ten_per_minute
        )
