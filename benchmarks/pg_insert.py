"""The PostgreSQL event insert as the server makes it (``SqlAlchemyEventStore.add``: one
statement storing the events and marking their days stale), per call, in process, on a
fresh database of the server at ``PRIVALYTICS_BENCH_POSTGRES`` (default: the test server).
The database commits without waiting for the disk (``synchronous_commit = off``), so that
the figure is the statement's work, not the disk's flush, which would swamp it.

    python -m benchmarks.pg_insert
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.engine import make_url

from benchmarks.batch_insert import _events
from privalytics.adapters.sqlalchemy import migrate, open_stores

SERVER = os.environ.get(
    "PRIVALYTICS_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def _admin(statement: str) -> None:
    url = make_url(SERVER).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _measure(calls: int, repeats: int) -> dict[str, float]:
    name = f"privalytics_bench_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
        await _admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        await migrate(url)
        stores = open_stores(url)
        try:
            results: dict[str, float] = {}
            for size in (1, 100):
                batch = _events(size)
                await stores.events.add(batch)  # the connection and the prepared statement
                timings = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    for _ in range(calls):
                        await stores.events.add(batch)
                    timings.append((time.perf_counter() - start) / calls * 1e6)
                results[f"add() of {size} event(s)"] = statistics.median(timings)
            return results
        finally:
            await stores.dispose()
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_pg_insert(calls: int = 2000, repeats: int = 5) -> dict[str, float]:
    return asyncio.run(_measure(calls, repeats))


if __name__ == "__main__":
    for label, micros in run_pg_insert().items():
        print(f"{label}: {micros:.0f} µs per call ({datetime.now(UTC):%Y-%m-%d})")
