"""CORS on the ingestion routes: preflights reflect only origins some project accepts, an
accepted event's answer reflects its origin, events from other origins are refused."""

from __future__ import annotations

import pytest

from tests.unit.http.conftest import Api, assert_error

SITE = "https://blog.example"
VISIT = {"action": "visit", "path": "/"}
PATHS = ["/api/v1/events", "/api/v1/events/batch", "/api/event", "/api/send"]


def preflight(api: Api, path: str, origin: str) -> dict[str, str]:
    response = api.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204, response.text
    assert "origin" in response.headers["vary"].lower()
    return dict(response.headers)


@pytest.mark.parametrize("path", PATHS)
def test_a_preflight_from_a_listed_origin_is_allowed(api: Api, path: str) -> None:
    api.create_project(allowed_origins=[SITE])
    headers = preflight(api, path, SITE)
    assert headers["access-control-allow-origin"] == SITE
    assert headers["access-control-allow-methods"] == "POST"
    assert "authorization" in headers["access-control-allow-headers"]
    assert int(headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in headers


@pytest.mark.parametrize("path", PATHS)
def test_a_preflight_from_an_origin_no_project_lists_gets_no_cors_headers(
    api: Api, path: str
) -> None:
    api.create_project(allowed_origins=[SITE])
    headers = preflight(api, path, "https://evil.example")
    assert "access-control-allow-origin" not in headers


def test_a_project_that_accepts_any_origin_lets_every_preflight_through(api: Api) -> None:
    api.create_project(allowed_origins=[SITE])
    api.create_project(name="backend")  # no origins listed: any origin
    headers = preflight(api, "/api/v1/events", "https://other.example")
    assert headers["access-control-allow-origin"] == "https://other.example"


def test_a_preflight_with_a_malformed_origin_is_not_reflected(api: Api) -> None:
    api.create_project(name="any")
    assert "access-control-allow-origin" not in preflight(api, "/api/v1/events", "null")


def test_an_accepted_event_reflects_its_allowed_origin(api: Api) -> None:
    _, token = api.create_project(allowed_origins=[SITE])
    response = api.send(VISIT, token, headers={"Origin": SITE})
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["vary"] == "Origin"
    assert "set-cookie" not in response.headers


def test_an_event_without_origin_gets_no_cors_headers(api: Api) -> None:
    _, token = api.create_project(allowed_origins=[SITE])
    response = api.send(VISIT, token)
    assert response.status_code == 202
    assert "access-control-allow-origin" not in response.headers


def test_an_event_from_another_origin_is_refused_without_cors_headers(api: Api) -> None:
    project_id, token = api.create_project(allowed_origins=[SITE])
    body = {**VISIT, "token": token}
    response = api.send(body, headers={"Origin": "https://evil.example"}, content_type="text/plain")
    assert_error(response, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in response.headers
    api.clock.advance(1)
    assert api.stats(project_id)["visits"] == 0
