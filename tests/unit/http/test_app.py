"""The application around the routes: errors of its own, health, OpenAPI, lifecycle."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from litestar.testing import TestClient

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.memory import (
    InMemoryEventStore,
)
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import Event
from privalytics.testing import ManualClock
from tests.unit.http.conftest import (
    Api,
    BrokenEventStore,
    assert_error,
    running_api,
    services_over,
)

VISIT = {"action": "visit", "path": "/"}


class UnreachableEventStore(InMemoryEventStore):
    """An event store whose backend is down."""

    async def add(self, events: Sequence[Event]) -> None:
        raise StorageUnavailable("the event store does not answer")

    async def ping(self) -> None:
        raise StorageUnavailable("the event store does not answer")


def test_healthz_is_ok(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_an_unreachable_storage_is_503(clock: ManualClock) -> None:
    services = services_over(UnreachableEventStore(), clock)
    with running_api(clock, services=services) as api:
        response = api.client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable"}

        _, token = api.create_project()
        response = api.send(VISIT, token)
        assert_error(response, 503, "unavailable")
        assert response.headers["Retry-After"] == "5"


def test_an_unexpected_error_is_500_logged_by_type_and_path_only(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    services = services_over(BrokenEventStore(), clock)
    with running_api(clock, services=services) as api:
        project_id, _ = api.create_project()
        token = api.server_token(project_id)
        event = {**VISIT, "visitor_ip": "192.0.2.55", "props": {"secret": "s3kr1t"}}
        response = api.send(event, token, headers={"User-Agent": "Agent/42"})
    body = assert_error(response, 500, "internal_error")
    assert "bug" not in body["message"]
    records = [r for r in caplog.records if r.name == "privalytics.http"]
    assert [r.getMessage() for r in records] == [
        "unexpected RuntimeError handling POST /api/v1/events"
    ]
    assert records[0].exc_info is None
    text = caplog.text
    for secret in ("192.0.2.55", "s3kr1t", "Agent/42", token):
        assert secret not in text


def test_shutdown_awaits_services_aclose(clock: ManualClock) -> None:
    closed: list[str] = []

    async def close() -> None:
        closed.append("closed")

    services = services_over(InMemoryEventStore(), clock, closers=(close,))
    with TestClient(create_app(services)) as client:
        assert client.get("/healthz").status_code == 200
        assert closed == []
    assert closed == ["closed"]


def test_litestar_own_errors_have_the_same_shape(api: Api) -> None:
    assert_error(api.client.get("/nowhere"), 404, "not_found")
    response = api.client.get("/api/v1/events")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert_error(api.client.put("/api/v1/projects", headers=api.admin), 405)


def test_openapi_is_served(api: Api) -> None:
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "privalytics"
    for path in (
        "/api/v1/events",
        "/api/v1/events/batch",
        "/api/v1/projects",
        "/api/v1/projects/{project_id}/stats",
        "/healthz",
    ):
        assert path in schema["paths"]
    body = schema["paths"]["/api/v1/events/batch"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/plain"}
    event = body["text/plain"]["schema"]["properties"]["events"]["items"]
    assert event["required"] == ["path"]  # and an action or a (custom event) name
    schemes = schema["components"]["securitySchemes"]
    assert set(schemes) == {"projectToken", "adminKey"}


def test_debug_mode_keeps_the_error_shape(clock: ManualClock) -> None:
    services = services_over(InMemoryEventStore(), clock)
    with TestClient(create_app(services, HttpOptions(debug=True))) as client:
        assert_error(client.get("/nowhere"), 404, "not_found")
        assert_error(client.post("/api/v1/events", content=b"{"), 400, "invalid_json")
