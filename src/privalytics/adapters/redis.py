"""RedisRateLimiter: the GCRA of ``privalytics.domain.ratelimit`` shared by every process.

One Lua script runs each step atomically on the server, so any number of processes and
instances pointed at one Redis share one allowance per key. The script does the same
integer-microsecond arithmetic as ``ratelimit.step`` (Redis' Lua numbers are doubles,
exact for integers below 2**53; TATs are stored as decimal strings of whole µs); it
returns the clamped TAT it started from and the domain builds the decision, so the
numbers callers see come from one place.

Time comes from the Clock port and is passed to the script, not read from Redis' own
clock: tests drive it with ``ManualClock``, and production passes the system clock.
"""

from __future__ import annotations

from typing import Any, Self

import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import RateDecision
from privalytics.domain.ports import Clock
from privalytics.domain.ratelimit import Policy, Step, datetime_to_us, decision

DEFAULT_PREFIX = "privalytics:rl:"

# KEYS[1]: the key. ARGV: now, interval, tolerance, cost (integer µs, cost in units).
# Mirrors ratelimit.clamp / ratelimit.step; keep them in step.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if tat == nil or tat < now then
  tat = now
end
if tat > now + tolerance then
  tat = now + tolerance
end
local state = tat
local allowed = 0
if cost <= tolerance / interval and tat + cost * interval - now <= tolerance then
  state = tat + cost * interval
  allowed = 1
end
-- Once the bucket is full the key matters only to a clock that steps back; keep it one
-- more refill (and a second, so slow test runs do not see it vanish) for those.
local ttl = math.ceil((state - now + tolerance) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', state), 'PX', string.format('%.0f', ttl))
return {allowed, string.format('%.0f', tat)}
"""

# Errors that mean "the server is not there or will not take the write": callers get
# StorageUnavailable. Anything else (a script error, a wrong type) is a bug and surfaces.
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)


class RedisRateLimiter:
    """The RateLimiter port on Redis: one allowance per key across all processes."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        clock: Clock,
        *,
        prefix: str = DEFAULT_PREFIX,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._owns_client = owns_client
        # Registered once: the first call loads it, later ones send only its SHA.
        self._script = client.register_script(_GCRA)

    @classmethod
    def from_url(
        cls,
        url: str,
        clock: Clock,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 2.0,
        max_connections: int = 50,
    ) -> Self:
        """A limiter on its own client for ``url`` (``redis://``, ``rediss://``, ``unix://``).

        It owns that client: ``aclose()`` closes it. Requests beyond ``max_connections``
        wait up to ``timeout`` for a free connection (redis-py's default pool would fail
        them at once), then raise StorageUnavailable.
        """
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        return cls(redis.asyncio.Redis.from_pool(pool), clock, prefix=prefix, owns_client=True)

    async def acquire(self, key: str, policy: Policy, cost: int = 1) -> RateDecision:
        if cost < 0:
            raise ValueError(f"cost must not be negative (got {cost})")
        now = datetime_to_us(self._clock.now())
        args = (now, policy.interval_us, policy.tolerance_us, cost)
        reply: Any = await self._call(self._script(keys=[self._prefix + key], args=args))
        tat = int(reply[1])
        result = Step(tat, tat + cost * policy.interval_us, bool(reply[0]))
        return decision(result, now, policy, cost)

    async def reset(self, key: str) -> None:
        await self._call(self._client.delete(self._prefix + key))

    async def ping(self) -> None:
        await self._call(self._client.ping())

    async def aclose(self) -> None:
        """Close the client if this limiter made it (``from_url``); a given one is the
        caller's to close."""
        if self._owns_client:
            await self._client.aclose()

    @staticmethod
    async def _call(awaitable: Any) -> Any:
        try:
            return await awaitable
        except _UNAVAILABLE as exc:
            # Not str(exc), and ``from None``: redis-py's messages name the host and port,
            # and a chained exception prints them in any traceback or log of this one.
            raise StorageUnavailable(
                f"the rate limiter's Redis server is unavailable ({_why(exc)})"
            ) from None


def _why(exc: BaseException) -> str:
    """What went wrong, in our words (redis-py's class names are not for the client)."""
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        return "it did not answer in time"
    if isinstance(exc, ReadOnlyError):
        return "it is read-only"
    return "it cannot be reached"
