"""`privalytics serve` at its most verbose level writes no client address and no user
agent, whatever route a client reaches, the WebSocket live feed and malformed requests
included (docs/configuration.md: "No level logs client addresses or user agents")."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from privalytics.adapters.http.app import HttpOptions, create_app
from privalytics.adapters.http.dashboard import DashboardOptions
from privalytics.testing import make_services
from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, create_user
from tests.servers import Server, cli_json

pytestmark = pytest.mark.slow

# The socket peer: a loopback address of its own, so that any trace of it in the log is
# this test's. The server believes its X-Forwarded-For, which names the visitors.
PEER = "127.0.0.77"
VISITORS = ("203.0.113.77", "2001:db8::77")
AGENT = "LogProbe/1.0 (ua-canary-5e1d)"
SITE = "https://logged.example"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _templates() -> set[str]:
    """Every route of the app `serve` runs (with the dashboard)."""
    app = create_app(make_services(), HttpOptions(dashboard=DashboardOptions(secret="s" * 40)))
    return {route.path for route in app.routes}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        (".*" if part.endswith(":path}") else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex + "/?")


@dataclass
class Visitor:
    """HTTP from :data:`PEER`, forwarded for a visitor, with :data:`AGENT`; remembers
    every path it reached."""

    server: Server
    paths: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.server.url,
            transport=httpx.HTTPTransport(local_address=PEER),
            headers={"User-Agent": AGENT, "X-Forwarded-For": VISITORS[0]},
            event_hooks={"request": [lambda request: self.paths.append(request.url.path)]},
            timeout=10,
        )

    def __call__(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text[:500]}"
        return response

    def csrf(self, page: str) -> str:
        found = _CSRF.search(self("GET", page, 200).text)
        assert found, page
        return found.group(1)

    def form(self, path: str, page: str, **data: str) -> httpx.Response:
        """A dashboard form, with the CSRF token of ``page``; it redirects."""
        return self("POST", path, 303, data={"_csrf_token": self.csrf(page), **data})


@pytest.fixture(params=["text", "json"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str, str, str]]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    create_user(database_url, USERNAME, PASSWORD)
    created = cli_json(database_url, "project", "create", "Logged site", "--allowed-origin", SITE)
    admin_key = cli_json(database_url, "admin", "key", "create")["key"]
    server = Server(
        database_url,
        tmp_path / "server.log",
        "--log-level",
        "debug",
        PRIVALYTICS_TRUSTED_PROXIES=PEER,
        PRIVALYTICS_LOG_FORMAT=request.param,
    )
    try:
        server.wait_ready()
        yield server, created["project"]["id"], created["token"], admin_key
    finally:
        server.stop()


def _ingest(visit: Visitor, project_id: str, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}", "Origin": SITE}
    six = {"X-Forwarded-For": VISITORS[1]}
    visit("OPTIONS", "/api/v1/events", 204, headers={"Origin": SITE, **_preflight()})
    visit("POST", "/api/v1/events", 202, json={"action": "visit", "path": "/"}, headers=auth)
    visit("POST", "/api/v1/events", 202, json={"action": "visit", "path": "/6"}, headers=auth | six)
    events = {"events": [{"action": "click", "path": "/", "target": "Buy"}]}
    visit("POST", "/api/v1/events/batch", 202, json=events, headers=auth)
    visit("POST", "/api/v1/events", 400, content=b'{"action": "visit", ', headers=auth)
    visit("POST", "/api/v1/events", 401, json={"action": "visit", "path": "/"})
    # A bot's event: turned away into the bot log, its agent (with the canary) unlogged.
    crawler = auth | {"User-Agent": f"Googlebot/2.1 {AGENT}"}
    visit("POST", "/api/v1/events", 202, json={"action": "visit", "path": "/bot"}, headers=crawler)
    plausible = {"n": "pageview", "u": f"{SITE}/plausible", "d": "logged.example"}
    visit("POST", "/api/event", 202, content=json.dumps(plausible), headers={"Origin": SITE})
    umami = {"type": "event", "payload": {"website": project_id, "url": "/umami"}}
    visit("POST", "/api/send", 202, json=umami, headers={"Origin": SITE} | six)


def _preflight() -> dict[str, str]:
    return {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def _admin(visit: Visitor, project_id: str, admin_key: str) -> None:
    admin = {"Authorization": f"Bearer {admin_key}"}
    visit("GET", "/api/v1/projects", 200, headers=admin)
    visit("GET", "/api/v1/projects", 401)
    other = visit("POST", "/api/v1/projects", 201, json={"name": "Other"}, headers=admin).json()
    other_id = other["project"]["id"]
    visit("GET", f"/api/v1/projects/{other_id}", 200, headers=admin)
    visit("PATCH", f"/api/v1/projects/{other_id}", 200, json={"name": "Renamed"}, headers=admin)
    issued = visit("POST", f"/api/v1/projects/{other_id}/tokens", 201, headers=admin).json()
    visit("GET", f"/api/v1/projects/{other_id}/tokens", 200, headers=admin)
    token_id = issued["id"]
    visit("DELETE", f"/api/v1/projects/{other_id}/tokens/{token_id}", 200, headers=admin)
    visit("DELETE", f"/api/v1/projects/{other_id}", 204, headers=admin)
    visit("GET", f"/api/v1/projects/{project_id}/stats", 200, headers=admin)
    stats = f"/api/v1/projects/{project_id}/stats?filter=source==Google&filter=city==London"
    visit("GET", stats, 200, headers=admin)
    for dimension in ("source", "city", "page"):
        breakdown = f"/api/v1/projects/{project_id}/breakdown/{dimension}?filter=country!=DE"
        visit("GET", breakdown, 200, headers=admin)
    visit("GET", f"/api/v1/projects/{project_id}/breakdown/colour", 404, headers=admin)
    visit("GET", f"/api/v1/projects/{project_id}/export?format=jsonl", 200, headers=admin)
    visit("GET", f"/api/v1/projects/{project_id}/export?format=xml", 400, headers=admin)
    visit("GET", f"/api/v1/projects/{project_id}/bots?period=7d", 200, headers=admin)
    visit("GET", f"/api/v1/projects/{project_id}/bots?period=century", 400, headers=admin)
    goals = f"/api/v1/projects/{project_id}/goals"
    goal = visit("POST", goals, 201, json={"event": "Signup"}, headers=admin).json()
    visit("POST", goals, 400, json={"page": "no-slash"}, headers=admin)
    visit("GET", goals, 200, headers=admin)
    visit("GET", f"{goals}/report?period=7d&filter=goal==Signup", 200, headers=admin)
    visit("GET", f"/api/v1/projects/{project_id}/breakdown/goal", 200, headers=admin)
    visit("DELETE", f"{goals}/{goal['id']}", 204, headers=admin)
    funnels = f"/api/v1/projects/{project_id}/funnels"
    steps = [{"page": "/"}, {"event": "Signup"}]
    funnel = visit("POST", funnels, 201, json={"steps": steps}, headers=admin).json()
    visit("POST", funnels, 400, json={"steps": steps[:1]}, headers=admin)
    visit("GET", funnels, 200, headers=admin)
    visit("GET", f"{funnels}/{funnel['id']}?period=7d&filter=page==/", 200, headers=admin)
    visit("DELETE", f"{funnels}/{funnel['id']}", 204, headers=admin)
    retention = f"/api/v1/projects/{project_id}/retention"
    visit("GET", f"{retention}?period=7d&filter=page~/", 200, headers=admin)
    visit("GET", f"{retention}?period=century", 400, headers=admin)


def _dashboard(visit: Visitor, project_id: str) -> str:
    """Every dashboard page and form; returns the session cookie."""
    visit("GET", "/dashboard", 303)
    login = {"username": USERNAME, "password": PASSWORD, "next": "/dashboard"}
    visit.form("/dashboard/login", "/dashboard/login", **login)
    visit("GET", "/dashboard", 200)
    visit("GET", f"/dashboard/go?project={project_id}", 302)
    visit("GET", f"/dashboard/projects/{project_id}", 200)
    filtered = f"/dashboard/projects/{project_id}?filter=source==Google&locations=city"
    visit("GET", filtered, 200)
    visit("GET", f"/dashboard/projects/{project_id}/breakdown/city?filter=page~/", 200)
    visit("GET", f"/dashboard/projects/{project_id}/breakdown/colour", 404)
    visit("GET", f"/dashboard/projects/{project_id}/export?format=jsonl&period=7d", 200)
    visit("GET", f"/dashboard/projects/{project_id}/retention?period=7d", 200)
    visit("GET", "/dashboard/static/dashboard.css", 200)
    home = "/dashboard"
    created = visit.form("/dashboard/projects", home, name="Scratch")
    scratch = created.headers["location"].split("/")[3]
    settings = f"/dashboard/projects/{scratch}/settings"
    visit.form(settings, settings, name="Scratch", rate_limit="10/minute")
    visit.form(f"/dashboard/projects/{scratch}/tokens", settings)
    visit("GET", f"/dashboard/projects/{scratch}/token", 200)
    tokens = visit("GET", settings, 200).text
    token_id = re.search(r"/tokens/([^/]+)/revoke", tokens)
    assert token_id, tokens
    visit.form(f"/dashboard/projects/{scratch}/tokens/{token_id.group(1)}/revoke", settings)
    visit.form(f"/dashboard/projects/{scratch}/goals", settings, kind="page", target="/p")
    goals = visit("GET", settings, 200).text
    goal_id = re.search(r"/goals/([0-9a-f]+)/delete", goals)
    assert goal_id, goals
    visit.form(f"/dashboard/projects/{scratch}/goals/{goal_id.group(1)}/delete", settings)
    visit.form(f"/dashboard/projects/{scratch}/funnels", settings, steps="/\nevent:Signup")
    funnels = visit("GET", settings, 200).text
    funnel_id = re.search(r"/funnels/([0-9a-f]+)/delete", funnels)
    assert funnel_id, funnels
    visit("GET", f"/dashboard/projects/{scratch}/funnels/{funnel_id.group(1)}?period=7d", 200)
    visit.form(f"/dashboard/projects/{scratch}/funnels/{funnel_id.group(1)}/delete", settings)
    visit.form(f"/dashboard/projects/{scratch}/delete", home, confirm="Scratch")
    cookie = visit.client.cookies.get("privalytics_session")
    assert cookie
    return cookie


def _live(visit: Visitor, project_id: str, token: str, cookie: str) -> None:
    """The live feed, open while an event arrives, and refused without a session."""
    url = visit.server.url.replace("http://", "ws://") + f"/dashboard/projects/{project_id}/live"
    headers = {"Origin": visit.server.url, "User-Agent": AGENT, "X-Forwarded-For": VISITORS[0]}
    with connect(
        url,
        additional_headers={**headers, "Cookie": f"privalytics_session={cookie}"},
        source_address=(PEER, 0),
        open_timeout=5,
    ) as feed:
        visit.paths.append(url.split(str(visit.server.port), 1)[1])
        # The page may open before its subscription: send until an event comes through.
        for attempt in range(50):
            visit(
                "POST",
                "/api/v1/events",
                202,
                json={"action": "visit", "path": f"/live/{attempt}"},
                headers={"Authorization": f"Bearer {token}", "Origin": SITE},
            )
            try:
                assert json.loads(feed.recv(timeout=0.2))
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the live feed sent nothing")
    with pytest.raises(InvalidStatus):
        connect(url, additional_headers=headers, source_address=(PEER, 0), open_timeout=5)


def _malformed(server: Server) -> None:
    """Bytes that are not HTTP: the server answers 400 and closes."""
    with socket.create_connection(
        ("127.0.0.1", server.port), timeout=5, source_address=(PEER, 0)
    ) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\nUser-Agent: " + AGENT.encode() + b"\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer


def test_no_route_and_no_malformed_request_logs_an_address_or_agent_at_debug(
    setup: tuple[Server, str, str, str], request: pytest.FixtureRequest
) -> None:
    server, project_id, token, admin_key = setup
    visit = Visitor(server)
    with visit.client:
        visit("GET", "/healthz", 200)
        visit("GET", "/livez", 200)
        visit("GET", "/readyz", 200)
        visit("GET", "/tracker.js", 200)
        visit("GET", "/tracker-tags.js", 200)
        visit("GET", "/", 200, follow_redirects=True)
        visit("GET", "/no/such/page", 404)
        _ingest(visit, project_id, token)
        _admin(visit, project_id, admin_key)
        for template in sorted(_templates()):
            if template.startswith("/schema"):
                # /schema/{path:str} answers only the paths of the plugins it has.
                visit(
                    "GET", template.replace("{path:str}", "nope"), 404 if "{" in template else 200
                )
        cookie = _dashboard(visit, project_id)
        _live(visit, project_id, token, cookie)
        visit.form("/dashboard/logout", f"/dashboard/projects/{project_id}")
    _malformed(server)
    server.stop()

    missed = {t for t in _templates() if not any(_pattern(t).fullmatch(p) for p in visit.paths)}
    assert not missed, f"routes this test does not reach: {sorted(missed)}"
    log = server.log.read_text()
    assert "privalytics listening" in log
    for secret in (PEER, *VISITORS, "ua-canary", "LogProbe", cookie):
        assert secret not in log, f"{secret!r} was logged:\n{log}"
    if request.node.callspec.params["setup"] == "json":
        # Every record is one JSON object (the CLI's own "listening" line is no record).
        records = [
            line for line in log.splitlines() if line and "privalytics listening" not in line
        ]
        parsed = [json.loads(line) for line in records]
        assert len(parsed) > 10
        assert "info" in {entry["level"] for entry in parsed}
        assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in parsed)
