"""Unfiltered breakdowns over the dimension rollups: every dimension at 24 h, 30 d and
12 months, p50 / p95, after the rollups are computed; each answer compared with the
reference computation over the range's events.

    python -m benchmarks.breakdowns --events 300000 --backends sqlite,postgres

Generates ``--events`` events of ``benchmarks/traffic.py`` (two projects, 395 days, every
dimension) and stores them through the event store (the real insert path, which marks
their days stale), computes the rollups (timed), then times
``SqlAlchemyEventStore.breakdown(..., filters=(), limit=10)`` per dimension and range
(``--repeats`` runs) and, per range, the reference over the events read back once. The
CPU time of the benchmark's process (SQLite's work included, PostgreSQL's server not) is
printed too: on a shared, loaded machine it says more than the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchmarks.databases import fresh_database
from benchmarks.traffic import generate_events
from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.adapters.sqlalchemy.planning import events_in, interval_of
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.domain import insight
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.models import TimeRange

END = datetime(2026, 11, 30, 14, 37, tzinfo=UTC)
RANGES = {"24h": timedelta(hours=24), "30d": timedelta(days=30), "12m": timedelta(days=365)}
PROJECTS = ("bench-big", "bench-small")
DATABASE = "privalytics_breakdowns"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(url: str, events: int, repeats: int) -> list[str]:
    await migrate(url)
    stores = open_stores(url)
    lines: list[str] = []
    try:
        start = time.perf_counter()
        for day in generate_events(events, PROJECTS, seed=1, end=END):
            for offset in range(0, len(day), 5000):
                await stores.events.add(day[offset : offset + 5000])
        lines.append(f"stored {events:,} events in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        days = await stores.events.refresh(END)
        lines.append(f"rollups of {days} days in {time.perf_counter() - start:.0f} s")
        print("\n".join(lines), flush=True)
        project = PROJECTS[0]
        worst: dict[str, float] = {}
        for period, length in RANGES.items():
            span = TimeRange(start=END - length, end=END)
            async with stores.engine.connect() as connection:
                inside = await read_events(connection, events_in(project, interval_of(span)))
            for name, dimension in DIMENSIONS.items():
                expected = insight.breakdown(inside, dimension, (), timedelta(days=1))[:10]
                samples, cpu = [], []
                for _ in range(repeats):
                    began, used = time.perf_counter(), time.process_time()
                    found = await stores.events.breakdown(project, span, dimension, (), 10)
                    samples.append((time.perf_counter() - began) * 1000)
                    cpu.append((time.process_time() - used) * 1000)
                same = "" if found == expected else "  DIFFERENT from the reference"
                p95 = _p(samples, 0.95)
                worst[period] = max(worst.get(period, 0.0), p95)
                line = (
                    f"{period:>3} {name:<16} p50 {statistics.median(samples):7.1f}"
                    f"  p95 {p95:7.1f} ms  (this process's CPU: p50"
                    f" {statistics.median(cpu):6.1f} ms){same}"
                )
                print(line, flush=True)
                lines.append(line)
        lines.append(
            "worst p95 per range: " + ", ".join(f"{p} {ms:.1f} ms" for p, ms in worst.items())
        )
    finally:
        await stores.dispose()
    return lines


async def main_async(args: argparse.Namespace) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}")
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"--- {backend}", flush=True)
        async with fresh_database(backend, DATABASE) as url:
            lines = await run(url, args.events, args.repeats)
        print(lines[-1])
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=10)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
