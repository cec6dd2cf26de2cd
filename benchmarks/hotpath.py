"""The per-event hot path without HTTP or storage: token check (after the first bcrypt
check, which is remembered), rate limit, visitor hash; and the whole ``Ingestion.record``
use case over a store that keeps nothing. Target: token + limit + hash < 20 µs per event.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from privalytics.adapters.bcrypt import BcryptSecretHasher
from privalytics.adapters.clock import SystemClock
from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.hashing import visitor_hash
from privalytics.domain.models import Action, ClientInfo, Event, IncomingEvent, RateLimit
from privalytics.domain.ports import RateLimiter
from privalytics.domain.ratelimit import Policy
from privalytics.domain.services import build_services
from privalytics.testing import lookups


class _NoStore(InMemoryEventStore):
    async def add(self, events: Sequence[Event]) -> None:
        return None


async def _measure(iterations: int, repeats: int) -> dict[str, float]:
    clock = SystemClock()
    limiter: RateLimiter = InMemoryRateLimiter(clock)
    services = build_services(
        **lookups()._asdict(),
        events=_NoStore(),
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=limiter,
        hasher=BcryptSecretHasher(10),  # the production cost factor
        clock=clock,
    )
    created = await services.admin.create_project(
        "bench", rate_limit=RateLimit(events=1_000_000, period_seconds=1)
    )
    token = created.token.token
    ingestion = services.ingestion
    project = await ingestion.authenticate(token)  # the one bcrypt check, then cached
    policy = Policy.from_rate_limit(project.rate_limit)
    salt = b"\x01" * 16
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    client = ClientInfo(ip="203.0.113.7", user_agent=ua, origin=None)
    incoming = [IncomingEvent(action=Action.VISIT, path="/blog/post-1")]

    async def hot_path() -> None:
        for _ in range(iterations):
            await ingestion.authenticate(token)
            await limiter.acquire("token:bench", policy, 1)
            visitor_hash(salt, project.id, "203.0.113.7", ua)

    async def record() -> None:
        for _ in range(iterations):
            await ingestion.record(token, incoming, client)

    results: dict[str, float] = {}
    for name, body in (("token + rate limit + visitor hash", hot_path), ("record()", record)):
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            await body()
            timings.append((time.perf_counter() - start) / iterations * 1e6)
        results[name] = statistics.median(timings)
    return results


def run_hotpath(iterations: int = 20_000, repeats: int = 5) -> dict[str, float]:
    """Median µs per event of each measured path."""
    return asyncio.run(_measure(iterations, repeats))


if __name__ == "__main__":
    for name, micros in run_hotpath().items():
        print(f"{name}: {micros:.1f} µs per event ({datetime.now(UTC):%Y-%m-%d})")
