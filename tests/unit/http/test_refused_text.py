"""Every ingestion route refuses controls, separators and bidirectional overrides in the
text it stores (400 naming the field and the character, nothing stored); CORS answers
reflect only an origin as browsers send it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from privalytics.adapters.memory import InMemoryEventStore
from tests.unit.http.conftest import Api, assert_error

SITE = "https://blog.example"
REFUSED = ["\x85", "\u2028", "\u202e", "\u2066", "\x1b"]


def stored(api: Api) -> int:
    store: InMemoryEventStore = api.services.ingestion._events  # type: ignore[attr-defined]
    return len(store.events)


@pytest.fixture
def site(api: Api) -> tuple[str, str]:
    return api.create_project(allowed_origins=[SITE])


def refused(response: httpx.Response, field: str, character: str) -> None:
    body = assert_error(response, 400, "invalid_input")
    assert body["field"] == field
    assert f"U+{ord(character):04X}" in body["message"]


@pytest.mark.parametrize("character", REFUSED)
@pytest.mark.parametrize(
    ("field", "event"),
    [
        ("path", lambda c: {"action": "visit", "path": f"/a{c}"}),
        ("referrer", lambda c: {"action": "visit", "path": "/", "referrer": f"https://x.y/{c}"}),
        ("target", lambda c: {"action": "click", "path": "/", "target": f"Buy{c}"}),
        ("props", lambda c: {"action": "click", "path": "/", "props": {"plan": c}}),
    ],
)
@pytest.mark.parametrize("batch", [False, True])
def test_the_json_routes_refuse_them_naming_the_field(
    api: Api, site: tuple[str, str], character: str, field: str, event: Any, batch: bool
) -> None:
    _, token = site
    body = (
        {"events": [{"action": "visit", "path": "/"}, event(character)]}
        if batch
        else event(character)
    )
    response = api.send(body, token, batch=batch)
    refused(response, field, character)
    assert response.json().get("index") == (1 if batch else None)
    assert stored(api) == 0


@pytest.mark.parametrize("character", REFUSED)
def test_a_text_plain_beacon_is_refused_alike(
    api: Api, site: tuple[str, str], character: str
) -> None:
    _, token = site
    body = {"action": "visit", "path": f"/p{character}", "token": token}
    refused(api.send(body, content_type="text/plain", headers={"Origin": SITE}), "path", character)
    assert stored(api) == 0


@pytest.mark.parametrize("character", REFUSED)
def test_plausibles_route_refuses_them(api: Api, site: tuple[str, str], character: str) -> None:
    for body, field in [
        ({"n": "pageview", "u": f"{SITE}/a{character}", "d": "blog.example"}, "path"),
        (
            {
                "n": "Outbound Link: Click",
                "u": SITE,
                "d": "blog.example",
                "r": None,
                "p": {"url": f"https://out.example/{character}"},
            },
            "target",
        ),
    ]:
        response = api.client.post(
            "/api/event",
            content=json.dumps(body).encode(),
            headers={"Content-Type": "text/plain", "Origin": SITE},
        )
        refused(response, field, character)
    assert stored(api) == 0


@pytest.mark.parametrize("character", REFUSED)
def test_umamis_route_refuses_them(api: Api, site: tuple[str, str], character: str) -> None:
    project_id, _ = site
    for payload, field in [
        ({"website": project_id, "url": f"/a{character}"}, "path"),
        (
            {"website": project_id, "url": "/", "referrer": f"https://r.example/{character}"},
            "referrer",
        ),
        (
            {"website": project_id, "url": "/", "name": "click", "data": {"plan": character}},
            "props",
        ),
    ]:
        response = api.client.post(
            "/api/send", json={"type": "event", "payload": payload}, headers={"Origin": SITE}
        )
        refused(response, field, character)
    assert stored(api) == 0


def test_a_clean_event_is_still_stored(api: Api, site: tuple[str, str]) -> None:
    _, token = site
    event = {
        "action": "click",
        "path": "/\u05e9\u05dc\u05d5\u05dd",
        "target": "\u200f\u0634\u0631\u0627\u0621",
    }
    assert api.send(event, token).status_code == 202
    assert stored(api) == 1


# --- CORS ---------------------------------------------------------------------------------

MALFORMED_ORIGINS = [
    "https://evil.example/path",
    "https://evil.example/",
    "HTTPS://EVIL.EXAMPLE",
    "https://evil.example:443",
    " https://evil.example",
    "https://evil.example\x85",
    "https://evil.example\u202e",
    "https://" + "a" * 300 + ".example",
    "javascript://evil.example",
    "https://user@evil.example",
    "null",
]


def _send_with_origin(api: Api, token: str, origin: str) -> httpx.Response:
    # httpx refuses non-ASCII header text: send the bytes as a browser-less client would.
    headers = [
        (b"Origin", origin.encode("latin-1", errors="replace")),
        (b"Authorization", f"Bearer {token}".encode()),
        (b"Content-Type", b"application/json"),
    ]
    return api.client.post(
        "/api/v1/events",
        content=json.dumps({"action": "visit", "path": "/"}).encode(),
        headers=headers,
    )


@pytest.mark.parametrize("origin", MALFORMED_ORIGINS)
def test_a_malformed_origin_is_never_echoed_by_a_project_that_accepts_any(
    api: Api, origin: str
) -> None:
    _, token = api.create_project(name="any origin")
    response = _send_with_origin(api, token, origin)
    assert response.status_code == 202, response.text
    assert "access-control-allow-origin" not in response.headers
    preflight = api.client.options(
        "/api/v1/events",
        headers=[
            (b"Origin", origin.encode("latin-1", errors="replace")),
            (b"Access-Control-Request-Method", b"POST"),
        ],
    )
    assert preflight.status_code == 204
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize(
    "origin", ["https://shop.example", "http://localhost:8080", "https://[2001:db8::1]:8443"]
)
def test_a_well_formed_origin_is_echoed_by_a_project_that_accepts_any(
    api: Api, origin: str
) -> None:
    _, token = api.create_project(name="any origin")
    response = _send_with_origin(api, token, origin)
    assert response.status_code == 202, response.text
    assert response.headers["access-control-allow-origin"] == origin
