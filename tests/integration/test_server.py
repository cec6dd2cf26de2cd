"""The real thing, as a new user runs it: `privalytics` commands and `privalytics serve`
in subprocesses, on a SQLite file and on the PostgreSQL server, spoken to over HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import REDIS_URL, require_server
from tests.servers import BROWSER, Server, cli, cli_json

pytestmark = pytest.mark.slow

# Distinctive values that must never be written anywhere.
VISITOR_IPS = ["203.0.113.77", "198.51.100.203", "2001:db8::beef"]
AGENTS = ["PrivacyProbe/1.0 (ua-canary-7f3a)", "PrivacyProbe/2.0 (ua-canary-91c2)"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    # The test client stands for a reverse proxy on loopback that forwards visitors; debug
    # logging, so that the privacy checks read everything the server can log.
    running = Server(
        database_url,
        tmp_path / "server.log",
        PRIVALYTICS_TRUSTED_PROXIES="127.0.0.1,::1",
        PRIVALYTICS_LOG_LEVEL="debug",
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def _send(server: Server, token: str, event: dict[str, Any], ip: str, agent: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/events",
        json=event,
        timeout=10,
        headers={
            "Authorization": f"Bearer {token}",
            "X-Forwarded-For": ip,
            "User-Agent": agent,
        },
    )


def test_a_new_user_creates_a_project_sends_every_action_and_reads_correct_numbers(
    server: Server, database_url: str, tmp_path: Path
) -> None:
    created = cli_json(
        database_url,
        "project",
        "create",
        "My blog",
        "--rate-limit",
        "1000/minute",
        "--allowed-origin",
        "https://blog.example",
    )
    assert created["project"]["name"] == "My blog"
    assert created["project"]["rate_limit"] == "1000/minute"
    token, project_id = created["token"], created["project"]["id"]
    admin_key = cli_json(database_url, "admin", "key", "create")["key"]

    # Three visitors (by address and agent) browse; a backend reports a fourth.
    visits = [("/", 0, 0), ("/", 1, 0), ("/pricing", 0, 0), ("/", 2, 1), ("/blog/", 2, 1)]
    for path, ip, agent in visits:
        response = _send(
            server,
            token,
            {"action": "visit", "path": path, "referrer": "https://duckduckgo.com/?q=x"},
            VISITOR_IPS[ip],
            AGENTS[agent],
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 1}
    others = [
        {"action": "click", "path": "/", "target": "Sign up"},
        {"action": "scroll", "path": "/pricing", "value": 80},
        {"action": "download", "path": "/", "target": "/files/guide.pdf"},
        {"action": "share", "path": "/blog/", "target": "mastodon"},
    ]
    batch = httpx.post(
        f"{server.url}/api/v1/events/batch",
        timeout=10,
        headers={
            "Authorization": f"Bearer {token}",
            "Origin": "https://blog.example",
            "X-Forwarded-For": VISITOR_IPS[0],
            "User-Agent": AGENTS[0],
        },
        json={"events": others},
    )
    assert batch.status_code == 202, batch.text
    assert batch.json() == {"accepted": 4}
    # A backend names its visitor: with a server token, issued through the admin API.
    issued = httpx.post(
        f"{server.url}/api/v1/projects/{project_id}/tokens?kind=server",
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )
    assert issued.status_code == 201, issued.text
    backend = httpx.post(
        f"{server.url}/api/v1/events",
        timeout=10,
        content=json.dumps(
            {
                "token": issued.json()["token"],
                "action": "visit",
                "path": "https://blog.example/pricing?ref=mail",
                "visitor_ip": "192.0.2.55",
                "user_agent": "BackendSeenAgent/3.1 (ua-canary-00aa)",
            }
        ),
        # The event names its visitor's agent: the request's own (httpx's) is not read.
        headers={"Content-Type": "text/plain"},
    )
    assert backend.status_code == 202, backend.text
    assert backend.json() == {"accepted": 1}

    stats = httpx.get(
        f"{server.url}/api/v1/projects/{project_id}/stats?period=24h",
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["visits"] == 6
    assert body["unique_visitors"] == 4
    assert body["actions"] == {
        "visit": 6,
        "click": 1,
        "scroll": 1,
        "download": 1,
        "share": 1,
        "custom": 0,
    }
    assert body["top_pages"] == [
        {"path": "/", "visits": 3, "unique_visitors": 3},
        {"path": "/pricing", "visits": 2, "unique_visitors": 2},
        {"path": "/blog/", "visits": 1, "unique_visitors": 1},
    ]
    assert len(body["recent"]) == 24
    assert sum(bucket["visits"] for bucket in body["recent"]) == 6

    # The CLI reads the same numbers from the same database.
    printed = cli_json(database_url, "stats", project_id)
    assert printed["visits"] == 6
    assert printed["unique_visitors"] == 4

    server.stop()
    _assert_never_written(database_url, tmp_path, server.log)


def _assert_never_written(database_url: str, tmp_path: Path, log: Path) -> None:
    """No raw address or agent in the database (file bytes, or every row as text) or logs."""
    secrets = [*VISITOR_IPS, "192.0.2.55", *AGENTS, "ua-canary"]
    dumps = [log.read_bytes()]
    if database_url.startswith("sqlite"):
        dumps += [path.read_bytes() for path in tmp_path.glob("analytics.db*")]
    else:
        dumps.append(_postgres_dump(database_url).encode())
    for dump in dumps:
        for secret in secrets:
            assert secret.encode() not in dump, f"{secret!r} was written"
    assert b"Traceback" not in dumps[0]


def _postgres_dump(database_url: str) -> str:
    import asyncio

    import asyncpg

    async def dump() -> str:
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            tables = [
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            ]
            rows = []
            for table in tables:
                rows += [str(dict(r)) for r in await conn.fetch(f'SELECT * FROM "{table}"')]
            return "\n".join(rows)
        finally:
            await conn.close()

    return asyncio.run(dump())


def test_bad_requests_get_their_4xx_and_nothing_is_half_written(
    server: Server, database_url: str
) -> None:
    created = cli_json(
        database_url,
        "project",
        "create",
        "Shop",
        "--rate-limit",
        "5/minute",
        "--allowed-origin",
        "https://shop.example",
    )
    token, project_id = created["token"], created["project"]["id"]
    admin_key = cli_json(database_url, "admin", "key", "create")["key"]
    auth = {"Authorization": f"Bearer {token}", **BROWSER}
    url = f"{server.url}/api/v1/events"
    cases: list[tuple[str, dict[str, str], bytes, int]] = [
        ("malformed JSON", auth, b'{"action": "visit", ', 400),
        ("unknown action", auth, b'{"action": "teleport", "path": "/"}', 400),
        ("scroll without depth", auth, b'{"action": "scroll", "path": "/"}', 400),
        ("no token", {}, b'{"action": "visit", "path": "/"}', 401),
        (
            "forged token",
            {"Authorization": "Bearer pvt_0000000000000000_" + "0" * 72},
            b'{"action": "visit", "path": "/"}',
            401,
        ),
        (
            "other origin",
            {**auth, "Origin": "https://evil.example"},
            b'{"action": "visit", "path": "/"}',
            403,
        ),
        (
            "too large",
            auth,
            b'{"action": "visit", "path": "/", "target": "' + b"x" * 3_000_000 + b'"}',
            413,
        ),
    ]
    for what, headers, body, status in cases:
        response = httpx.post(
            url, content=body, timeout=10, headers={"Content-Type": "application/json", **headers}
        )
        assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
        assert response.json()["message"], what
    half = {
        "events": [
            {"action": "visit", "path": "/ok"},
            {"action": "scroll", "path": "/bad"},
        ]
    }
    refused = httpx.post(f"{url}/batch", json=half, headers=auth, timeout=10)
    assert refused.status_code == 400
    assert "event 1" in refused.json()["message"]
    statuses = [
        httpx.post(url, json={"action": "visit", "path": "/"}, headers=auth, timeout=10).status_code
        for _ in range(7)
    ]
    assert statuses == [202] * 5 + [429] * 2
    stats = httpx.get(
        f"{server.url}/api/v1/projects/{project_id}/stats",
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    ).json()
    assert stats["actions"] == {
        "visit": 5,
        "click": 0,
        "scroll": 0,
        "download": 0,
        "share": 0,
        "custom": 0,
    }


@pytest.mark.postgres
def test_a_long_multibyte_path_is_a_400_on_postgresql_and_a_max_length_one_is_stored(
    postgres_url: str, tmp_path: Path
) -> None:
    """2041 CJK characters are within the path's character limit but over the index row
    limit of PostgreSQL: a clear 400, not a 500, and nothing stored."""
    running = Server(postgres_url, tmp_path / "server.log")
    try:
        running.wait_ready()
        created = cli_json(postgres_url, "project", "create", "Long paths")
        token, project_id = created["token"], created["project"]["id"]
        admin_key = cli_json(postgres_url, "admin", "key", "create")["key"]
        auth = {"Authorization": f"Bearer {token}", **BROWSER}
        cjk = "/" + "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2040))
        refused = httpx.post(
            f"{running.url}/api/v1/events",
            json={"action": "visit", "path": cjk},
            headers=auth,
            timeout=10,
        )
        assert refused.status_code == 400, refused.text
        assert "bytes" in refused.json()["message"]
        longest = "/" + "a" * 2047
        accepted = httpx.post(
            f"{running.url}/api/v1/events",
            json={"action": "visit", "path": longest},
            headers=auth,
            timeout=10,
        )
        assert accepted.status_code == 202, accepted.text
        stats = httpx.get(
            f"{running.url}/api/v1/projects/{project_id}/stats",
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=10,
        ).json()
    finally:
        running.stop()
    assert stats["visits"] == 1
    assert [page["path"] for page in stats["top_pages"]] == [longest]


@pytest.mark.postgres
def test_serve_never_prints_the_database_password(postgres_url: str, tmp_path: Path) -> None:
    """`serve` hands every setting, the database URL included, to its workers through the
    environment; neither its output nor a worker's log shows the password, while it runs
    (debug logging, a refused request) or when the database cannot be reached."""
    url = make_url(postgres_url)
    # The test server trusts local connections when its URL names no password.
    password = url.password or "hunter2serve"
    with_password = url.set(password=password).render_as_string(hide_password=False)
    running = Server(with_password, tmp_path / "serve.log", "--log-level", "debug")
    try:
        running.wait_ready()
        assert httpx.post(f"{running.url}/api/v1/events", json={}, timeout=10).status_code == 400
        assert httpx.get(f"{running.url}/api/v1/projects", timeout=10).status_code == 401
    finally:
        running.stop()
    unreachable = url.set(password=password, host="127.0.0.1", port=1)
    done = cli(unreachable.render_as_string(hide_password=False), "serve", "--port", "1")
    assert done.returncode != 0
    for output in (running.log.read_text(), done.stdout + done.stderr):
        assert password not in output
    assert "privalytics listening" in running.log.read_text()


def _printed(log: str, label: str) -> str:
    (line,) = [line for line in log.splitlines() if line.strip().startswith(label)]
    return line.split(label, 1)[1].strip()


def test_serve_demo_prints_a_working_token_and_admin_key_once(tmp_path: Path) -> None:
    """The README's first command: `serve --demo` on a new SQLite file."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    first = Server(database_url, tmp_path / "first.log", "--demo")
    try:
        first.wait_ready()
        log = first.log.read_text()
        token = _printed(log, "tracking token:")
        admin_key = _printed(log, "admin API key:")
        (hint,) = [line for line in log.splitlines() if "curl" in line]
        # The example names the port the server listens on, not a default.
        stats_url = hint.split("'")[-2]
        assert stats_url.startswith(f"{first.url}/api/v1/projects/")
        admin = {"Authorization": f"Bearer {admin_key}"}
        stats = httpx.get(stats_url, headers=admin, timeout=10)
        assert stats.status_code == 200, stats.text
        before = sum(stats.json()["actions"].values())
        assert stats.json()["visits"] > 0
        sent = httpx.post(
            f"{first.url}/api/v1/events",
            json={"action": "visit", "path": "/from-the-test"},
            headers={"Authorization": f"Bearer {token}", **BROWSER},
            timeout=10,
        )
        assert sent.status_code == 202, sent.text
        after = httpx.get(stats_url, headers=admin, timeout=10).json()
        assert sum(after["actions"].values()) == before + 1
        # The printed dashboard user signs in.
        dashboard = _printed(log, "dashboard:")
        password = dashboard.split("password ", 1)[1].strip(" ')")
        with httpx.Client(base_url=first.url, timeout=10) as browser:
            form = browser.get("/dashboard/login").text
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form)
            assert csrf is not None, form
            signed_in = browser.post(
                "/dashboard/login",
                data={
                    "_csrf_token": csrf.group(1),
                    "username": "demo",
                    "password": password,
                    "next": "/dashboard",
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            assert "Demo site" in browser.get("/dashboard").text
    finally:
        first.stop()
    second = Server(database_url, tmp_path / "second.log", "--demo")
    try:
        second.wait_ready()
        again = second.log.read_text()
        projects = httpx.get(f"{second.url}/api/v1/projects", headers=admin, timeout=10)
    finally:
        second.stop()
    # No "add a user" after the demo made one, on the first run or a later one.
    for text in (log, again):
        (listening,) = [line for line in text.splitlines() if "listening on" in line]
        assert "add a user" not in listening
    # A later run says how to get new secrets (tests/integration/test_demo.py runs them).
    assert "privalytics admin key create" in again
    assert token not in again
    assert admin_key not in again
    assert [p["name"] for p in projects.json()["projects"]] == ["Demo site"]


def test_several_workers_refuse_the_in_memory_rate_limiter(tmp_path: Path) -> None:
    done = cli(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", "serve", "--workers", "2")
    assert done.returncode == 2
    assert "needs a shared rate limiter" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.redis
def test_the_rate_limit_holds_across_worker_processes_with_redis(tmp_path: Path) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}"
    created = cli_json(database_url, "project", "create", "Busy", "--rate-limit", "20/hour")
    running = Server(
        database_url, tmp_path / "workers.log", "--workers", "2", "--rate-limit-url", REDIS_URL
    )
    try:
        running.wait_ready()
        statuses = []
        # New connections each time, so the kernel spreads them over both workers.
        for _ in range(60):
            response = httpx.post(
                f"{running.url}/api/v1/events",
                timeout=10,
                json={"action": "visit", "path": "/"},
                headers={"Authorization": f"Bearer {created['token']}", **BROWSER},
            )
            statuses.append(response.status_code)
    finally:
        running.stop()
    assert statuses.count(202) == 20
    assert statuses.count(429) == 40


def test_a_bad_database_url_is_a_clear_message_not_a_traceback() -> None:
    done = cli("mysql://root:hunter2@localhost/x", "project", "list")
    assert done.returncode == 2
    assert "accepted forms" in done.stderr
    assert "hunter2" not in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_database_is_a_clear_message_without_its_password() -> None:
    done = cli("postgresql+asyncpg://u:hunter2@127.0.0.1:1/x", "project", "list")
    assert done.returncode == 1
    assert "no database server answers at 127.0.0.1:1" in done.stderr
    assert "hunter2" not in done.stderr
    assert "Traceback" not in done.stderr


def test_with_a_city_database_nothing_of_the_address_or_its_record_is_written(
    database_url: str, tmp_path: Path
) -> None:
    """An operator's City database (with coordinates, postal code, network owner...):
    events from an address it places, on the real server; neither the address, the agent
    nor anything of the record finer than the city reaches the database or the log."""
    from tests.unit.test_geo_locators import NETWORKS, write_mmdb

    # What the record holds beyond the city (coordinates, time zone, postal code, network
    # owner and range): texts too distinctive to turn up in a hash or a timestamp.
    finer = ["51.5142", "0.0931", "Europe/London", "EC2V", "Andrews & Arnold", "81.2.69.0/24"]

    city_db = write_mmdb(tmp_path / "city.mmdb", NETWORKS, "GeoLite2-City", 6)
    london = ["81.2.69.160", "2a02:8108::1"]
    running = Server(
        database_url,
        tmp_path / "server.log",
        PRIVALYTICS_TRUSTED_PROXIES="127.0.0.1,::1",
        PRIVALYTICS_LOG_LEVEL="debug",
        PRIVALYTICS_GEOIP_DATABASE=str(city_db),
    )
    try:
        running.wait_ready()
        created = cli_json(database_url, "project", "create", "Geo")
        token = created["token"]
        for ip, agent in zip(london, AGENTS, strict=True):
            event = {"action": "visit", "path": "/?utm_source=mail", "screen_width": 390}
            response = _send(running, token, event, ip, agent)
            assert response.status_code == 202, response.text
        bad = _send(
            running,
            token,
            {"action": "visit", "path": "/", "screen_width": -1},
            *london[:1],
            AGENTS[0],
        )
        assert bad.status_code == 400
    finally:
        running.stop()
    dumps = [running.log.read_bytes()]
    if database_url.startswith("sqlite"):
        dumps += [path.read_bytes() for path in tmp_path.glob("analytics.db*")]
    else:
        dumps.append(_postgres_dump(database_url).encode())
    for dump in dumps:
        for secret in [*london, "2a02:8108:0:0", *AGENTS, "ua-canary", *finer]:
            assert secret.encode() not in dump, f"{secret!r} was written"
    assert b"Traceback" not in dumps[0]


def test_bots_are_answered_202_counted_in_the_bot_log_and_it_outlives_a_restart(
    server: Server, database_url: str, tmp_path: Path
) -> None:
    created = cli_json(database_url, "project", "create", "Bots")
    token, project_id = created["token"], created["project"]["id"]
    admin = {"Authorization": f"Bearer {cli_json(database_url, 'admin', 'key', 'create')['key']}"}
    visit = {"action": "visit", "path": "/"}
    auth = {"Authorization": f"Bearer {token}"}
    # httpx's own agent, then Googlebot's, an empty one and a driven browser's.
    for headers, body in [
        (auth, visit),
        ({**auth, "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}, visit),
        ({**auth, "User-Agent": ""}, visit),
        ({**auth, **BROWSER}, {**visit, "wd": True}),
    ]:
        response = httpx.post(f"{server.url}/api/v1/events", json=body, headers=headers, timeout=10)
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 0}
    stored = httpx.post(
        f"{server.url}/api/v1/events", json=visit, headers={**auth, **BROWSER}, timeout=10
    )
    assert stored.json() == {"accepted": 1}
    expected = {"httpx": 1, "Googlebot": 1, "empty user agent": 1, "webdriver": 1}
    bots_url = f"{server.url}/api/v1/projects/{project_id}/bots?period=24h"
    body = httpx.get(bots_url, headers=admin, timeout=10).json()
    assert {row["name"]: row["count"] for row in body["reasons"]} == expected
    stats_url = f"{server.url}/api/v1/projects/{project_id}/stats?period=24h"
    assert httpx.get(stats_url, headers=admin, timeout=10).json()["visits"] == 1
    # A clean shutdown writes what the log counted; another server reads it back.
    server.stop()
    again = Server(database_url, tmp_path / "again.log")
    try:
        again.wait_ready()
        bots_url = f"{again.url}/api/v1/projects/{project_id}/bots?period=24h"
        body = httpx.get(bots_url, headers=admin, timeout=10).json()
        assert {row["name"]: row["count"] for row in body["reasons"]} == expected
    finally:
        again.stop()
