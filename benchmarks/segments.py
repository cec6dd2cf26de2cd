"""Filtered reads before and after day segments (adapters/sqlalchemy/segments.py).

Generates ``--events`` events of one project over 395 days with ``benchmarks/traffic.py``,
stores them through the event store's ``add()`` into a fresh SQLite file (or PostgreSQL
database), then times the filtered questions of the dashboard (stats and breakdowns under
``country==FR;browser==Firefox`` and under one filter) over 24 h, 30 d and 12 months:

- *before*: every day still stale, so the reads take the range's events and the domain's
  reference computation (what every filtered read did before the segments);
- the refresh (rollups and segments of every closed day): its time per day;
- *after*: closed days from their segments, the rest (today) from the events.

Also prints the segments' bytes per event (SQLite, after ``VACUUM``; PostgreSQL,
``pg_total_relation_size``) and checks that before and after answer alike.

    python -m benchmarks.segments --events 300000              # SQLite, with "before"
    python -m benchmarks.segments --events 1000000 --no-before --backends sqlite,postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.traffic import generate_events
from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.filters import parse_filters
from privalytics.domain.models import TimeRange

POSTGRES_ADMIN = os.environ.get(
    "PRIVALYTICS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
DATABASE = "privalytics_bench_segments"
END = datetime(2026, 11, 29, 14, 37, tzinfo=UTC)
PROJECT = "0123456789abcdef0123456789abcdef"
BATCH = 2000
DAYS = 395
RANGES = {"24h": timedelta(hours=24), "30d": timedelta(days=30), "12m": timedelta(days=365)}
FILTERS = {
    "country==FR;browser==Firefox": ("country==FR", "browser==Firefox"),
    "source==Google": ("source==Google",),
}


def _questions(stores: Any, span: TimeRange) -> dict[str, Callable[[], Awaitable[Any]]]:
    events = stores.events
    found: dict[str, Callable[[], Awaitable[Any]]] = {}
    for label, texts in FILTERS.items():
        filters = parse_filters(texts)
        found[f"stats {label}"] = lambda f=filters: events.figures(PROJECT, span, f)
        for name in ("source", "page", "city"):
            found[f"breakdown {name} {label}"] = lambda f=filters, d=DIMENSIONS[name]: (
                events.breakdown(PROJECT, span, d, f, 10)
            )
    return found


async def _time(call: Callable[[], Awaitable[Any]], repeats: int) -> tuple[list[float], Any]:
    times: list[float] = []
    answer: Any = None
    for _ in range(repeats):
        began = time.perf_counter()
        answer = await call()
        times.append((time.perf_counter() - began) * 1000)
    return times, answer


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _measure(
    stores: Any, ranges: list[str], repeats: int
) -> dict[tuple[str, str], tuple[float, float, Any]]:
    results: dict[tuple[str, str], tuple[float, float, Any]] = {}
    for name in ranges:
        span = TimeRange(start=END - RANGES[name], end=END)
        for question, call in _questions(stores, span).items():
            times, answer = await _time(call, repeats)
            results[name, question] = (statistics.median(times), _p95(times), answer)
    return results


async def run(url: str, args: argparse.Namespace, sizes: Callable[[], Awaitable[int]]) -> None:
    await migrate(url)
    stores = open_stores(url)
    count = 0
    try:
        began = time.perf_counter()
        for day in generate_events(args.events, [PROJECT], seed=13, days=DAYS, end=END):
            for start in range(0, len(day), BATCH):
                await stores.events.add(day[start : start + BATCH])
            count += len(day)
        print(f"stored {count:,} events in {time.perf_counter() - began:.0f} s")
        ranges = args.ranges.split(",")
        before = await _measure(stores, ranges, 1) if args.before else {}
        began = time.perf_counter()
        refreshed = await stores.events.refresh(END)
        spent = time.perf_counter() - began
        per_day = spent / max(refreshed, 1) * 1000
        print(f"refresh: {refreshed} days in {spent:.1f} s, {per_day:.0f} ms/day")
        after = await _measure(stores, ranges, args.repeats)
    finally:
        await stores.dispose()
    print(f"segments: {await sizes() / max(count, 1):.1f} bytes per event\n")
    print("| range | question | before ms | after p50 ms | after p95 ms | same answer |")
    print("|---|---|---:|---:|---:|---|")
    for key, (p50, p95, answer) in after.items():
        old = before.get(key)
        was = f"{old[0]:,.0f}" if old else "-"
        same = "-" if old is None else ("yes" if old[2] == answer else "NO")
        print(f"| {key[0]} | {key[1]} | {was} | {p50:,.0f} | {p95:,.0f} | {same} |")
    print()


def _sqlite_segment_bytes(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        connection.execute("VACUUM")
        row = connection.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE '%day_segments%'"
        ).fetchone()
    return int(row[0] or 0)


async def main_async(args: argparse.Namespace) -> None:
    for backend in args.backends.split(","):
        print(f"### {backend}, {args.events:,} events over {DAYS} days\n")
        if backend == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="privalytics-segments-"))
            path = folder / "privalytics.db"

            async def sqlite_sizes(path: Path = path) -> int:
                return await asyncio.to_thread(_sqlite_segment_bytes, path)

            try:
                await run(f"sqlite+aiosqlite:///{path}", args, sqlite_sizes)
            finally:
                for name in os.listdir(folder):
                    os.unlink(folder / name)
                os.rmdir(folder)
            continue
        admin = await asyncpg.connect(POSTGRES_ADMIN)
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
        dsn = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{DATABASE}"

        async def pg_sizes(dsn: str = dsn) -> int:
            connection = await asyncpg.connect(dsn)
            try:
                await connection.execute("VACUUM ANALYZE day_segments")
                size: int = await connection.fetchval(
                    "SELECT pg_total_relation_size('day_segments')"
                )
                return size
            finally:
                await connection.close()

        try:
            await run(dsn.replace("postgresql://", "postgresql+asyncpg://"), args, pg_sizes)
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--ranges", default="24h,30d,12m")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--no-before", dest="before", action="store_false", help="skip the slow reads"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
