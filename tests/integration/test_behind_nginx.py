"""Two instances behind a real nginx, as docs/deployment.md sets it up: they share the
rate limits, the dashboard sessions and the live feed, and a kill -9 of one of them under
load loses no acknowledged event."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, REDIS_URL, REQUIRE_SERVICES, require_server
from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, create_user
from tests.integration.conftest import (
    create_database,
    drop_database,
    fresh_database_name,
    run_in_thread,
)
from tests.integration.test_dashboard_instances import _until_subscribed
from tests.servers import Server, _free_port, cli, cli_json

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else ""
    )
    if not found:
        message = "nginx is not installed (apt-get install nginx)"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (PRIVALYTICS_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    return found


def _config(directory: Path, port: int, upstreams: list[int]) -> str:
    servers = "\n".join(
        f"        server 127.0.0.1:{upstream} max_fails=1 fail_timeout=30s;"
        for upstream in upstreams
    )
    # As root, nginx's workers would drop to "nobody", who cannot enter pytest's
    # directories; the test's nginx keeps the test's user.
    user = "user root;" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{user}
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    upstream privalytics {{
{servers}
        keepalive 32;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://privalytics;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        conf = directory / "nginx.conf"
        conf.write_text(_config(directory, self.port, upstreams))
        self.process = subprocess.Popen(
            [_nginx(), "-c", str(conf), "-p", str(directory), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise AssertionError(f"nginx exited: {error}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("nginx did not listen")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


class Site:
    def __init__(
        self, nginx: Nginx, first: Server, second: Server, created: Any, key: str, url: str
    ) -> None:
        self.nginx, self.first, self.second = nginx, first, second
        self.database_url = url
        self.project_id: str = created["project"]["id"]
        self.token: str = created["token"]
        self.admin = {"Authorization": f"Bearer {key}"}


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh PostgreSQL database (the servers migrate it)."""
    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    name = fresh_database_name()
    url = run_in_thread(create_database(name))
    try:
        yield url
    finally:
        run_in_thread(drop_database(name))


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    require_server(REDIS_URL, 6379, "Redis")
    _nginx()
    assert cli(database_url, "migrate").returncode == 0
    create_user(database_url, USERNAME, PASSWORD)
    created = cli_json(database_url, "project", "create", "Behind nginx", "--rate-limit", "40/hour")
    key = cli_json(database_url, "admin", "key", "create")["key"]
    shared = {
        "PRIVALYTICS_RATE_LIMIT_URL": REDIS_URL,
        "PRIVALYTICS_SECRET_KEY": "n" * 40,
        "PRIVALYTICS_TRUSTED_PROXIES": "127.0.0.1",
        "PRIVALYTICS_BCRYPT_ROUNDS": "4",
    }
    first = Server(database_url, tmp_path / "a.log", **shared)
    second = Server(database_url, tmp_path / "b.log", **shared)
    nginx: Nginx | None = None
    try:
        first.wait_ready()
        second.wait_ready()
        nginx = Nginx(tmp_path / "nginx", [first.port, second.port])
        yield Site(nginx, first, second, created, key, database_url)
    finally:
        if nginx is not None:
            nginx.stop()
        first.stop()
        second.stop()


def _event(site: Site, client: httpx.Client, path: str) -> int:
    response = client.post(
        "/api/v1/events",
        json={"action": "visit", "path": path},
        headers={"Authorization": f"Bearer {site.token}", "User-Agent": AGENT},
    )
    return response.status_code


def test_the_rate_limit_sessions_and_the_live_feed_are_shared(site: Site) -> None:
    # Rate limit: nginx spreads the requests over both instances; the project's 40/hour
    # holds for the pair, not 40 each.
    with httpx.Client(base_url=site.nginx.url, timeout=10) as client:
        statuses = [_event(site, client, f"/limited/{index}") for index in range(60)]
    assert statuses.count(202) == 40
    assert statuses.count(429) == 20

    # Sessions: signed in once; every later request, whichever instance takes it, is in.
    with httpx.Client(base_url=site.nginx.url, timeout=10) as client:
        page = client.get("/dashboard/login")
        token = _CSRF.search(page.text)
        assert token
        signed_in = client.post(
            "/dashboard/login",
            data={"username": USERNAME, "password": PASSWORD, "_csrf_token": token.group(1)},
        )
        assert signed_in.status_code == 303, signed_in.text
        pages = [client.get(f"/dashboard/projects/{site.project_id}") for _ in range(6)]
        assert [page.status_code for page in pages] == [200] * 6
        cookie = client.cookies.get("privalytics_session")

    # The live feed: a page open through nginx sees events whichever instance stores them.
    async def watch() -> list[str]:
        address = site.nginx.url.replace("http://", "ws://")
        async with websockets.connect(
            f"{address}/dashboard/projects/{site.project_id}/live",
            additional_headers={
                "Cookie": f"privalytics_session={cookie}",
                "Origin": site.nginx.url,
            },
            open_timeout=10,
        ) as feed:
            await _until_subscribed(site.project_id)  # an instance listens on Redis
            seen: list[str] = []
            # Straight to each instance, so both are known to have stored one.
            for server, path in ((site.first, "/live/first"), (site.second, "/live/second")):
                async with httpx.AsyncClient(base_url=server.url) as direct:
                    response = await direct.post(
                        "/api/v1/events",
                        json={"action": "visit", "path": path},
                        headers={"Authorization": f"Bearer {site.token}", "User-Agent": AGENT},
                    )
                    assert response.status_code == 202, response.text
            while len(seen) < 2:
                message = await asyncio.wait_for(feed.recv(), timeout=10)
                text = message if isinstance(message, str) else message.decode()
                seen.extend(event["path"] for event in json.loads(text))
            return seen

    with httpx.Client(base_url=site.nginx.url, timeout=10) as client:
        raised = client.patch(
            f"/api/v1/projects/{site.project_id}",
            json={"rate_limit": "100000/hour"},
            headers=site.admin,
        )
        assert raised.status_code == 200, raised.text
    # Each instance remembers a project's settings for PRIVALYTICS_CACHE_TTL (30 s): the
    # instance that did not take the change may refuse until then; wait it out cheaply.
    _until_both_accept(site)
    assert sorted(asyncio.run(watch())) == ["/live/first", "/live/second"]


def _until_acknowledged(acknowledged: list[str], lock: threading.Lock, count: int) -> int:
    """Wait (60 s at most) until ``count`` events were acknowledged; returns how many."""
    deadline = time.monotonic() + 60
    while True:
        with lock:
            done = len(acknowledged)
        if done >= count:
            return done
        assert time.monotonic() < deadline, f"only {done} of {count} events acknowledged"
        time.sleep(0.01)  # polling a condition, with the deadline above


def _until_both_accept(site: Site) -> None:
    deadline = time.monotonic() + 45
    for server in (site.first, site.second):
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while _event(site, client, "/warm") != 202:
                assert time.monotonic() < deadline, "the new rate limit never applied"
                time.sleep(0.5)


def test_a_kill_9_of_one_instance_under_load_loses_no_acknowledged_event(site: Site) -> None:
    with httpx.Client(base_url=site.nginx.url, timeout=10) as client:
        raised = client.patch(
            f"/api/v1/projects/{site.project_id}",
            json={"rate_limit": "100000/hour"},
            headers=site.admin,
        )
        assert raised.status_code == 200, raised.text
    _until_both_accept(site)
    acknowledged: list[str] = []
    failed: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def send(worker: int) -> None:
        with httpx.Client(base_url=site.nginx.url, timeout=10) as client:
            index = 0
            while not stop.is_set():
                path = f"/load/{worker}/{index}"
                index += 1
                try:
                    status = _event(site, client, path)
                except httpx.HTTPError:
                    status = 0
                with lock:
                    (acknowledged if status == 202 else failed).append(path)

    senders = [threading.Thread(target=send, args=(worker,)) for worker in range(8)]
    for sender in senders:
        sender.start()
    try:
        before = _until_acknowledged(acknowledged, lock, 300)
        site.first.process.kill()  # kill -9, mid-load
        site.first.process.wait()
        _until_acknowledged(acknowledged, lock, before + 300)
    finally:
        stop.set()
        for sender in senders:
            sender.join()
    with lock:
        after = len(acknowledged)
    assert before > 0
    assert after > before, "the surviving instance went on acknowledging through nginx"

    load = asyncio.run(_stored_pages(site))
    missing = [path for path in acknowledged if load.get(path, 0) < 1]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged events lost"
    # Nothing stored that nobody sent; a request cut off by the kill may have been
    # stored without its 202 reaching the client, but once at most (nginx does not retry
    # a POST it has sent).
    assert set(load) <= set(acknowledged) | set(failed)
    assert all(count == 1 for count in load.values())


async def _stored_pages(site: Site) -> dict[str, int]:
    """Each /load/ page's stored events, read from the database itself."""
    dsn = make_url(site.database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        rows = await connection.fetch(
            "SELECT t.text, count(*) FROM events e"
            " JOIN project_numbers p ON p.number = e.project"
            " JOIN texts t ON t.project = e.project AND t.id = e.path"
            " WHERE p.project_id = $1 AND t.text LIKE '/load/%' GROUP BY t.text",
            site.project_id,
        )
    finally:
        await connection.close()
    return {row[0]: row[1] for row in rows}
