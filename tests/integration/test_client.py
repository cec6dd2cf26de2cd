"""privalytics.client and the ASGI middleware against a real `privalytics serve`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, MediaType, get
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient

from privalytics.client import AsyncClient, Client, ClientOptions, Counters
from privalytics.middleware import PrivalyticsMiddleware, Receive, Scope, Send
from tests.integration.browser.events import settled_events
from tests.servers import Server, _free_port, cli_json

pytestmark = pytest.mark.slow

FAST = ClientOptions(flush_interval=0.05, backoff=0.05, max_backoff=0.2, max_retries=3)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "analytics.db"


@pytest.fixture
def server(database: Path, tmp_path: Path) -> Iterator[Server]:
    running = Server(f"sqlite+aiosqlite:///{database}", tmp_path / "server.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def project(database: Path) -> tuple[str, str]:
    """A new project and a server token of it: the client names its visitors, which only
    a server token may do (issued with the CLI, as docs/server-side.md says)."""
    url = f"sqlite+aiosqlite:///{database}"
    created = cli_json(url, "project", "create", "backend")
    project_id = created["project"]["id"]
    issued = cli_json(url, "project", "token", "rotate", project_id, "--server", "--json")
    assert issued["kind"] == "server"
    return project_id, issued["token"]


def test_the_sync_client_sends_batches_that_are_stored(server: Server, database: Path) -> None:
    project_id, token = project(database)
    with Client(server.url, token, options=ClientOptions(batch_size=10)) as client:
        for n in range(25):
            assert client.track(
                "click", f"/page/{n}", target="Buy", visitor_ip="203.0.113.5", user_agent="X/1"
            )
        assert client.flush()
        assert client.counters.sent == 25
    events = settled_events(database, project_id, expected=25)
    assert len(events) == 25
    assert {e.target for e in events} == {"Buy"}
    assert b"203.0.113.5" not in database.read_bytes()


async def test_the_async_client_sends_and_flushes(server: Server, database: Path) -> None:
    project_id, token = project(database)
    async with AsyncClient(server.url, token, options=FAST) as client:
        assert client.track("visit", "/a", referrer="https://ref.example/x?y=1")
        assert client.track("scroll", "/a", value=80)
        assert await client.flush()
        assert client.counters.sent == 2
    events = await asyncio.to_thread(settled_events, database, project_id, 2)
    assert [(e.action, e.path, e.value) for e in events] == [
        ("visit", "/a", None),
        ("scroll", "/a", 80.0),
    ]
    assert events[0].referrer == "https://ref.example/x"


def test_the_client_retries_until_the_server_answers(database: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{database}"
    cli_json(url, "project", "list")  # migrate before the server starts
    project_id, token = project(database)
    port = _free_port()
    options = ClientOptions(flush_interval=0.05, backoff=0.2, max_backoff=1.0, max_retries=30)
    with Client(f"http://127.0.0.1:{port}", token, options=options) as client:
        assert client.track("visit", "/early")
        time.sleep(0.5)  # the first attempts are refused: nothing listens yet
        server = Server(url, tmp_path / "server.log", port=port)
        try:
            server.wait_ready()
            assert client.flush(timeout=30)
            assert (client.counters.sent, client.counters.failed) == (1, 0)
        finally:
            server.stop()
    assert [e.path for e in settled_events(database, project_id, 1)] == ["/early"]


def test_an_unreachable_server_never_blocks_or_raises(tmp_path: Path) -> None:
    """Nothing listens on the port: the host app keeps going, the client gives up."""
    options = ClientOptions(
        flush_interval=0.05, backoff=0.05, max_backoff=0.1, max_retries=2, max_queue=3
    )
    client = Client(f"http://127.0.0.1:{_free_port()}", "pvt_x_y", options=options)
    started = time.monotonic()
    accepted = [client.track("visit", f"/{n}") for n in range(5)]
    assert time.monotonic() - started < 0.1
    assert client.counters.dropped == accepted.count(False)
    assert client.counters.dropped >= 1
    assert client.flush(timeout=10)
    client.close(timeout=5)
    assert client.counters.failed == accepted.count(True)
    assert client.counters.sent == 0
    assert client.track("visit", "/after-close") is False


def test_a_refused_batch_is_given_up_without_retrying(server: Server) -> None:
    with Client(server.url, "pvt_unknown_secret", options=FAST) as client:
        started = time.monotonic()
        client.track("visit", "/")
        assert client.flush(timeout=10)
        assert time.monotonic() - started < 2
        assert (client.counters.sent, client.counters.failed) == (0, 1)


def test_bad_fields_are_dropped_not_raised(server: Server) -> None:
    with Client(server.url, "pvt_unknown_secret", options=FAST) as client:
        assert client.track("visit", "/", nonsense=1) is False
        assert client.counters.dropped == 1


async def html_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
    )
    await send({"type": "http.response.body", "body": b"<p>page</p>"})


async def test_the_middleware_records_through_a_client(server: Server, database: Path) -> None:
    project_id, token = project(database)
    async with AsyncClient(server.url, token, options=FAST) as client:
        app = PrivalyticsMiddleware(html_app, client=client)
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
            for path in ("/", "/docs", "/docs"):
                assert (await http.get(path, headers={"User-Agent": "Reader/2"})).status_code == 200
        assert await client.flush()
    events = await asyncio.to_thread(settled_events, database, project_id, 3)
    assert [(e.action, e.path) for e in events] == [
        ("visit", "/"),
        ("visit", "/docs"),
        ("visit", "/docs"),
    ]
    assert b"198.51.100.7" not in await asyncio.to_thread(database.read_bytes)


def test_a_malformed_event_is_refused_by_track_and_its_neighbours_are_stored(
    server: Server, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's case: a scroll without its depth would make the server refuse the batch
    it is in; track refuses it, so the visit and the click of the same batch are stored."""
    project_id, token = project(database)
    # A batch of two: sent as soon as the visit and the click are in, and, without the
    # check, the visit and the scroll would be one batch.
    options = ClientOptions(batch_size=2, flush_interval=5.0)
    with Client(server.url, token, options=options) as client:
        tracked = [
            client.track("visit", "/a", visitor_ip="203.0.113.5", user_agent="Reader/2"),
            client.track("scroll", "/a", visitor_ip="203.0.113.5", user_agent="Reader/2"),
            client.track("click", "/a", target="Buy", visitor_ip="203.0.113.5"),
        ]
        assert client.flush()
        assert client.counters == Counters(sent=2, dropped=1, failed=0)
    assert tracked == [True, False, True]
    assert "value: a scroll event needs its depth" in caplog.text
    events = settled_events(database, project_id, expected=2)
    assert [(e.action, e.path) for e in events] == [("visit", "/a"), ("click", "/a")]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_event_the_server_refuses_costs_only_itself(
    server: Server, database: Path, kind: str
) -> None:
    """The client leaves an event's age to the server (its setting): a batch with one event
    older than the server accepts is sent again without it."""
    project_id, token = project(database)
    old = datetime.now(UTC) - timedelta(hours=30)
    options = ClientOptions(batch_size=3, flush_interval=5.0, backoff=0.05)
    tracks = [("visit", "/v", {}), ("click", "/old", {"timestamp": old}), ("click", "/c", {})]
    if kind == "sync":
        with Client(server.url, token, options=options) as sync_client:
            tracked = [sync_client.track(a, p, **f) for a, p, f in tracks]
            assert await asyncio.to_thread(sync_client.flush)
            counters = sync_client.counters
    else:
        async with AsyncClient(server.url, token, options=options) as async_client:
            tracked = [async_client.track(a, p, **f) for a, p, f in tracks]
            assert await async_client.flush()
            counters = async_client.counters
    assert tracked == [True, True, True]
    assert counters == Counters(sent=2, dropped=0, failed=1)
    events = await asyncio.to_thread(settled_events, database, project_id, 2)
    assert [(e.action, e.path) for e in events] == [("visit", "/v"), ("click", "/c")]


def test_the_middleware_under_litestars_test_client_records_the_visit_without_a_warning(
    server: Server, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Litestar's TestClient names its peer "testclient", which is no address: the visitor's
    address is unknown, and the visit is sent without one."""
    project_id, token = project(database)

    @get("/", media_type=MediaType.HTML)
    async def home() -> str:
        return "<h1>home</h1>"

    with Client(server.url, token, options=FAST) as client:
        app = Litestar([home], middleware=[DefineMiddleware(PrivalyticsMiddleware, client=client)])
        caplog.set_level(logging.WARNING, "privalytics")
        with TestClient(app) as browser:
            page = browser.get("/", headers={"User-Agent": "Mozilla/5.0 Firefox/133.0"})
            assert page.status_code == 200
        assert client.flush()
        assert client.counters == Counters(sent=1, dropped=0, failed=0)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("privalytics")] == []
    events = settled_events(database, project_id, expected=1)
    assert [(e.action, e.path) for e in events] == [("visit", "/")]
