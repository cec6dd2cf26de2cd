"""RedisRateLimiter: the GCRA of ``privalytics.domain.ratelimit`` shared by every process.

One Lua script runs each step atomically on the server, so any number of processes and
instances pointed at one Redis share one allowance per key. The script does the same
integer-microsecond arithmetic as ``ratelimit.step`` (Redis' Lua numbers are doubles,
exact for integers below 2**53; TATs are stored as decimal strings of whole µs); it
returns the clamped TAT it started from and the domain builds the decision, so the
numbers callers see come from one place.

Time comes from the Clock port and is passed to the script, not read from Redis' own
clock: tests drive it with ``ManualClock``, and production passes the system clock.

Calls are grouped: an ``acquire`` waits for the end of the event loop's turn (so that the
requests arriving together go together), and while ``MAX_IN_FLIGHT`` groups are already
on their way to Redis, new calls gather until one of them is answered, as the group
commit gathers events: the busier the server, the larger the groups, and a call waits at
most for the round trips in flight before its own. A group is one ``EVALSHA`` that runs
each call's step in the order the calls were made, each with the time its own call
read. This is not an approximation: the script steps the keys one
after the other, atomically, exactly as that many separate calls in that order would, and
no other client's step can come between them. What grouping changes is the cost: one round
trip and one reply to parse for the group instead of one per call (see
``benchmarks/limiter.py``). A group holds at most ``MAX_GROUP`` calls; more make several.
All keys of a group go to one server, so Redis Cluster (which would need them in one hash
slot) is not supported; one Redis server, or a primary with replicas, is.
"""

from __future__ import annotations

import asyncio
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

# At most this many calls in one script run (a larger group is split): a run blocks the
# Redis server while it lasts, and its arguments are held in memory at once.
MAX_GROUP = 256
# Groups on their way to Redis at once, per limiter (per process).
MAX_IN_FLIGHT = 1

# KEYS[i]: the i-th call's key. ARGV[1]: the calls' arguments, four decimal integers per
# call separated by spaces: its now, interval, tolerance (µs) and cost (units). Returns one
# string: for each call in order, whether it was allowed and the TAT it started from, as
# "allowed tat " (one string to send and parse rather than two replies per call: the
# encoding and parsing of items was most of the client's cost). Mirrors ratelimit.clamp /
# ratelimit.step; keep them in step.
_GCRA = """
local values = {}
for value in string.gmatch(ARGV[1], '%S+') do
values[#values + 1] = tonumber(value)
end
local out = {}
for i = 1, #KEYS do
local base = 4 * (i - 1)
local now = values[base + 1]
local interval = values[base + 2]
local tolerance = values[base + 3]
local cost = values[base + 4]
local tat = tonumber(redis.call('GET', KEYS[i]) or '')
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
redis.call('SET', KEYS[i], string.format('%.0f', state), 'PX', string.format('%.0f', ttl))
out[i] = allowed .. ' ' .. string.format('%.0f', tat)
end
return table.concat(out, ' ')
"""

# A waiting call: its key (prefixed), its four script arguments, and where its answer goes.
_Call = tuple[str, tuple[int, int, int, int], "asyncio.Future[tuple[int, int]]"]

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
        # The calls of the current loop turn, sent together when it ends.
        self._waiting: list[_Call] = []
        # Whether a send of the waiting calls is due at the end of this loop turn.
        self._scheduled = False
        # Groups on their way to Redis (held so that they are not collected mid-flight).
        self._sending: set[asyncio.Task[None]] = set()

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
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[int, int]] = loop.create_future()
        args = (now, policy.interval_us, policy.tolerance_us, cost)
        self._waiting.append((self._prefix + key, args, answer))
        if not self._scheduled:
            # The group leaves when the turn's other ready callbacks (the other requests
            # that arrived with this one) have run, if fewer than MAX_IN_FLIGHT are out.
            self._scheduled = True
            loop.call_soon(self._send_waiting)
        allowed, tat = await answer
        result = Step(tat, tat + cost * policy.interval_us, bool(allowed))
        return decision(result, now, policy, cost)

    def _send_waiting(self) -> None:
        self._scheduled = False
        while self._waiting and len(self._sending) < MAX_IN_FLIGHT:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            task = asyncio.ensure_future(self._send(group))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        # The calls that gathered meanwhile leave now, as one group.
        if self._waiting and not self._scheduled:
            self._send_waiting()

    async def _send(self, group: list[_Call]) -> None:
        keys = [key for key, _, _ in group]
        packed = " ".join(f"{a} {b} {c} {d}" for _, (a, b, c, d), _ in group)
        try:
            reply: Any = await self._call(self._script(keys=keys, args=[packed]))
        except asyncio.CancelledError:
            for _, _, answer in group:
                answer.cancel()
            raise
        except Exception as exc:
            for _, _, answer in group:
                if not answer.done():
                    answer.set_exception(exc)
            return
        numbers = reply.split()
        for index, (_, _, answer) in enumerate(group):
            if not answer.done():
                answer.set_result((int(numbers[2 * index]), int(numbers[2 * index + 1])))

    async def reset(self, key: str) -> None:
        await self._call(self._client.delete(self._prefix + key))

    async def ping(self) -> None:
        await self._call(self._client.ping())

    async def aclose(self) -> None:
        """Close the client if this limiter made it (``from_url``); a given one is the
        caller's to close."""
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
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
