"""Single-event adds in process on SQLite: 64 concurrent callers each storing one event
per ``add()`` (as the server does for single events), through the real writer thread;
events/s and process CPU µs per event. Compare two source trees under the same noise by
alternating them:

    python -m benchmarks.single_add
    PYTHONPATH=/tmp/base/src python -m benchmarks.single_add   # git archive <commit> src
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.domain.models import Action, Event


def _event(i: int, now: datetime) -> Event:
    return Event(
        project_id="p" * 32,
        action=Action.VISIT,
        path=f"/blog/post-{i % 50}",
        timestamp=now,
        visitor_hash=f"{i:016x}",
        referrer="https://news.example.com/",
    )


async def run(events: int, callers: int) -> tuple[float, float]:
    url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'single.db'}"
    await migrate(url)
    stores = open_stores(url)
    now = datetime.now(UTC)
    try:
        await stores.events.add([_event(i, now) for i in range(100)])  # warm: texts known
        numbers = iter(range(events))

        async def caller() -> None:
            for i in numbers:
                await stores.events.add([_event(i, now)])

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await stores.dispose()
    return events / wall, cpu / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=64)
    args = parser.parse_args()
    rate, cpu = asyncio.run(run(args.events, args.callers))
    print(f"{rate:,.0f} events/s, {cpu:.1f} µs of process CPU per event")


if __name__ == "__main__":
    main()
