"""The one place where errors become HTTP responses.

Every error answers ``{"error": "<code>", "message": "..."}`` (plus ``field`` and
``index`` when the input names them):

=====================================  ======  =========================================
error                                  status  notes
=====================================  ======  =========================================
InvalidInput                           400     ``invalid_input``; ``field``, ``index``
a body that does not decode            400     ``invalid_json`` (syntax, an empty body,
                                               invalid UTF-8, an unpaired surrogate
                                               escape, nesting too deep) or
                                               ``invalid_input`` (shape), explained in
                                               our words with a ``$.events[3].value``
                                               path (:mod:`.malformed`)
Unauthenticated                        401     ``WWW-Authenticate: Bearer``
OriginNotAllowed                       403
ServerTokenRequired                    403     ``server_token_required``; ``field``, ``index``
NotFound                               404
body over the route's limit            413     ``body_too_large``
RateLimited                            429     ``Retry-After`` (whole seconds, rounded
                                               up) and ``RateLimit-Limit/-Remaining/
                                               -Reset``; see below
StorageUnavailable                     503     ``Retry-After: 5``
Litestar's own (404, 405, 400, ...)    theirs  same shape
anything else                          500     logged by type and path (escaped) only
=====================================  ======  =========================================

A batch larger than the project's whole burst can never pass, however long the sender
waits: it is still a 429 (one domain error, one status), whose message says the batch
exceeds the limit, with the RateLimit-* headers but without ``Retry-After``, which would
promise something untrue. 413 is kept for bodies too large in bytes.

Messages come from the domain or from this adapter, never from a dependency's exception
text (which changes between releases); none repeats a token secret, an IP address or a
user agent. The catch-all never logs a body, a header or an address.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from http import HTTPStatus
from inspect import getmro
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandler, ExceptionHandlersMap, Receive, Scope, Send

from privalytics.adapters.http.cors import reflect, request_origin
from privalytics.adapters.http.malformed import MalformedBody
from privalytics.adapters.http.schemas import ErrorOut
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    RateLimited,
    ServerTokenRequired,
    StorageUnavailable,
    Unauthenticated,
)

logger = logging.getLogger("privalytics.http")

STORAGE_RETRY_AFTER = 5

_encoder = msgspec.json.Encoder()
MAX_LOGGED_PATH = 200
_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
# What the typed parameters that Litestar parses expect (its own texts are not ours to show).
_EXPECTED = {"limit": "must be a whole number", "revoke_others": "must be true or false"}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    index: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    body = _encoder.encode(ErrorOut(error=code, message=message, field=field, index=index))
    return Response(
        content=body, status_code=status, media_type=MediaType.JSON, headers=dict(headers or {})
    )


def _ceil(seconds: float) -> str:
    return str(max(0, math.ceil(seconds)))


def _invalid_input(_: Request[Any, Any, Any], exc: InvalidInput) -> Response[bytes]:
    return error_response(400, "invalid_input", str(exc), field=exc.field, index=exc.index)


def _malformed(_: Request[Any, Any, Any], exc: MalformedBody) -> Response[bytes]:
    return error_response(400, exc.code, exc.message, field=exc.field, index=exc.index)


def _unauthenticated(_: Request[Any, Any, Any], exc: Unauthenticated) -> Response[bytes]:
    return error_response(401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"})


def _origin(_: Request[Any, Any, Any], exc: OriginNotAllowed) -> Response[bytes]:
    return error_response(403, "origin_not_allowed", str(exc))


def _server_token(_: Request[Any, Any, Any], exc: ServerTokenRequired) -> Response[bytes]:
    return error_response(403, "server_token_required", str(exc), field=exc.field, index=exc.index)


def _not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[bytes]:
    return error_response(404, "not_found", str(exc))


def _rate_limited(_: Request[Any, Any, Any], exc: RateLimited) -> Response[bytes]:
    headers = {
        "RateLimit-Limit": str(exc.limit),
        "RateLimit-Remaining": str(exc.remaining),
        "RateLimit-Reset": _ceil(exc.reset_after),
    }
    if math.isfinite(exc.retry_after):
        headers["Retry-After"] = _ceil(exc.retry_after)
    return error_response(429, "rate_limited", str(exc), headers=headers)


def _unavailable(_: Request[Any, Any, Any], exc: StorageUnavailable) -> Response[bytes]:
    return error_response(
        503, "unavailable", str(exc), headers={"Retry-After": str(STORAGE_RETRY_AFTER)}
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500:
        log_unexpected(request, exc)
    code = _CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    message = exc.detail or HTTPStatus(status).phrase
    field: str | None = None
    if isinstance(exc, ValidationException):
        # Litestar's (and msgspec's) texts are theirs: say which input is wrong, in ours.
        code = "invalid_input"
        problems = [item for item in exc.extra or [] if isinstance(item, dict)]
        keys = [_problem_key(item) for item in problems]
        named = [key for key in keys if key is not None]
        message = "; ".join(_problem(item) for item in problems) or "the request is not valid"
        field = named[0] if named else None
    return error_response(status, code, message, field=field, headers=exc.headers)


def _problem_key(item: dict[str, Any]) -> str | None:
    key = item.get("key")
    # Litestar names a body that is wrong as a whole "data", a name of its own making.
    return None if key in (None, "data") else str(key)


def _problem(item: dict[str, Any]) -> str:
    key = _problem_key(item)
    if key is None:
        return "the request body is not valid"
    return f"`{key}` {_EXPECTED.get(key, 'is not valid')}"


def log_unexpected(request: Request[Any, Any, Any], exc: Exception) -> None:
    # Type and path only: a body, a header or an address could identify a visitor. The
    # path is the client's: escaped, so that a NUL or a newline cannot forge log lines.
    path = request.url.path
    shown = repr(path[:MAX_LOGGED_PATH])[1:-1]
    if len(path) > MAX_LOGGED_PATH:
        shown += f" (truncated from {len(path)} characters)"
    logger.error("unexpected %s handling %s %s", type(exc).__name__, request.method[:16], shown)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log_unexpected(request, exc)
    return error_response(500, "internal_error", "an unexpected error occurred")


def handler_for(handlers: ExceptionHandlersMap, exc: Exception) -> ExceptionHandler[Any]:
    """The handler Litestar would pick for ``exc``: its status code's, else its nearest
    class's (``_unexpected`` when ``handlers`` has neither)."""
    if isinstance(exc, HTTPException) and (by_status := handlers.get(exc.status_code)):
        return by_status
    for cls in getmro(type(exc)):
        if (by_class := handlers.get(cls)) is not None:
            return by_class
    return _unexpected


class AnswerInterrupted(Exception):
    """Sending an answer failed after it started (the connection broke): too late to send
    another one; raised by a route that sends its answer itself."""


async def answer_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    exc: Exception,
    handlers: ExceptionHandlersMap,
    request_class: type[Request[Any, Any, Any]] = Request,
) -> None:
    """Answer ``exc`` as Litestar's exception middleware does, for a handler called
    without it (see :mod:`.shortcut`): the same handlers, so the same answers."""
    request = request_class(scope=scope, receive=receive, send=send)
    response = handler_for(handlers, exc)(request, exc)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)


# The routes browsers send events to (ingestion and the compatibility endpoints). Their
# errors reflect the page's Origin as an accepted answer does, so that the page and its
# console see the real status and message (a 400 naming the limit) instead of a CORS
# failure. An error message holds nothing a page may not read: never a secret, an
# address or an agent. But for a 403 to an origin the project does not allow: no answer
# to that origin is ever readable.
BROWSER_EVENT_PATHS = frozenset(
    {"/api/v1/events", "/api/v1/events/batch", "/api/event", "/api/send"}
)


def _readable(handler: Callable[[Request[Any, Any, Any], Any], Response[bytes]]) -> Any:
    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[bytes]:
        response = handler(request, exc)
        if request.scope.get("path") in BROWSER_EVENT_PATHS:
            origin = request_origin(request.scope)
            if origin is not None:
                response.headers.update(reflect(origin))
        return response

    return handle


def exception_handlers() -> ExceptionHandlersMap:
    handlers: dict[type[Exception], Any] = {
        InvalidInput: _invalid_input,
        MalformedBody: _malformed,
        Unauthenticated: _unauthenticated,
        OriginNotAllowed: _origin,
        ServerTokenRequired: _server_token,
        NotFound: _not_found,
        RateLimited: _rate_limited,
        StorageUnavailable: _unavailable,
        HTTPException: _http,
        Exception: _unexpected,
    }
    return {
        cls: handler if cls is OriginNotAllowed else _readable(handler)
        for cls, handler in handlers.items()
    }
