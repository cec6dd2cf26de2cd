"""A PostgreSQL server that stops answering (issue 16, item 4), behind a TCP proxy the test
freezes, as SIGSTOP would freeze the server (the shared test server stays untouched):
events and /healthz answer 503 within the statement deadline instead of waiting, the
server recovers by itself when the database answers again, and every event answered 202
is stored."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from privalytics.adapters.sqlalchemy import open_stores
from privalytics.domain.models import TimeRange
from tests.servers import BROWSER, Server, cli_json
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DEADLINE = 1.0  # PRIVALYTICS_STATEMENT_TIMEOUT of the server under test
# Answers on a loaded 2-core machine may be late; a hang is minutes.
LATE = DEADLINE + 5.0
SENDERS = 4


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    url = make_url(postgres_url)
    running = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield running
    running.close()


@pytest.fixture
def proxied_url(postgres_url: str, proxy: TcpProxy) -> str:
    url = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def server(proxied_url: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(
        proxied_url, tmp_path / "server.log", PRIVALYTICS_STATEMENT_TIMEOUT=str(DEADLINE)
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


class Sender(threading.Thread):
    """Sends events with unique paths until told to stop; records every answer."""

    def __init__(self, server: Server, token: str, name: str) -> None:
        super().__init__(daemon=True)
        self.server, self.token, self.label = server, token, name
        self.answers: list[tuple[str, int | None, float, float]] = []  # path, status, t0, t
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            n = 0
            while not self.stop.is_set():
                path = f"/hung/{self.label}-{n}"
                n += 1
                started = time.monotonic()
                try:
                    status: int | None = client.post(
                        f"{self.server.url}/api/v1/events",
                        json={"action": "visit", "path": path},
                        # A browser's agent: httpx's own is a bot's, answered 202 without
                        # the database.
                        headers={"Authorization": f"Bearer {self.token}", **BROWSER},
                    ).status_code
                except httpx.TransportError:
                    status = None
                self.answers.append((path, status, started, time.monotonic() - started))
                if status != 202:
                    time.sleep(0.05)


async def _stored_paths(url: str, project_id: str) -> set[str]:
    stores = open_stores(url)
    try:
        now = datetime.now(UTC)
        span = TimeRange(start=now - timedelta(hours=1), end=now + timedelta(hours=1))
        return {event.path for event in await stores.events.latest(project_id, span, 100_000)}
    finally:
        await stores.dispose()


def _health(server: Server) -> tuple[int, float]:
    started = time.monotonic()
    status = httpx.get(f"{server.url}/healthz", timeout=60).status_code
    return status, time.monotonic() - started


def test_a_frozen_database_gives_503_in_time_and_loses_no_202(
    server: Server, proxy: TcpProxy, proxied_url: str, postgres_url: str
) -> None:
    created = cli_json(proxied_url, "project", "create", "Hung database")
    token, project_id = created["token"], created["project"]["id"]
    senders = [Sender(server, token, str(i)) for i in range(SENDERS)]
    for sender in senders:
        sender.start()
    # Frozen only once every sender has had events accepted.
    deadline = time.monotonic() + 60
    while not all(any(a[1] == 202 for a in sender.answers) for sender in senders):
        assert time.monotonic() < deadline, "no event was accepted before the freeze"
        time.sleep(0.1)
    frozen_at = time.monotonic()
    proxy.freeze()
    try:
        time.sleep(DEADLINE + 0.5)
        frozen_health = _health(server)
        time.sleep(2.0)
    finally:
        proxy.thaw()
        thawed_at = time.monotonic()
    deadline = time.monotonic() + 60
    while _health(server)[0] != 200:
        assert time.monotonic() < deadline, "the server did not recover"
        time.sleep(0.2)
    # Until events are accepted again (the assertions below say when that failed).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        a[1] == 202 and a[2] > thawed_at for sender in senders for a in list(sender.answers)
    ):
        time.sleep(0.1)
    for sender in senders:
        sender.stop.set()
    for sender in senders:
        sender.join(timeout=90)
    answers = [answer for sender in senders for answer in sender.answers]

    assert frozen_health[0] == 503
    assert frozen_health[1] < LATE, frozen_health
    during = [a for a in answers if frozen_at + 0.2 <= a[2] and a[2] + a[3] <= thawed_at]
    assert during, "no request was answered while the database was frozen"
    assert {status for _, status, _, _ in during} == {503}, during
    # Every request is answered, none waits for the database past the deadline.
    assert all(status is not None for _, status, _, _ in answers)
    started_frozen = [a for a in answers if frozen_at <= a[2] < thawed_at]
    assert max(elapsed for *_, elapsed in started_frozen) < LATE
    accepted = {path for path, status, _, _ in answers if status == 202}
    assert len({p for p, s, t, _ in answers if s == 202 and t < frozen_at}) > 0
    assert len({p for p, s, t, _ in answers if s == 202 and t > thawed_at}) > 0

    stored = asyncio.run(_stored_paths(postgres_url, project_id))
    assert accepted <= stored, sorted(accepted - stored)[:10]
    assert "Traceback" not in server.log.read_text()
