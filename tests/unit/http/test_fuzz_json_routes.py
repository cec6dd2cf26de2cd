"""Every JSON route answers hostile bodies (invalid UTF-8, lone surrogate escapes, deep
nesting, huge numbers, stray fields) with a status below 500, and errors in the API's
error shape."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.unit.http.conftest import Api, running_api

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SITE = "https://example.com"
VISIT = {"action": "visit", "path": "/"}
DERIVED = {
    "action": "visit",
    "path": "/?utm_source=x&ref=y",
    "referrer": "https://www.google.com/search?q=z",
    "screen_width": 390,
}


def _within(prefix: bytes, suffix: bytes) -> Callable[[bytes], bytes]:
    return lambda inner: prefix + inner + suffix


def _cases(api: Api, project_id: str) -> dict[str, tuple[str, str, st.SearchStrategy[bytes]]]:
    """Each JSON route: its method, path and hostile bodies."""
    # With every field a dimension is derived from: the campaign, referrer and width.
    umami = {
        "website": project_id,
        "url": f"{SITE}/?utm_source=x",
        "referrer": "https://www.google.com/",
        "screen": "390x844",
    }
    plausible = {
        "n": "pageview",
        "u": f"{SITE}/?utm_campaign=y",
        "d": "example.com",
        "r": "https://t.co/",
        "w": 390,
    }
    return {
        "single": ("POST", "/api/v1/events", strategies.hostile_bodies(VISIT)),
        "derived": ("POST", "/api/v1/events", strategies.hostile_bodies(DERIVED)),
        "batch": (
            "POST",
            "/api/v1/events/batch",
            strategies.hostile_bodies(VISIT).map(_within(b'{"events":[', b"]}"))
            | strategies.hostile_bodies({"events": [VISIT]}),
        ),
        "plausible": ("POST", "/api/event", strategies.hostile_bodies(plausible)),
        "umami": (
            "POST",
            "/api/send",
            strategies.hostile_bodies(umami).map(_within(b'{"type":"event","payload":', b"}"))
            | strategies.hostile_bodies({"type": "event", "payload": umami}),
        ),
        "create": ("POST", "/api/v1/projects", strategies.hostile_bodies({"name": "x"})),
        "patch": (
            "PATCH",
            f"/api/v1/projects/{project_id}",
            strategies.hostile_bodies({"name": "y"}),
        ),
    }


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["error"], str)
        assert isinstance(body["message"], str)


@pytest.mark.parametrize(
    "route", ["single", "derived", "batch", "plausible", "umami", "create", "patch"]
)
def test_hostile_bodies_never_reach_a_500(route: str) -> None:
    with running_api() as api:
        project_id, token = api.create_project(rate_limit="1000000/minute", allowed_origins=[SITE])
        method, path, bodies = _cases(api, project_id)[route]
        headers = {
            "Authorization": f"Bearer {api.admin_key if route in ('create', 'patch') else token}",
            "Origin": SITE,
            "Content-Type": "application/json",
        }

        @FUZZ
        @given(body=bodies)
        def check(body: bytes) -> None:
            _check(api.client.request(method, path, content=body, headers=headers))

        check()
