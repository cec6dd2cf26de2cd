"""The RateLimiter contract, over the in-memory limiter and the Redis limiter.

Both run on a ManualClock, so they must give the very same decisions. Each Redis test
works under its own random key prefix and deletes those keys afterwards (never FLUSHDB:
the database may be shared).
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio
from hypothesis import given, settings

from privalytics import bootstrap
from privalytics.adapters.memory import InMemoryRateLimiter
from privalytics.adapters.redis import MAX_GROUP, MAX_IN_FLIGHT, RedisRateLimiter
from privalytics.config import load_settings
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import RateDecision
from privalytics.domain.ports import RateLimiter
from privalytics.domain.ratelimit import Policy, datetime_to_us
from privalytics.testing import ManualClock
from tests import strategies
from tests.conftest import REDIS_URL, require_server

FIVE_PER_SECOND = Policy(limit=5, period=1.0, burst=5)
THOUSAND_PER_MINUTE = Policy(limit=1000, period=60.0, burst=1000)

LIMITERS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def prefix() -> str:
    return f"privalytics:test:rl:{secrets.token_hex(8)}:"


async def drop_keys(client: redis.asyncio.Redis, key_prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=key_prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)


def redis_client() -> redis.asyncio.Redis:
    """A client whose pool makes surplus requests wait (the default one fails them)."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(REDIS_URL, max_connections=20)
    return redis.asyncio.Redis.from_pool(pool)


@pytest.fixture
async def limiter(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield InMemoryRateLimiter(clock)
        return
    require_server(REDIS_URL, 6379, "Redis")
    client = redis_client()
    key_prefix = prefix()
    try:
        yield RedisRateLimiter(client, clock, prefix=key_prefix)
    finally:
        await drop_keys(client, key_prefix)
        await client.aclose()


def allowed(remaining: int, reset_after: float, limit: int = 5) -> RateDecision:
    return RateDecision(
        allowed=True, limit=limit, remaining=remaining, reset_after=reset_after, retry_after=0.0
    )


def refused(remaining: int, reset_after: float, retry_after: float, limit: int = 5) -> RateDecision:
    return RateDecision(
        allowed=False,
        limit=limit,
        remaining=remaining,
        reset_after=reset_after,
        retry_after=retry_after,
    )


# --- the contract ----------------------------------------------------------------------


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_a_burst_is_admitted_then_refused(limiter: RateLimiter) -> None:
    decisions = [await limiter.acquire("k", FIVE_PER_SECOND) for _ in range(7)]
    assert decisions == [
        allowed(4, 0.2),
        allowed(3, 0.4),
        allowed(2, 0.6),
        allowed(1, 0.8),
        allowed(0, 1.0),
        refused(0, 1.0, 0.2),
        refused(0, 1.0, 0.2),
    ]


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_the_allowance_refills_at_the_configured_rate(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    for _ in range(1000):
        assert (await limiter.acquire("k", THOUSAND_PER_MINUTE)).allowed
    assert not (await limiter.acquire("k", THOUSAND_PER_MINUTE)).allowed
    clock.advance(0.059999)
    assert not (await limiter.acquire("k", THOUSAND_PER_MINUTE)).allowed
    clock.advance(0.000001)
    assert await limiter.acquire("k", THOUSAND_PER_MINUTE) == allowed(0, 60.0, limit=1000)
    clock.advance(0.6)
    passed = [(await limiter.acquire("k", THOUSAND_PER_MINUTE)).allowed for _ in range(11)]
    assert passed == [True] * 10 + [False]


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_a_cost_of_k_counts_k(limiter: RateLimiter, clock: ManualClock) -> None:
    assert await limiter.acquire("k", FIVE_PER_SECOND, 3) == allowed(2, 0.6)
    assert await limiter.acquire("k", FIVE_PER_SECOND, 3) == refused(2, 0.6, 0.2)
    assert await limiter.acquire("k", FIVE_PER_SECOND, 2) == allowed(0, 1.0)
    clock.advance(0.4)
    assert await limiter.acquire("k", FIVE_PER_SECOND, 2) == allowed(0, 1.0)


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_a_cost_beyond_the_burst_is_refused_for_good(limiter: RateLimiter) -> None:
    assert await limiter.acquire("k", FIVE_PER_SECOND, 6) == refused(5, 0.0, math.inf)
    # ...and took nothing.
    assert await limiter.acquire("k", FIVE_PER_SECOND, 5) == allowed(0, 1.0)


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_a_zero_cost_reports_without_taking(limiter: RateLimiter) -> None:
    await limiter.acquire("k", FIVE_PER_SECOND, 2)
    assert await limiter.acquire("k", FIVE_PER_SECOND, 0) == allowed(3, 0.4)
    assert await limiter.acquire("k", FIVE_PER_SECOND, 0) == allowed(3, 0.4)


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_reset_forgets_the_key(limiter: RateLimiter) -> None:
    await limiter.acquire("k", FIVE_PER_SECOND, 5)
    await limiter.reset("k")
    assert await limiter.acquire("k", FIVE_PER_SECOND) == allowed(4, 0.2)
    await limiter.reset("never-used")


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_keys_are_independent(limiter: RateLimiter) -> None:
    await limiter.acquire("a", FIVE_PER_SECOND, 5)
    assert await limiter.acquire("b", FIVE_PER_SECOND) == allowed(4, 0.2)
    assert not (await limiter.acquire("a", FIVE_PER_SECOND)).allowed
    await limiter.reset("b")
    assert not (await limiter.acquire("a", FIVE_PER_SECOND)).allowed


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_a_clock_stepping_back_neither_refills_nor_blocks_for_long(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    await limiter.acquire("k", FIVE_PER_SECOND, 5)
    clock.advance(-3600)
    # No free burst for stepping back...
    assert await limiter.acquire("k", FIVE_PER_SECOND) == refused(0, 1.0, 0.2)
    clock.advance(-1)
    assert not (await limiter.acquire("k", FIVE_PER_SECOND)).allowed
    # ...and one refill later, not an hour later, the whole burst is back.
    clock.advance(1.0)
    assert await limiter.acquire("k", FIVE_PER_SECOND, 5) == allowed(0, 1.0)


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_far_future_times_and_long_buckets_keep_every_microsecond(
    limiter: RateLimiter, clock: ManualClock
) -> None:
    clock.set(datetime(2199, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    slow = Policy(limit=3, period=86400.0 * 365, burst=10)
    assert (await limiter.acquire("k", slow, 10)).allowed
    decision = await limiter.acquire("k", slow)
    assert decision.retry_after == 10_512_000.0  # a year / 3, to the microsecond
    clock.advance(10_511_999.999999)
    assert not (await limiter.acquire("k", slow)).allowed
    clock.advance(0.000001)
    assert (await limiter.acquire("k", slow)).allowed


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_concurrent_requests_at_one_instant_never_exceed_the_burst(
    limiter: RateLimiter,
) -> None:
    decisions = await asyncio.gather(
        *(limiter.acquire("hot", THOUSAND_PER_MINUTE) for _ in range(1500))
    )
    assert sum(d.allowed for d in decisions) == 1000
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(1000))


# --- Redis only --------------------------------------------------------------------------


@pytest.mark.redis
async def test_two_processes_share_one_allowance(clock: ManualClock) -> None:
    """Two clients (as two processes would have) hammering one key at a frozen time."""
    require_server(REDIS_URL, 6379, "Redis")
    key_prefix = prefix()
    first, second = redis_client(), redis_client()
    limiters = [
        RedisRateLimiter(first, clock, prefix=key_prefix),
        RedisRateLimiter(second, clock, prefix=key_prefix),
    ]
    try:
        decisions = await asyncio.gather(
            *(limiters[i % 2].acquire("hot", THOUSAND_PER_MINUTE, 1 + i % 3) for i in range(1200))
        )
        units = sum(1 + i % 3 for i, d in enumerate(decisions) if d.allowed)
        assert units <= 1000
        # Requests of 1 always fit while anything is left, so the bucket ends up empty.
        assert units >= 998
        assert not (await limiters[0].acquire("hot", THOUSAND_PER_MINUTE)).allowed
    finally:
        await drop_keys(first, key_prefix)
        await first.aclose()
        await second.aclose()


@pytest.mark.redis
@settings(max_examples=40, deadline=None)
@given(
    policy=strategies.limiter_policies,
    start=strategies.limiter_start_times,
    sequence=strategies.limiter_sequences,
)
async def test_memory_and_redis_decide_alike(
    policy: Policy, start: datetime, sequence: list[tuple[int, int]]
) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    memory_clock, redis_clock = ManualClock(start), ManualClock(start)
    memory = InMemoryRateLimiter(memory_clock)
    client = redis_client()
    key_prefix = prefix()
    shared = RedisRateLimiter(client, redis_clock, prefix=key_prefix)
    try:
        for step_us, cost in sequence:
            memory_clock.advance(microseconds=step_us)
            redis_clock.advance(microseconds=step_us)
            assert await shared.acquire("k", policy, cost) == await memory.acquire(
                "k", policy, cost
            )
    finally:
        await drop_keys(client, key_prefix)
        await client.aclose()


class _CountingScript:
    """redis-py's Script, counting its runs (each run is one round trip to Redis)."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.runs: list[int] = []

    def __call__(self, keys: list[str], args: list[str]) -> Any:
        self.runs.append(len(keys))
        return self.script(keys=keys, args=args)


class _CountingClient(redis.asyncio.Redis):
    def register_script(self, script: Any) -> Any:
        self.counting = _CountingScript(super().register_script(script))
        return self.counting


@pytest.mark.redis
@settings(max_examples=30, deadline=None)
@given(policy=strategies.limiter_policies, calls=strategies.limiter_groups)
async def test_calls_of_one_loop_turn_go_as_one_group_and_decide_as_calls_in_order(
    policy: Policy, calls: list[tuple[int, int]]
) -> None:
    """Concurrent calls (several keys, several costs, one instant) are one script run, and
    each gets what the same calls made one after another in that order get."""
    require_server(REDIS_URL, 6379, "Redis")
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    memory = InMemoryRateLimiter(clock)
    client = _CountingClient.from_url(REDIS_URL)
    key_prefix = prefix()
    shared = RedisRateLimiter(client, clock, prefix=key_prefix)
    try:
        together = await asyncio.gather(
            *(shared.acquire(f"k{key}", policy, cost) for key, cost in calls)
        )
        one_by_one = [await memory.acquire(f"k{key}", policy, cost) for key, cost in calls]
        assert together == one_by_one
        assert client.counting.runs == [len(calls)]
    finally:
        await drop_keys(client, key_prefix)
        await client.aclose()


@pytest.mark.redis
async def test_a_group_larger_than_the_most_one_run_takes_is_split(clock: ManualClock) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    client = _CountingClient.from_url(REDIS_URL)
    key_prefix = prefix()
    shared = RedisRateLimiter(client, clock, prefix=key_prefix)
    try:
        total = 2 * MAX_GROUP + 1
        decisions = await asyncio.gather(
            *(shared.acquire("hot", THOUSAND_PER_MINUTE) for _ in range(total))
        )
        assert client.counting.runs == [MAX_GROUP, MAX_GROUP, 1]
        assert sorted(d.remaining for d in decisions) == list(range(1000 - total, 1000))
    finally:
        await drop_keys(client, key_prefix)
        await client.aclose()


class _GatedClient(redis.asyncio.Redis):
    """A client whose script runs start (and are counted) at once but reach Redis only once
    the gate opens: Redis made slow, at the test's command."""

    def register_script(self, script: Any) -> Any:
        real = super().register_script(script)
        self.gate = asyncio.Event()
        self.runs: list[int] = []

        async def run(keys: list[str], args: list[str]) -> Any:
            self.runs.append(len(keys))
            await self.gate.wait()
            return await real(keys=keys, args=args)

        return run


@pytest.mark.redis
async def test_calls_made_while_groups_are_in_flight_leave_together_as_one_group(
    clock: ManualClock,
) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    client = _GatedClient.from_url(REDIS_URL)
    key_prefix = prefix()
    shared = RedisRateLimiter(client, clock, prefix=key_prefix)
    try:
        calls = []
        for _ in range(MAX_IN_FLIGHT + 10):
            # Each call in a loop turn of its own: only the first MAX_IN_FLIGHT go at once.
            calls.append(asyncio.ensure_future(shared.acquire("k", THOUSAND_PER_MINUTE)))
            for _ in range(3):
                await asyncio.sleep(0)
        assert client.runs == [1] * MAX_IN_FLIGHT
        client.gate.set()
        decisions = await asyncio.gather(*calls)
        assert client.runs == [1] * MAX_IN_FLIGHT + [10]
        # Every unit counted once; the gathered group's calls stepped in the order made
        # (groups in flight together are ordered as separate concurrent calls would be).
        remaining = [d.remaining for d in decisions]
        assert sorted(remaining, reverse=True) == list(range(999, 999 - len(calls), -1))
        assert remaining[MAX_IN_FLIGHT:] == list(range(999 - MAX_IN_FLIGHT, 999 - len(calls), -1))
    finally:
        client.gate.set()
        await drop_keys(client, key_prefix)
        await client.aclose()


async def test_every_call_of_a_group_fails_alike_when_the_server_is_unreachable(
    clock: ManualClock,
) -> None:
    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:1/0", clock, timeout=1.0)
    try:
        outcomes = await asyncio.gather(
            *(limiter.acquire(f"k{i}", FIVE_PER_SECOND) for i in range(20)),
            return_exceptions=True,
        )
        assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
        # The limiter is not left waiting on the failed group: the next call is tried anew.
        with pytest.raises(StorageUnavailable):
            await limiter.acquire("k", FIVE_PER_SECOND)
    finally:
        await limiter.aclose()


@pytest.mark.redis
async def test_the_state_expires_about_one_refill_after_the_bucket_is_full(
    clock: ManualClock,
) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    client = redis_client()
    key_prefix = prefix()
    try:
        limiter = RedisRateLimiter(client, clock, prefix=key_prefix)
        await limiter.acquire("k", THOUSAND_PER_MINUTE, 500)
        ttl_ms = await client.pttl(key_prefix + "k")
        # 30 s until full, one more refill (60 s) for clocks that step back, 1 s of slack.
        assert 90_000 < ttl_ms <= 91_000
        # The TAT, in whole microseconds, as a decimal string.
        expected = datetime_to_us(clock.now()) + 500 * THOUSAND_PER_MINUTE.interval_us
        assert await client.get(key_prefix + "k") == str(expected).encode()
    finally:
        await drop_keys(client, key_prefix)
        await client.aclose()


@pytest.mark.redis
async def test_from_url_makes_a_limiter_that_closes_its_client(clock: ManualClock) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    key_prefix = prefix()
    limiter = RedisRateLimiter.from_url(REDIS_URL, clock, prefix=key_prefix)
    try:
        assert await limiter.acquire("k", FIVE_PER_SECOND) == allowed(4, 0.2)
        await limiter.reset("k")
    finally:
        await limiter.aclose()


async def test_an_unreachable_server_is_storage_unavailable_and_names_no_secret(
    clock: ManualClock,
) -> None:
    # Nothing listens on port 1: connecting is refused at once.
    url = "redis://user:hunter2secret@127.0.0.1:1/0"
    limiter = RedisRateLimiter.from_url(url, clock, timeout=1.0)
    try:
        with pytest.raises(StorageUnavailable) as caught:
            await limiter.acquire("k", FIVE_PER_SECOND)
        message = str(caught.value)
        assert "hunter2secret" not in message
        assert "127.0.0.1" not in message
        assert "redis://" not in message
        # Nothing chained either: a traceback or log of the error would print its text.
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__
        with pytest.raises(StorageUnavailable):
            await limiter.reset("k")
        with pytest.raises(StorageUnavailable) as caught:
            await limiter.ping()
        assert "hunter2secret" not in str(caught.value)
        assert caught.value.__cause__ is None
    finally:
        await limiter.aclose()


@pytest.mark.parametrize("limiter", LIMITERS, indirect=True)
async def test_a_limiter_that_answers_pings(limiter: RateLimiter) -> None:
    await limiter.ping()


async def test_health_fails_when_the_redis_limiter_is_down_though_storage_answers() -> None:
    """Every event would get 503: /healthz must not say ok."""
    settings = load_settings({}, database_url="memory://", rate_limit_url="redis://127.0.0.1:1/0")
    services = bootstrap.build(settings)
    try:
        await services.admin.list_projects()  # the storage answers
        with pytest.raises(StorageUnavailable):
            await services.health()
    finally:
        await services.aclose()


async def test_an_unreachable_redis_is_named_in_our_words_without_its_address(
    clock: ManualClock,
) -> None:
    limiter = RedisRateLimiter.from_url("redis://:hunter2secret@127.0.0.1:1/0", clock)
    try:
        with pytest.raises(StorageUnavailable) as refused:
            await limiter.acquire("k", FIVE_PER_SECOND, 1)
    finally:
        await limiter.aclose()
    assert str(refused.value) == (
        "the rate limiter's Redis server is unavailable (it cannot be reached)"
    )


async def test_a_negative_cost_is_refused_before_any_io(clock: ManualClock) -> None:
    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:1/0", clock)
    try:
        with pytest.raises(ValueError, match="cost"):
            await limiter.acquire("k", FIVE_PER_SECOND, -1)
    finally:
        await limiter.aclose()
