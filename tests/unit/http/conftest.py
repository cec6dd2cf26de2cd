"""An HTTP client over the app on memory services, and helpers to drive it.

The sync TestClient runs the app in its own event loop; setup that needs the services
directly (creating the admin key) runs in that same loop through the client's portal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryFunnelStore,
    InMemoryGoalStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.models import Event
from privalytics.domain.services import Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups, make_services

TRUSTED = ("10.0.0.0/8", "fd00::/8")
PROXY = "10.0.0.2"


def with_peer(app: ASGIApp, host: str) -> ASGIApp:
    """The app as reached from ``host`` (the TestClient's own peer is not an address)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        patched = dict(scope)
        patched["client"] = (host, 40000)
        await app(cast("Scope", patched), receive, send)

    return wrapped


class BrokenEventStore(InMemoryEventStore):
    """An event store with a bug: it fails in a way no one planned for."""

    async def add(self, events: Sequence[Event]) -> None:
        raise RuntimeError("a bug")


def services_over(events: InMemoryEventStore, clock: ManualClock, **kw: object) -> Services:
    """Services over ``events`` and in-memory everything else."""
    kw.setdefault("goals", InMemoryGoalStore())
    kw.setdefault("funnels", InMemoryFunnelStore())
    return build_services(
        **lookups()._asdict(),
        events=events,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


@dataclass
class Api:
    client: TestClient[Any]
    services: Services
    clock: ManualClock
    admin_key: str

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def create_project(self, name: str = "site", **fields: Any) -> tuple[str, str]:
        """A new project's id and first token."""
        response = self.client.post(
            "/api/v1/projects", json={"name": name, **fields}, headers=self.admin
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return body["project"]["id"], body["token"]

    def send(
        self,
        event: Any,
        token: str | None = None,
        *,
        batch: bool = False,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "application/json",
    ) -> httpx.Response:
        """POST ``event`` (bytes as they are, anything else as JSON)."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        body = event if isinstance(event, bytes) else msgspec.json.encode(event)
        path = "/api/v1/events/batch" if batch else "/api/v1/events"
        return self.client.post(path, content=body, headers=all_headers)

    def server_token(self, project_id: str) -> str:
        """A new server token of the project (the kind whose events may name their
        visitor), issued through the admin API."""
        response = self.client.post(
            f"/api/v1/projects/{project_id}/tokens", params={"kind": "server"}, headers=self.admin
        )
        assert response.status_code == 201, response.text
        assert response.json()["kind"] == "server"
        token: str = response.json()["token"]
        return token

    def stats(self, project_id: str, **params: Any) -> dict[str, Any]:
        response = self.client.get(
            f"/api/v1/projects/{project_id}/stats", params=params, headers=self.admin
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@contextmanager
def running_api(
    clock: ManualClock | None = None,
    *,
    peer: str | None = None,
    trusted: tuple[str, ...] = TRUSTED,
    services: Services | None = None,
    **options: Any,
) -> Iterator[Api]:
    """The API over ``services`` (default: in memory); ``options``: more HttpOptions."""
    clock = clock or ManualClock()
    services = services or make_services(clock)
    app: ASGIApp = create_app(services, HttpOptions(trusted_proxies=trusted, **options))
    if peer is not None:
        app = with_peer(app, peer)
    with TestClient(app) as client:
        admin_key = client.blocking_portal.call(services.admin.create_admin_key)
        yield Api(client=client, services=services, clock=clock, admin_key=admin_key)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the error ``status`` in the API's one error shape."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str)
    assert isinstance(body.get("message"), str)
    if code is not None:
        assert body["error"] == code
    return body


@pytest.fixture
def api(clock: ManualClock) -> Iterator[Api]:
    with running_api(clock) as running:
        yield running


@pytest.fixture
def project(api: Api) -> tuple[str, str]:
    """A project with the default limit (1000/minute) and any origin: its id and token."""
    return api.create_project()


def asgi_scope(
    path: str, headers: list[tuple[bytes, bytes]], *, method: str = "POST"
) -> dict[str, Any]:
    """An HTTP scope as an ASGI server hands it over, from a documentation address."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("192.0.2.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
