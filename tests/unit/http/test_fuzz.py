"""Whatever a sender posts, ingestion answers with a status below 500 (and 4xx errors
in the API's error shape)."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.unit.http.conftest import running_api

FUZZ = settings(
    max_examples=70, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["error"], str)
        assert isinstance(body["message"], str)


def test_arbitrary_json_never_reaches_a_500() -> None:
    with running_api() as api:
        _, token = api.create_project(rate_limit="1000000/minute")

        @FUZZ
        @given(value=strategies.json_values, batch=st.booleans())
        def check(value: Any, batch: bool) -> None:
            _check(api.send(value, token, batch=batch))
            _check(api.send({"events": [value]}, token, batch=True))

        check()


def test_almost_valid_events_never_reach_a_500() -> None:
    with running_api() as api:
        _, token = api.create_project(rate_limit="1000000/minute")

        @FUZZ
        @given(events=st.lists(strategies.event_bodies, min_size=1, max_size=5))
        def check(events: list[dict[str, Any]]) -> None:
            _check(api.send(events[0], token))
            _check(api.send({"events": events}, token, batch=True))

        check()


def test_arbitrary_bytes_never_reach_a_500() -> None:
    with running_api() as api:
        _, token = api.create_project(rate_limit="1000000/minute")
        valid = msgspec.json.encode({"action": "visit", "path": "/"})

        @FUZZ
        @given(raw=st.binary(max_size=200) | st.just(valid).map(lambda b: b[: len(b) // 2]))
        def check(raw: bytes) -> None:
            _check(api.send(raw, token, content_type=None))
            _check(api.send(raw, token, batch=True, content_type="text/plain"))
            _check(api.send(raw))

        check()
