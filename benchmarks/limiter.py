"""The CPU a rate-limit check costs the process that asks, per check: the in-memory limiter,
and the Redis limiter with its checks made one at a time (one script run each) and made
together (a loop turn's checks grouped into one run, as concurrent requests make them).

Issue 16 measured the Redis limiter at 80-85 µs of CPU per call in the worker, two thirds
of its time under load, and asked for under 15 µs amortised. Concurrency ``N`` here is the
number of checks in flight at once: a worker under ``wrk -c64`` has up to 64.

python -m benchmarks.limiter                 # 5 alternating runs of 20,000 checks each
python -m benchmarks.limiter --runs 3 --checks 5000 --url redis://127.0.0.1:6379/15

Only this process's CPU is counted (``time.process_time``): Redis' own work runs in its
server. The keys are spread over 1,000 tokens, as many sites' traffic would be.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable

import redis.asyncio

from privalytics.adapters.clock import SystemClock
from privalytics.adapters.memory import InMemoryRateLimiter
from privalytics.adapters.redis import RedisRateLimiter
from privalytics.domain.ports import RateLimiter
from privalytics.domain.ratelimit import Policy

POLICY = Policy(limit=1_000_000, period=1.0, burst=1_000_000)
KEYS = 1000


async def _cpu_per_check(limiter: RateLimiter, checks: int, concurrency: int) -> float:
    """µs of this process's CPU per check, ``concurrency`` checks in flight at once."""

    async def one(i: int) -> None:
        await limiter.acquire(f"t{i % KEYS}", POLICY)

    started = time.process_time()
    for start in range(0, checks, concurrency):
        await asyncio.gather(*(one(i) for i in range(start, min(start + concurrency, checks))))
    return (time.process_time() - started) / checks * 1e6


async def _run(url: str, checks: int, runs: int, levels: list[int]) -> None:
    prefix = f"privalytics:bench:{secrets.token_hex(6)}:"
    client = redis.asyncio.Redis.from_url(url)
    shared = RedisRateLimiter(client, SystemClock(), prefix=prefix)
    memory = InMemoryRateLimiter(SystemClock())
    kinds: dict[str, Callable[[], Awaitable[float]]] = {
        "memory, 64 in flight": lambda: _cpu_per_check(memory, checks, 64)
    }
    for level in levels:
        kinds[f"redis, {level} in flight"] = lambda level=level: _cpu_per_check(
            shared, checks, level
        )
    figures: dict[str, list[float]] = {name: [] for name in kinds}
    try:
        await _cpu_per_check(shared, 2000, 64)  # the script loaded, the pool filled
        for _ in range(runs):
            for name, measure in kinds.items():
                figures[name].append(await measure())
    finally:
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            await client.delete(key)
        await client.aclose()
    print(f"{checks} checks per run, {runs} alternating runs; µs of CPU per check")
    print("| limiter | median | runs |")
    print("|---|---|---|")
    for name, values in figures.items():
        runs_text = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {name} | {statistics.median(values):.1f} | {runs_text} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--levels", default="1,16,64,256", help="checks in flight (1,16,64,256)")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    asyncio.run(_run(args.url, args.checks, args.runs, levels))


if __name__ == "__main__":
    main()
