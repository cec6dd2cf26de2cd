"""What computing the rollups of a whole history costs: the refresh's backfill, as after
``privalytics import`` or an upgrade that marks every day with events stale.

``python -m benchmarks.backfill`` stores ``--events`` events of benchmarks/conversions.py's
generator (benchmarks/traffic.py's traffic, two projects over 395 days, with custom
events, props and revenue) through the event store, then ``--repeats`` times: forgets
every rollup, day segment and goal day row, marks every day with events stale again (as
the migrations do), and times one call of the event store's ``refresh`` (every day that is
over, in the batches a server's refresh takes). It prints each run's days, seconds and
events per second, and the median. Run it with another tree first on ``PYTHONPATH`` (and
the same arguments) to compare two versions::

    python -m benchmarks.backfill --events 100000 --backends sqlite
    PYTHONPATH=/tmp/base/src python -m benchmarks.backfill --events 100000 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import privalytics
from benchmarks.conversions import _load
from benchmarks.dashboard import END, _create_projects
from benchmarks.databases import fresh_database
from benchmarks.run import _machine
from privalytics.adapters.sqlalchemy import migrate, open_stores, tables
from privalytics.domain.rollups import DAY_MS

DATABASE = "privalytics_backfill"


async def _forget_rollups(url: str) -> None:
    """Every day with events stale again, nothing rolled up."""
    stores = open_stores(url)
    try:
        async with stores.engine.begin() as connection:
            for table in tables.metadata.sorted_tables:
                if table.name.startswith("rollup_") or table.name == "day_segments":
                    await connection.execute(table.delete())
            e, n = tables.events.c, tables.project_numbers.c
            days = (
                tables.events.join(tables.project_numbers, n.number == e.project)
                .select()
                .with_only_columns(n.project_id, (e.ts // DAY_MS).label("day"))
                .distinct()
            )
            await connection.execute(
                tables.rollup_stale.insert().from_select(["project_id", "day"], days)
            )
    finally:
        await stores.dispose()


async def _backfill(url: str) -> tuple[int, float]:
    stores = open_stores(url)
    try:
        began = time.perf_counter()
        days = await stores.events.refresh(END)
        return days, time.perf_counter() - began
    finally:
        await stores.dispose()


async def run(backend: str, url: str, events: int, repeats: int) -> list[str]:
    await migrate(url)
    projects = await _create_projects(url)
    stored, seconds = await _load(url, projects, events)
    print(f"{backend}: stored {stored:,} events in {seconds:.0f} s", flush=True)
    took: list[float] = []
    for n in range(repeats):
        await _forget_rollups(url)
        days, seconds = await _backfill(url)
        took.append(seconds)
        print(
            f"{backend} run {n + 1}: {days:,} days in {seconds:.1f} s,"
            f" {stored / seconds:,.0f} events/s",
            flush=True,
        )
    median = statistics.median(took)
    return [
        f"{backend}: {stored:,} events, backfill median {median:.1f} s of {len(took)} runs"
        f" ({stored / median:,.0f} events/s), privalytics from {Path(privalytics.__file__).parent}"
    ]


async def main_async(args: argparse.Namespace) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {_machine()}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    lines: list[str] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        async with fresh_database(backend, DATABASE) as url:
            lines += await run(backend, url, args.events, args.repeats)
    print("\n".join(["", *lines]))
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=3)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
