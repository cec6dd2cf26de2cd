"""What the shortcut past Litestar's router restates of Litestar (``bypass.py``), held to
the installed Litestar's own behaviour: ``tox -e newest`` runs these on its newest
release, so a change there fails here rather than in production."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from litestar import Litestar, asgi, get
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import LitestarWarning
from litestar.logging.config import LoggingConfig
from litestar.types import Message, Receive, Scope, Send

from privalytics.adapters.http.bypass import enter, runs_nothing_around_handlers, valid_host
from privalytics.adapters.http.shortcut import App
from tests.unit.http.conftest import asgi_scope

PATH = "/hook"


def _scope(path: str, headers: list[tuple[bytes, bytes]], method: str = "POST") -> Scope:
    scope: Any = asgi_scope(path, headers, method=method)
    del scope["state"]  # as the server hands it over: Litestar adds the state
    return scope


async def _call(app: Any, scope: Scope) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@get("/", sync_to_thread=False)
def _index() -> str:
    return "ok"


_ROUTED = Litestar(route_handlers=[_index], logging_config=None, openapi_config=None)


@given(st.binary(max_size=12) | st.text(max_size=12).map(str.encode))
@example(b"example.com:8080")
@example(b"[2001:db8::1]:443")
@example(b'evil"<x>{}')
@example(b"a b")
@example(b"caf\xc3\xa9")
@example(b"")
def test_valid_host_agrees_with_litestars_router(host: bytes) -> None:
    sent = asyncio.run(_call(_ROUTED, _scope("/", [(b"host", host)], method="GET")))
    assert sent[0]["status"] == (200 if valid_host(host) else 400)


def _recorder(seen: list[dict[str, Any]]) -> Any:
    @asgi(PATH, is_mount=False, copy_scope=False)
    async def hook(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return hook


async def test_enter_puts_in_the_scope_what_litestar_puts_there() -> None:
    seen: list[dict[str, Any]] = []
    handler = _recorder(seen)
    app = Litestar(route_handlers=[handler], logging_config=None, openapi_config=None)
    await _call(app, _scope(PATH, []))
    (routed,) = seen
    entered: Any = {}
    enter(app, handler, entered)
    assert set(entered) <= set(routed)
    assert entered["app"] is routed["app"] is app
    assert entered["litestar_app"] is routed["litestar_app"] is app
    assert isinstance(routed["state"], dict)
    assert entered["state"] == {}
    # Litestar routes to its own copy of a registered handler: the same function.
    assert entered["route_handler"].fn is routed["route_handler"].fn


def _hook(*_: Any) -> None:
    return None


def _middleware(app: Any) -> Any:
    return app


# Each configuration under which Litestar runs something of the app's around a handler.
WRAPPING: dict[str, dict[str, Any]] = {
    "middleware": {"middleware": [_middleware]},
    "cors": {"cors_config": CORSConfig(allow_origins=["https://site.example"])},
    "csrf": {"csrf_config": CSRFConfig(secret="s" * 32)},
    "compression": {"compression_config": CompressionConfig(backend="gzip")},
    "allowed hosts": {"allowed_hosts": ["site.example"]},
    "before_send": {"before_send": [_hook]},
    "after_exception": {"after_exception": [_hook]},
    "exception logging": {"logging_config": LoggingConfig()},
    "pdb": {"pdb_on_exception": True},
}


def test_an_app_with_nothing_around_its_handlers_is_recognised() -> None:
    app = Litestar(route_handlers=[_index], logging_config=None, openapi_config=None)
    assert runs_nothing_around_handlers(app)


@pytest.mark.parametrize("config", WRAPPING.values(), ids=WRAPPING.keys())
def test_anything_around_the_handlers_is_recognised(config: dict[str, Any]) -> None:
    settings = {"logging_config": None, **config}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LitestarWarning)  # "Python Debugger on exception"
        app = Litestar(route_handlers=[_index], openapi_config=None, **settings)
    assert not runs_nothing_around_handlers(app)


@pytest.mark.parametrize(
    "config",
    [WRAPPING["cors"], WRAPPING["allowed hosts"], WRAPPING["middleware"]],
    ids=["cors", "allowed hosts", "middleware"],
)
async def test_an_app_with_shortcuts_answers_as_litestar_when_something_wraps_them(
    config: dict[str, Any],
) -> None:
    headers = [(b"host", b"other.example"), (b"origin", b"https://site.example")]
    answers = []
    for make in (Litestar, App):
        handler = _recorder([])
        extra = {"shortcuts": [handler]} if make is App else {}
        app = make(
            route_handlers=[handler], logging_config=None, openapi_config=None, **config, **extra
        )
        answers.append(await _call(app, _scope(PATH, list(headers))))
    assert answers[0] == answers[1]
