"""What erasing a salt costs (docs/privacy.md, "Deleted salts on disk"): the purge that
deletes one (PostgreSQL: lock, TRUNCATE, copy back the current salt; SQLite: a secure
delete and a TRUNCATE checkpoint of the WAL), the purge that finds nothing (every few
minutes), and how long a salt's creation waits when it races the rewrite. Medians and
maxima in milliseconds over ``--rounds`` windows:

    python -m benchmarks.salt_purge
    python -m benchmarks.salt_purge --server postgresql+asyncpg://postgres@127.0.0.1:5432/test

PostgreSQL: a database of its own is created on ``--server`` and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from privalytics.adapters.sqlalchemy import migrate, open_stores

DAY = 86_400
FIRST = 20_000


async def _admin(server: str, statement: str) -> None:
    url = make_url(server).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def measure(url: str, rounds: int) -> dict[str, list[float]]:
    await migrate(url)
    first, second = open_stores(url), open_stores(url)
    found: dict[str, list[float]] = {"purge": [], "idle purge": [], "racing creation": []}
    try:
        for day in range(1, rounds + 1):
            current = (FIRST + day) * DAY
            await first.salts.get_or_create(current - DAY, secrets.token_bytes(32))
            await first.salts.get_or_create(current, secrets.token_bytes(32))
            started = time.perf_counter()
            assert await first.salts.delete_expired(current, DAY) == 1
            found["purge"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await first.salts.delete_expired(current, DAY)
            found["idle purge"].append(time.perf_counter() - started)
            # The next window's salt, created while a purge deletes this window's.
            purge = asyncio.create_task(first.salts.delete_expired(current + DAY, DAY))
            started = time.perf_counter()
            await second.salts.get_or_create(current + DAY, secrets.token_bytes(32))
            found["racing creation"].append(time.perf_counter() - started)
            await purge
    finally:
        await first.dispose()
        await second.dispose()
    return found


def report(backend: str, found: dict[str, list[float]]) -> None:
    for what, seconds in found.items():
        print(
            f"{backend:10} {what:16} median {statistics.median(seconds) * 1000:6.1f} ms"
            f"  max {max(seconds) * 1000:6.1f} ms"
        )


async def run(server: str, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="salt-purge-"))
    report("sqlite", await measure(f"sqlite+aiosqlite:///{folder / 'purge.db'}", rounds))
    name = f"salt_purge_{secrets.token_hex(4)}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        database = make_url(server).set(database=name).render_as_string(hide_password=False)
        report("postgresql", await measure(database, rounds))
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(run(args.server, args.rounds))


if __name__ == "__main__":
    main()
