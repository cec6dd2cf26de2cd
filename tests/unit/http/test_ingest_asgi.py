"""The ingestion routes at the ASGI level: how they read the body (limits enforced before
or while reading, bodies in several messages), what they answer to other methods and to
preflights, and that their errors are the API's errors, with CORS as on any answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from privalytics.adapters.http import create_app
from privalytics.adapters.http.clientip import TrustedProxies
from privalytics.adapters.http.errors import AnswerInterrupted, exception_handlers
from privalytics.adapters.http.ingest import ingest_handlers
from privalytics.adapters.http.shortcut import App
from privalytics.domain.models import RateLimit
from privalytics.testing import ManualClock, make_services
from tests.unit.http.conftest import (
    Api,
    BrokenEventStore,
    asgi_scope,
    assert_error,
    running_api,
    services_over,
)

SITE = "https://blog.example"
VISIT = b'{"action":"visit","path":"/"}'
PATHS = ["/api/v1/events", "/api/v1/events/batch"]


class Exchange:
    """One request driven straight through the app's ASGI interface, as a server would."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)
        self.received = 0  # how many body messages the app asked for
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        assert self._chunks, "the app read past the end of the body"
        self.received += 1
        chunk = self._chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self._chunks)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        status: int = self.sent[0]["status"]
        return status

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


@pytest.fixture
async def app_and_token() -> tuple[Any, str]:
    services = make_services(ManualClock())
    created = await services.admin.create_project(
        "site", rate_limit=RateLimit(events=1000, period_seconds=60)
    )
    return create_app(services), created.token.token


async def _call(
    app: Any,
    path: str,
    chunks: list[bytes],
    headers: dict[str, str],
    *,
    method: str = "POST",
) -> Exchange:
    exchange = Exchange(chunks)
    await app(_scope(path, headers, method=method), exchange.receive, exchange.send)
    return exchange


def _scope(path: str, headers: dict[str, str], *, method: str = "POST") -> dict[str, Any]:
    encoded = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return asgi_scope(path, encoded, method=method)


def _error(exchange: Exchange, status: int, code: str) -> dict[str, Any]:
    assert exchange.status == status, exchange.body
    body: dict[str, Any] = json.loads(exchange.body)
    assert body["error"] == code
    assert isinstance(body["message"], str)
    return body


@pytest.mark.parametrize(("path", "limit"), [(PATHS[0], 64 * 1024), (PATHS[1], 2 * 1024 * 1024)])
async def test_a_content_length_over_the_limit_is_413_before_any_byte_is_read(
    app_and_token: tuple[Any, str], path: str, limit: int
) -> None:
    app, token = app_and_token
    headers = {"Authorization": f"Bearer {token}", "Content-Length": str(limit + 1)}
    exchange = await _call(app, path, [b"x" * 1024] * 3, headers)
    _error(exchange, 413, "body_too_large")
    assert exchange.received == 0


async def test_a_body_without_length_is_refused_as_soon_as_it_passes_the_limit(
    app_and_token: tuple[Any, str],
) -> None:
    app, token = app_and_token
    chunks = [b"x" * 16 * 1024] * 10  # 160 KiB in all, announced by no Content-Length
    exchange = await _call(app, PATHS[0], chunks, {"Authorization": f"Bearer {token}"})
    _error(exchange, 413, "body_too_large")
    assert exchange.received == 5  # 80 KiB: the first message past 64 KiB


async def test_one_message_over_the_limit_is_413_too(app_and_token: tuple[Any, str]) -> None:
    app, token = app_and_token
    exchange = await _call(
        app, PATHS[0], [b"x" * (65 * 1024)], {"Authorization": f"Bearer {token}"}
    )
    _error(exchange, 413, "body_too_large")


@pytest.mark.parametrize("path", PATHS)
async def test_a_body_in_several_messages_is_read_whole(
    app_and_token: tuple[Any, str], path: str
) -> None:
    app, token = app_and_token
    body = VISIT if path == PATHS[0] else b'{"events":[%s,%s]}' % (VISIT, VISIT)
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    exchange = await _call(app, path, chunks, {"Authorization": f"Bearer {token}"})
    assert exchange.status == 202, exchange.body
    assert json.loads(exchange.body) == {"accepted": 1 if path == PATHS[0] else 2}
    assert exchange.headers["content-type"] == "application/json"
    assert int(exchange.headers["content-length"]) == len(exchange.body)


async def test_an_invalid_content_length_is_400(app_and_token: tuple[Any, str]) -> None:
    app, token = app_and_token
    headers = {"Authorization": f"Bearer {token}", "Content-Length": "12x"}
    body = _error(await _call(app, PATHS[0], [VISIT], headers), 400, "bad_request")
    assert "content-length" in body["message"]


@pytest.fixture
def site(api: Api) -> str:
    _, token = api.create_project(allowed_origins=[SITE])
    return token


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_naming_the_allowed_ones(api: Api, path: str, method: str) -> None:
    response = api.client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "OPTIONS, POST"


@pytest.mark.parametrize("path", PATHS)
def test_head_is_405_without_a_body(api: Api, path: str) -> None:
    response = api.client.head(path)
    assert response.status_code == 405
    assert response.content == b""


@pytest.mark.parametrize("path", PATHS)
def test_a_preflight_without_origin_is_204_with_no_cors_headers(api: Api, path: str) -> None:
    response = api.client.options(path)
    assert response.status_code == 204
    assert response.headers["Allow"] == "OPTIONS, POST"
    assert "access-control-allow-origin" not in response.headers
    assert response.content == b""


def _bodies(path: str) -> Iterator[tuple[bytes, int, str]]:
    """Bodies the route refuses, the status and the error code."""
    yield b"{", 400, "invalid_json"
    yield b"[]", 400, "invalid_input"
    big = 65 * 1024 if path == PATHS[0] else 2 * 1024 * 1024 + 1
    yield b"x" * big, 413, "body_too_large"


@pytest.mark.parametrize("path", PATHS)
def test_errors_carry_the_cors_headers_of_accepted_answers(api: Api, site: str, path: str) -> None:
    """So that the sending page (and its console) reads the real status and message."""
    headers = {"Origin": SITE, "Authorization": f"Bearer {site}"}
    for body, status, code in _bodies(path):
        response = api.client.post(path, content=body, headers=headers)
        assert_error(response, status, code)
        assert response.headers["access-control-allow-origin"] == SITE
        assert response.headers["vary"] == "Origin"
    good = VISIT if path == PATHS[0] else b'{"events":[%s]}' % VISIT
    response = api.client.post(path, content=good, headers=headers)
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["vary"] == "Origin"
    assert response.json() == {"accepted": 1}


@pytest.mark.parametrize("path", PATHS)
def test_a_trailing_slash_reaches_the_same_route(api: Api, site: str, path: str) -> None:
    good = VISIT if path == PATHS[0] else b'{"events":[%s]}' % VISIT
    response = api.client.post(
        path + "/", content=good, headers={"Authorization": f"Bearer {site}"}
    )
    assert response.status_code == 202


def test_both_operations_are_documented_with_their_answer(api: Api) -> None:
    schema = api.client.get("/schema/openapi.json").json()
    for path, summary in zip(PATHS, ["Record one event", "Record a batch"], strict=True):
        operation = schema["paths"][path]["post"]
        assert operation["summary"].startswith(summary)
        assert operation["security"] == [{"projectToken": []}]
        assert set(operation["requestBody"]["content"]) == {"application/json", "text/plain"}
        answer = operation["responses"]["202"]["content"]["application/json"]["schema"]
        assert answer["required"] == ["accepted"]
        assert "options" not in schema["paths"][path]


class TestShortcut:
    """A POST to an ingestion path skips Litestar's routing (see shortcut.py); answers must
    not depend on it."""

    def test_create_app_answers_a_post_to_both_paths_past_litestars_router(
        self, api: Api, site: str
    ) -> None:
        app = api.client.app
        through_litestar: list[str] = []
        handler = app.asgi_handler  # Litestar's router, inside its exception handling

        async def spy(scope: Scope, receive: Receive, send: Send) -> None:
            through_litestar.append(scope["path"])
            await handler(scope, receive, send)

        app.asgi_handler = spy
        headers = {"Authorization": f"Bearer {site}"}
        batch = b'{"events":[%s]}' % VISIT
        for path, body in zip(PATHS, [VISIT, batch], strict=True):
            assert api.client.post(path, content=body, headers=headers).status_code == 202
        assert through_litestar == []
        assert api.client.post(PATHS[0] + "/", content=VISIT, headers=headers).status_code == 202
        assert through_litestar == [PATHS[0] + "/"]

    @pytest.mark.parametrize(
        ("body", "headers"),
        [
            (b"{", {}),
            (b"[]", {}),
            (b"x" * (65 * 1024), {}),
            (VISIT, {}),
            (VISIT, {"Authorization": "Bearer pvt_garbage"}),
            (VISIT, {"Origin": "https://evil.example"}),
        ],
    )
    def test_errors_are_the_same_with_and_without_it(
        self, api: Api, site: str, body: bytes, headers: dict[str, str]
    ) -> None:
        if "Origin" in headers:
            headers = {**headers, "Authorization": f"Bearer {site}"}
        shortcut = api.client.post(PATHS[0], content=body, headers=headers)
        routed = api.client.post(PATHS[0] + "/", content=body, headers=headers)
        assert shortcut.status_code == routed.status_code >= 400
        assert shortcut.content == routed.content
        assert _without_date(shortcut.headers) == _without_date(routed.headers)

    def test_an_unexpected_error_is_the_same_500_both_ways(self, clock: ManualClock) -> None:
        with running_api(clock, services=services_over(BrokenEventStore(), clock)) as api:
            _, token = api.create_project()
            shortcut = api.send({"action": "visit", "path": "/"}, token)
            routed = api.client.post(
                PATHS[0] + "/", content=VISIT, headers={"Authorization": f"Bearer {token}"}
            )
        assert_error(shortcut, 500, "internal_error")
        assert shortcut.content == routed.content

    def test_app_middleware_turns_it_off_so_that_the_middleware_runs(self) -> None:
        services = make_services(ManualClock())

        def stamp(app: ASGIApp) -> ASGIApp:
            async def stamped(scope: Scope, receive: Receive, send: Send) -> None:
                async def send_stamped(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message["headers"], (b"x-stamp", b"1")]
                    await send(message)

                await app(scope, receive, send_stamped)

            return stamped

        handlers = tuple(ingest_handlers(services, TrustedProxies()))
        app = App(
            shortcuts=handlers,
            route_handlers=list(handlers),
            middleware=[stamp],
            exception_handlers=exception_handlers(),
            logging_config=None,
            openapi_config=None,
        )
        with TestClient(app) as client:
            response = client.post(PATHS[0], content=b"{")
        assert_error(response, 400, "invalid_json")
        assert response.headers["x-stamp"] == "1"


def _without_date(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "date"}


class Disconnecting(Exchange):
    """A client that sends a part of the body and goes away (a page unloaded mid-beacon)."""

    async def receive(self) -> Message:
        self.received += 1
        if self.received == 1:
            return {"type": "http.request", "body": VISIT[:5], "more_body": True}
        return {"type": "http.disconnect"}


async def test_a_client_gone_mid_body_is_a_4xx_and_no_error_in_the_log(
    app_and_token: tuple[Any, str], caplog: pytest.LogCaptureFixture
) -> None:
    app, token = app_and_token
    exchange = Disconnecting([])
    scope = _scope(PATHS[0], {"Authorization": f"Bearer {token}"})
    with caplog.at_level(logging.ERROR):
        await app(scope, exchange.receive, exchange.send)
    _error(exchange, 400, "bad_request")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_failure_after_the_answer_started_is_raised_not_answered_twice(
    app_and_token: tuple[Any, str],
) -> None:
    """As Litestar's exception middleware does: a second http.response.start would break
    the ASGI protocol."""
    app, token = app_and_token
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": VISIT, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            raise OSError("the connection broke")

    with pytest.raises(AnswerInterrupted) as raised:
        await app(_scope(PATHS[0], {"Authorization": f"Bearer {token}"}), receive, send)
    assert isinstance(raised.value.__cause__, OSError)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 202


@pytest.mark.parametrize("path", [PATHS[0], PATHS[0] + "/"])
async def test_an_invalid_host_header_is_400_on_the_shortcut_as_through_the_router(
    app_and_token: tuple[Any, str], path: str
) -> None:
    app, token = app_and_token
    headers = {"Authorization": f"Bearer {token}", "Host": 'evil"<x>{}'}
    body = _error(await _call(app, path, [VISIT], headers), 400, "bad_request")
    assert body["message"] == "Invalid host header"
