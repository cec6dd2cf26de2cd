"""An acknowledged event survives ``kill -9`` of the server: a 202 is sent only after its
transaction committed, new texts of the dictionary included (migration 0006)."""

from __future__ import annotations

import asyncio
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import true

from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.domain.models import Event
from tests.servers import Server, cli_json

SENDERS = 8
PER_SENDER = 60
KILL_AFTER = 120  # acknowledged events


def _stored(url: str) -> list[Event]:
    async def read() -> list[Event]:
        stores = open_stores(url)
        try:
            async with stores.engine.connect() as connection:
                return await read_events(connection, true())
        finally:
            await stores.dispose()

    return asyncio.run(read())


def test_every_acknowledged_event_is_stored_after_kill_9(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    asyncio.run(migrate(url))
    created = cli_json(url, "project", "create", "Killed", "--rate-limit", "100000/second")
    token = created["token"]
    running = Server(url, tmp_path / "server.log")
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def send(sender: int) -> None:
        with httpx.Client(timeout=10) as client:
            for n in range(PER_SENDER):
                # A new path, source and browser each time: every event brings new texts.
                path = f"/s{sender}/n{n}"
                try:
                    answer = client.post(
                        f"{running.url}/api/v1/events",
                        json={"action": "visit", "path": path, "referrer": f"https://r{n}.org/"},
                        headers={"Authorization": f"Bearer {token}", "User-Agent": f"UA {n}"},
                    )
                except httpx.TransportError:
                    return  # the server is gone
                if answer.status_code == 202:
                    with lock:
                        acknowledged.append(path)
                        if len(acknowledged) >= KILL_AFTER:
                            enough.set()

    try:
        running.wait_ready()
        with ThreadPoolExecutor(SENDERS) as pool:
            sent = [pool.submit(send, k) for k in range(SENDERS)]
            enough.wait(timeout=120)
            running.process.send_signal(signal.SIGKILL)
            running.process.wait()
            for future in sent:
                future.result()
    finally:
        running.stop()
    assert len(acknowledged) >= KILL_AFTER
    stored = _stored(url)
    paths = {event.path for event in stored}
    assert set(acknowledged) <= paths
    assert len(paths) == len(stored)  # each stored once
    by_path = {event.path: event for event in stored}
    assert all(by_path[p].referrer == f"https://r{p.split('n')[-1]}.org/" for p in acknowledged)
