"""Hostile input against the real server on PostgreSQL: a NUL in a path id, invalid UTF-8,
lone surrogates and deep nesting in bodies, calendar edges in stats. PostgreSQL refuses a
NUL in text (CharacterNotInRepertoireError), so these must be stopped at the boundary:
4xx answers, nothing logged as unexpected, the server still healthy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, cli_json

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SITE = "https://hostile.example"
DEEP = 30_000


@pytest.fixture
def server(postgres_url: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(postgres_url, tmp_path / "server.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_hostile_input_is_4xx_on_postgresql(server: Server, postgres_url: str) -> None:
    created = cli_json(postgres_url, "project", "create", "Hostile", "--allowed-origin", SITE)
    token, project_id = created["token"], created["project"]["id"]
    admin = {"Authorization": f"Bearer {cli_json(postgres_url, 'admin', 'key', 'create')['key']}"}
    auth = {"Authorization": f"Bearer {token}"}
    site = {"Origin": SITE}
    cases: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
        ("GET", "/api/v1/projects/%00", admin, None, 404),
        ("GET", "/api/v1/projects/a%00b/stats", admin, None, 404),
        ("DELETE", "/api/v1/projects/x/tokens/%00", admin, None, 404),
        ("DELETE", f"/api/v1/projects/{project_id}/tokens/%00", admin, None, 404),
        ("PATCH", "/api/v1/projects/%00", admin, b'{"name":"x"}', 404),
        ("POST", "/api/v1/projects/%00/tokens", admin, None, 404),
        ("POST", "/api/send", site, b'{"type":"event","payload":{"website":"\\u0000"}}', 404),
        ("POST", "/api/event", site, b'{"n":"pageview","u":"/","d":"a\\u0000b"}', 404),
        ("POST", "/api/v1/events", auth, b'{"action":"visit","path":"/a\\u0000"}', 400),
        ("POST", "/api/v1/events", auth, b'{"action":"visit","path":"/\xff"}', 400),
        ("POST", "/api/v1/events", auth, b'{"action":"visit","path":"/\\ud800"}', 400),
        (
            "POST",
            "/api/v1/events",
            auth,
            b'{"action":"visit","path":"/","x":' + b"[" * DEEP + b"]" * DEEP + b"}",
            400,
        ),
        ("POST", "/api/v1/events/batch", auth, b'{"events":[{"action":"\xff"}]}', 400),
        ("POST", "/api/v1/projects", admin, b'{"name":"a\\u0000"}', 400),
        ("POST", "/api/v1/projects", admin, b'{"name":"\xff"}', 400),
        ("POST", "/api/v1/projects", admin, b"[" * 20_000, 400),
        ("POST", "/api/v1/projects", admin, b"", 400),
        ("PATCH", f"/api/v1/projects/{project_id}", admin, b'{"name":"\\udfff"}', 400),
        (
            "GET",
            f"/api/v1/projects/{project_id}/stats?from=0001-01-01T00:00:00%2B14:00",
            admin,
            None,
            400,
        ),
        (
            "GET",
            f"/api/v1/projects/{project_id}/stats"
            "?from=0001-01-01&to=9999-12-31T23:59:59.999999-23:59",
            admin,
            None,
            400,
        ),
        ("GET", f"/api/v1/projects/{project_id}/stats?period=", admin, None, 400),
    ]
    for method, path, headers, body, status in cases:
        response = httpx.request(
            method, f"{server.url}{path}", content=body, headers=headers, timeout=10
        )
        what = f"{method} {path[:60]!r} {(body or b'')[:40]!r}"
        assert response.status_code == status, f"{what}: {response.text}"
        assert response.json()["message"], what
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    stats = httpx.get(
        f"{server.url}/api/v1/projects/{project_id}/stats", headers=admin, timeout=10
    ).json()
    assert stats["visits"] == 0
    assert "unexpected" not in server.log.read_text()
