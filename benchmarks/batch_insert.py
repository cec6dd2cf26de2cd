"""Batch insert rates on SQLite, in process: raw ``sqlite3.executemany`` of the rows vs the
event store's ``add()`` as the server uses it (its writer thread groups calls itself), the
same rows, the same schema (the stale-marking trigger included) and durability (WAL,
synchronous=FULL), one transaction per batch.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.adapters.sqlalchemy.dictionary import FIXED, STORED_COLUMNS, event_values
from privalytics.adapters.sqlalchemy.engine import SQLITE_PRAGMAS
from privalytics.domain.models import Action, Event

_INSERT = (
    f"INSERT INTO events ({', '.join(STORED_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(STORED_COLUMNS))})"
)


def _events(count: int) -> list[Event]:
    now = datetime.now(UTC)
    return [
        Event(
            project_id="p" * 32,
            action=Action.VISIT,
            path=f"/blog/post-{i % 50}",
            timestamp=now,
            visitor_hash=f"{i:016x}",
            referrer="https://news.example.com/",
        )
        for i in range(count)
    ]


async def _migrated(folder: Path, name: str) -> tuple[str, Path]:
    path = folder / f"{name}.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate(url)
    return url, path


def _raw(path: Path, batches: list[list[Event]]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)
    ids: dict[str, int] = {}
    for batch in batches:
        for row in map(event_values, batch):
            for t in row[FIXED:]:
                if t is not None:
                    ids.setdefault(t, len(ids) + 1)
    start = time.perf_counter()
    for batch in batches:
        # Row building included, texts to ids from a dict (as if every text were known):
        # the store pays for it too.
        rows = [
            (1, *row[1:FIXED], *[None if t is None else ids[t] for t in row[FIXED:]])
            for row in map(event_values, batch)
        ]
        connection.execute("BEGIN")
        connection.executemany(_INSERT, rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


async def _store(url: str, batches: list[list[Event]]) -> float:
    stores = open_stores(url)
    await stores.events.add(batches[0][:1])  # open the connection outside the timing
    start = time.perf_counter()
    for batch in batches:
        await stores.events.add(batch)
    elapsed = time.perf_counter() - start
    await stores.dispose()
    return elapsed


async def _measure(rows: int, batch_size: int, repeats: int) -> dict[str, float]:
    events = _events(rows)
    batches = [events[i : i + batch_size] for i in range(0, rows, batch_size)]
    timings: dict[str, list[float]] = {"raw sqlite3.executemany": [], "store add()": []}
    with tempfile.TemporaryDirectory(prefix="privalytics-batch-") as name:
        folder = Path(name)
        for repeat in range(repeats):
            _, raw_path = await _migrated(folder, f"raw{repeat}")
            timings["raw sqlite3.executemany"].append(_raw(raw_path, batches))
            url, _ = await _migrated(folder, f"store{repeat}")
            timings["store add()"].append(await _store(url, batches))
    return {name: rows / statistics.median(times) for name, times in timings.items()}


def run_batch_insert(
    rows: int = 20_000, batch_size: int = 100, repeats: int = 3
) -> dict[str, float]:
    """Rows per second (median of ``repeats``) of each way, ``batch_size`` rows per commit."""
    return asyncio.run(_measure(rows, batch_size, repeats))


if __name__ == "__main__":
    for name, rate in run_batch_insert().items():
        print(f"{name}: {rate:,.0f} rows/s")
