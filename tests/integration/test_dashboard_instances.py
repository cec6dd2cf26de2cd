"""Two real instances behind one address: sessions and the live feed go through Redis."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from tests.conftest import REDIS_URL, require_server
from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, create_user
from tests.servers import BROWSER, Server, cli_json

pytestmark = [pytest.mark.redis, pytest.mark.slow]

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _sign_in(client: httpx.Client) -> None:
    page = client.get("/dashboard/login")
    token = _CSRF.search(page.text)
    assert token
    response = client.post(
        "/dashboard/login",
        data={"username": USERNAME, "password": PASSWORD, "_csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text


async def _until_subscribed(project_id: str) -> None:
    """Wait (ten seconds at most) until an instance listens on Redis for the project's
    events: a channel naming the project (whatever prefix and case the channels backend
    gives it) has a subscriber."""
    client = Redis.from_url(REDIS_URL)
    try:
        async with asyncio.timeout(10):
            while True:
                names = [name.decode() for name in await client.pubsub_channels()]
                if any(project_id.lower() in name.lower() for name in names):
                    return
                await asyncio.sleep(0.02)
    finally:
        await client.aclose()


def test_a_session_and_the_live_feed_reach_every_instance(tmp_path: Path) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    create_user(database_url, USERNAME, PASSWORD)
    created = cli_json(database_url, "project", "create", "Shared")
    project_id, token = created["project"]["id"], created["token"]
    shared = {"PRIVALYTICS_RATE_LIMIT_URL": REDIS_URL, "PRIVALYTICS_SECRET_KEY": "s" * 40}
    first = Server(database_url, tmp_path / "a.log", **shared)
    second = Server(database_url, tmp_path / "b.log", **shared)
    try:
        first.wait_ready()
        second.wait_ready()
        with httpx.Client(base_url=first.url) as on_first:
            _sign_in(on_first)
            cookie = on_first.cookies.get("privalytics_session")
        assert cookie
        # The session made on the first instance is valid on the second.
        with httpx.Client(
            base_url=second.url, cookies={"privalytics_session": cookie}
        ) as on_second:
            page = on_second.get(f"/dashboard/projects/{project_id}")
            assert page.status_code == 200, page.text

        async def watch_second_while_first_stores() -> str:
            address = second.url.replace("http://", "ws://")
            async with websockets.connect(
                f"{address}/dashboard/projects/{project_id}/live",
                additional_headers={
                    "Cookie": f"privalytics_session={cookie}",
                    "Origin": second.url,
                },
                open_timeout=5,
            ) as socket:
                await _until_subscribed(project_id)
                async with httpx.AsyncClient() as client:
                    response = await client.post(
                        f"{first.url}/api/v1/events",
                        json={"action": "visit", "path": "/across-instances"},
                        headers={"Authorization": f"Bearer {token}", **BROWSER},
                    )
                    assert response.status_code == 202
                message = await asyncio.wait_for(socket.recv(), timeout=10)
                return message if isinstance(message, str) else message.decode()

        events = json.loads(asyncio.run(watch_second_while_first_stores()))
        assert [e["path"] for e in events] == ["/across-instances"]
    finally:
        first.stop()
        second.stop()
