"""A dashboard over memory services, driven by Litestar's TestClient like a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.http.dashboard import DashboardOptions
from privalytics.domain.services import Services
from privalytics.testing import ManualClock, make_services
from tests.unit.http.conftest import with_peer

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


@dataclass
class Browser:
    client: TestClient[Any]
    services: Services
    clock: ManualClock
    admin_key: str
    servers: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def form(self, page_path: str, action: str, fields: dict[str, str]) -> httpx.Response:
        """Submit a form as a browser does: load the page, post with its CSRF token."""
        page = self.client.get(page_path)
        assert page.status_code == 200, page.text
        return self.client.post(
            action, data={**fields, "_csrf_token": csrf_of(page.text)}, follow_redirects=False
        )

    def sign_in(self, username: str = "alice", password: str = PASSWORD) -> httpx.Response:
        return self.form(
            "/dashboard/login", "/dashboard/login", {"username": username, "password": password}
        )

    def create_project(self, name: str = "Blog", **fields: str) -> tuple[str, str]:
        created = self.form("/dashboard", "/dashboard/projects", {"name": name, **fields})
        assert created.status_code == 303, created.text
        response = self.client.get(created.headers["location"])
        assert response.status_code == 200, response.text
        token = re.search(r'data-testid="token">([^<]+)<', response.text)
        project = re.search(r'href="/dashboard/projects/([0-9a-f]+)"', response.text)
        assert token
        assert project
        return project.group(1), token.group(1)

    def shown(self, response: httpx.Response) -> httpx.Response:
        """The page a post/redirect/get answer leads to (a new token's page)."""
        assert response.status_code == 303, response.text
        page = self.client.get(response.headers["location"])
        assert page.status_code == 200, page.text
        return page

    def server_token(self, token: str) -> str:
        """A server token of ``token``'s project (issued once per token, through the admin
        API): the kind whose events may name their visitor."""
        if token not in self.servers:
            project = self.client.blocking_portal.call(self.services.ingestion.authenticate, token)
            issued = self.client.post(
                f"/api/v1/projects/{project.id}/tokens",
                params={"kind": "server"},
                headers=self.admin,
            )
            assert issued.status_code == 201, issued.text
            self.servers[token] = issued.json()["token"]
        return self.servers[token]

    def send(self, token: str, **event: Any) -> None:
        """Send ``event``; one that names its visitor goes with the project's server token."""
        if "visitor_ip" in event or "user_agent" in event:
            token = self.server_token(token)
        response = self.client.post(
            "/api/v1/events", json=event, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 202, response.text


class ManualMemoryStore(MemoryStore):
    """A memory session store whose expiry follows a ManualClock.

    Litestar's MemoryStore decides expiry by the wall clock, so a test would have to wait
    a session's lifetime out; this one has the same behaviour (an expired value is not
    returned, and is held until read or swept) on the test's clock. It is a MemoryStore,
    so the dashboard sweeps it as it sweeps the default one. ``keys()`` lists what it
    holds, expired or not, as a test's public view of it."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self._held: dict[str, tuple[bytes, datetime | None]] = {}

    def _expired(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and self.clock.now() >= expires_at

    def _expiry(self, expires_in: int | timedelta | None) -> datetime | None:
        if not expires_in:
            return None
        seconds = expires_in if isinstance(expires_in, timedelta) else timedelta(seconds=expires_in)
        return self.clock.now() + seconds

    def keys(self) -> set[str]:
        return set(self._held)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        self._held[key] = (data, self._expiry(expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        held = self._held.get(key)
        if held is None:
            return None
        data, expires_at = held
        if self._expired(expires_at):
            del self._held[key]
            return None
        if renew_for and expires_at is not None:
            self._held[key] = (data, self._expiry(renew_for))
        return data

    async def delete(self, key: str) -> None:
        self._held.pop(key, None)

    async def delete_all(self) -> None:
        self._held.clear()

    async def delete_expired(self) -> None:
        self._held = {k: v for k, v in self._held.items() if not self._expired(v[1])}

    async def exists(self, key: str) -> bool:
        return key in self._held

    async def expires_in(self, key: str) -> int | None:
        held = self._held.get(key)
        if held is None or held[1] is None:
            return None
        return int((held[1] - self.clock.now()).total_seconds())


def open_dashboard(
    clock: ManualClock,
    options: DashboardOptions | None = None,
    base_url: str | None = None,
    *,
    trusted_proxies: tuple[str, ...] = (),
    peer: str | None = None,
    services: Services | None = None,
) -> Iterator[Browser]:
    services = services or make_services(clock)
    http = HttpOptions(trusted_proxies=trusted_proxies, dashboard=options or DashboardOptions())
    app: Any = create_app(services, http)
    if peer is not None:
        app = with_peer(app, peer)
    kwargs: dict[str, Any] = {} if base_url is None else {"base_url": base_url}
    with TestClient(app, **kwargs) as client:
        accounts = services.accounts
        assert accounts is not None
        client.blocking_portal.call(accounts.create_user, "alice", PASSWORD)
        key = client.blocking_portal.call(services.admin.create_admin_key)
        yield Browser(client=client, services=services, clock=clock, admin_key=key)


@pytest.fixture
def browser(clock: ManualClock) -> Iterator[Browser]:
    yield from open_dashboard(clock)


@pytest.fixture
def signed_in(browser: Browser) -> Browser:
    assert browser.sign_in().status_code == 303
    return browser
