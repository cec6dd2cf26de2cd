"""Disk space per event: the compact events table (migration 0006), its index, its
dictionary and the rollups, on SQLite and PostgreSQL, with every derived field filled.

Generates ``--events`` events of one project over ``--days`` days with
``benchmarks/traffic.py`` (sessions, sources, campaigns, browsers, systems, devices and
places as ingestion derives them), stores them through the event store's ``add()`` (the
writers and the dictionary as the server uses them), computes the rollups, then measures:

- SQLite: after ``VACUUM``, the bytes of each table and index from ``dbstat``, and the
  file's size; for comparison, the same events in the text table of migration 0005
  (without the derived fields, which it cannot hold);
- PostgreSQL: after ``VACUUM ANALYZE``, ``pg_relation_size`` of each table and
  ``pg_indexes_size``, and ``pg_total_relation_size``.

    python -m benchmarks.disk                             # 550,000 events, both backends
    python -m benchmarks.disk --events 100000 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from alembic import command

from benchmarks.traffic import generate_events
from privalytics.adapters.sqlalchemy import create_engine, migrate, open_stores
from privalytics.adapters.sqlalchemy.dictionary import FIXED, Dictionary, event_values
from privalytics.adapters.sqlalchemy.migrate import alembic_config
from privalytics.domain.models import Event

POSTGRES_ADMIN = os.environ.get(
    "PRIVALYTICS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
DATABASE = "privalytics_bench_disk"
END = datetime(2026, 11, 29, 14, 37, tzinfo=UTC)
PROJECT = "0123456789abcdef0123456789abcdef"
BATCH = 1000


def generate(count: int, days: int) -> list[Event]:
    """``count`` events of one project over ``days`` days, as benchmarks/traffic.py makes
    them (the benchmark data of increments 3 and 4, docs/design-insight.md)."""
    made = generate_events(count, [PROJECT], seed=13, days=days, end=END)
    return [event for day in made for event in day]


async def _store(url: str, events: list[Event]) -> float:
    """Store ``events`` through the event store, compute the rollups; events/s."""
    stores = open_stores(url)
    try:
        began = time.perf_counter()
        for start in range(0, len(events), BATCH):
            await stores.events.add(events[start : start + BATCH])
        rate = len(events) / (time.perf_counter() - began)
        await stores.events.refresh(events[-1].timestamp + timedelta(days=400))
    finally:
        await stores.dispose()
    return rate


def _sqlite_sizes(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        connection.execute("VACUUM")
        rows = connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        return {name: int(size) for name, size in rows}


async def _old_sqlite(folder: Path, events: list[Event]) -> dict[str, int]:
    """The same events in the text table of migration 0005 (no derived fields)."""
    path = folder / "old.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0005"))
    finally:
        await engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO events (project_id, action, path, ts, visitor_hash, referrer, target,"
            " value, props) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                (
                    e.project_id,
                    e.action.value,
                    e.path,
                    int(e.timestamp.timestamp() * 1000),
                    e.visitor_hash * 2,  # 128 bits, as then
                    e.referrer,
                    e.target,
                    e.value,
                )
                for e in events
            ],
        )
    return _sqlite_sizes(path)


def _report(title: str, parts: dict[str, int], count: int) -> None:
    print(f"#### {title}\n")
    print("| part | bytes | bytes per event |")
    print("|---|---:|---:|")
    for name, size in parts.items():
        print(f"| {name} | {size:,} | {size / count:.1f} |")
    print()


def _sum(sizes: dict[str, int], prefixes: tuple[str, ...]) -> int:
    return sum(size for name, size in sizes.items() if name.startswith(prefixes))


async def run_sqlite(events: list[Event]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="privalytics-disk-"))
    path = folder / "privalytics.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate(url)
    rate = await _store(url, events)
    sizes = _sqlite_sizes(path)
    count = len(events)
    parts = {
        "events (table)": sizes["events"],
        "events (index on project, ts)": sizes["ix_events_project_ts"],
        "dictionary (texts, with its unique index)": _sum(
            sizes, ("texts", "sqlite_autoindex_texts")
        ),
        "project numbers": _sum(sizes, ("project_numbers", "sqlite_autoindex_project_numbers")),
        "rollups (tables and indexes)": _sum(sizes, ("rollup_", "ix_rollup_")),
        "whole file": path.stat().st_size,
    }
    parts["events with index and dictionary"] = sum(list(parts.values())[:3])
    print(f"SQLite: stored at {rate:,.0f} events/s through add() (batches of {BATCH}).\n")
    _report("SQLite after VACUUM (dbstat)", parts, count)
    old = await _old_sqlite(folder, events)
    old_parts = {
        "events (table)": old["events"],
        "events (indexes on project, ts and on project, path, ts)": _sum(old, ("ix_events_",)),
    }
    old_parts["events with indexes"] = sum(old_parts.values())
    _report("The same events in migration 0005's text table (no derived fields)", old_parts, count)
    for name in os.listdir(folder):
        os.unlink(folder / name)
    os.rmdir(folder)


async def run_postgres(events: list[Event]) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    dsn = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{DATABASE}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        await migrate(url)
        rate = await _store(url, events)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("VACUUM ANALYZE")

            async def size(sql: str) -> int:
                return int(await connection.fetchval(sql))

            rollups = (
                "SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class"
                " WHERE relkind = 'r' AND relname LIKE 'rollup%'"
            )
            parts = {
                "events (table)": await size("SELECT pg_relation_size('events')"),
                "events (indexes: primary key, project and ts)": await size(
                    "SELECT pg_indexes_size('events')"
                ),
                "dictionary (texts, with its indexes)": await size(
                    "SELECT pg_total_relation_size('texts')"
                ),
                "project numbers": await size("SELECT pg_total_relation_size('project_numbers')"),
                "rollups (tables and indexes)": await size(rollups),
                "events, pg_total_relation_size": await size(
                    "SELECT pg_total_relation_size('events')"
                ),
            }
        finally:
            await connection.close()
        parts["events with indexes and dictionary"] = sum(list(parts.values())[:3])
        print(f"PostgreSQL: stored at {rate:,.0f} events/s through add() (batches of {BATCH}).\n")
        _report("PostgreSQL after VACUUM ANALYZE", parts, len(events))
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        finally:
            await admin.close()


def encode_cost(events: list[Event]) -> tuple[float, float]:
    """Microseconds per event of what the writers add to the hot path, every text known
    (the warm cache): an event's row (:func:`event_values`), then its ids
    (:meth:`Dictionary.encode`), over batches of 1000; medians of 5."""
    sample = events[:100_000]
    cache = Dictionary()
    ids: dict[str, int] = {}
    for row in map(event_values, sample):
        for t in row[FIXED:]:
            if t is not None:
                ids.setdefault(t, len(ids) + 1)
    cache.learn({PROJECT: 1}, {1: ids})
    rows_us, encode_us = [], []
    for _ in range(5):
        began = time.perf_counter()
        rows = [event_values(e) for e in sample]
        middle = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            assert cache.encode(rows[start : start + BATCH]) is not None
        end = time.perf_counter()
        rows_us.append((middle - began) / len(sample) * 1e6)
        encode_us.append((end - middle) / len(sample) * 1e6)
    return statistics.median(rows_us), statistics.median(encode_us)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=550_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    events = generate(args.events, args.days)
    filled = sum(e.country is not None and e.browser is not None for e in events)
    print(f"## Disk space per event, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(
        f"{len(events):,} events of one project over {args.days} days "
        f"({len({e.visitor_hash for e in events}):,} visitors, "
        f"{len({e.path for e in events}):,} paths, "
        f"{len({e.referrer for e in events}):,} referrers, "
        f"{len({e.city for e in events}):,} cities); "
        f"{filled / len(events):.0%} with browser and country.\n"
    )
    rows_us, encode_us = encode_cost(events)
    print(
        f"Per event, every field filled and every text known: {rows_us:.2f} µs to make its "
        f"row, {encode_us:.2f} µs to turn its texts into ids (medians of 5).\n"
    )
    backends = args.backends.split(",")
    if "sqlite" in backends:
        asyncio.run(run_sqlite(events))
    if "postgres" in backends:
        asyncio.run(run_postgres(events))


if __name__ == "__main__":
    main()
