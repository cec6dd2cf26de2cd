"""A Redis outage under the dashboard (issue 16, item 5), with a TCP proxy in front of Redis
that the test stops, freezes and resumes (the shared Redis stays untouched): dashboard
pages answer the HTML 503 page and the API JSON 503, in time, never 500; /livez stays 200
while /readyz says 503; once Redis is back, the same session works again without a
restart."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import REDIS_URL, require_server
from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, create_user
from tests.servers import Server, cli_json
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.redis, pytest.mark.slow]

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
DEADLINE = 1.0  # PRIVALYTICS_STATEMENT_TIMEOUT: the Redis clients' timeouts follow it
# A loaded 2-core machine answers late, but redis-py's own default (5 s) is later still.
LATE = DEADLINE + 2.5


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    require_server(REDIS_URL, 6379, "Redis")
    parts = urlsplit(REDIS_URL)
    running = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    yield running
    running.close()


@pytest.fixture
def setup(proxy: TcpProxy, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    create_user(database_url, USERNAME, PASSWORD)
    project_id: str = cli_json(database_url, "project", "create", "Outage")["project"]["id"]
    proxied = f"redis://127.0.0.1:{proxy.port}{urlsplit(REDIS_URL).path}"
    running = Server(
        database_url,
        tmp_path / "server.log",
        PRIVALYTICS_SESSION_URL=proxied,
        PRIVALYTICS_LIVE_URL=proxied,
        PRIVALYTICS_STATEMENT_TIMEOUT=str(DEADLINE),
    )
    try:
        running.wait_ready()
        yield running, project_id
    finally:
        running.stop()


def _sign_in(client: httpx.Client) -> None:
    page = client.get("/dashboard/login")
    token = _CSRF.search(page.text)
    assert token, page.text
    response = client.post(
        "/dashboard/login",
        data={"username": USERNAME, "password": PASSWORD, "_csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text


def _timed(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def _check_outage(client: httpx.Client, project_id: str) -> None:
    for path in ("/dashboard", f"/dashboard/projects/{project_id}", "/dashboard/login"):
        response, elapsed = _timed(client, path)
        assert response.status_code == 503, (path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Retry-After" in response.headers
        assert elapsed < LATE, (path, elapsed)
    ready, elapsed = _timed(client, "/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/json")
    assert elapsed < LATE
    assert client.get("/livez").status_code == 200
    # The API does not need sessions: it keeps answering.
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_a_redis_outage_is_a_503_page_and_the_session_works_again_after_it(
    setup: tuple[Server, str], proxy: TcpProxy, outage: str
) -> None:
    server, project_id = setup
    with httpx.Client(base_url=server.url, timeout=60) as client:
        _sign_in(client)
        assert client.get("/dashboard").status_code == 200
        assert client.get("/readyz").status_code == 200
        if outage == "stopped":
            proxy.stop()
        else:
            proxy.freeze()
        try:
            _check_outage(client, project_id)
        finally:
            if outage == "stopped":
                proxy.resume()
            else:
                proxy.thaw()
        # Recovery without a restart: the same session, signed in still.
        deadline = time.monotonic() + 30
        while (page := client.get("/dashboard")).status_code != 200:
            assert time.monotonic() < deadline, page.status_code
            time.sleep(0.2)
        assert "Outage" in page.text
        assert client.get("/readyz").status_code == 200
    log = server.log.read_text()
    assert "Traceback" not in log, log
    assert "Exception caught after response started" not in log
