"""The one place where errors become HTTP responses.

Every error answers ``{"error": "<code>", "message": "..."}`` (plus ``field`` and
``index`` when the input names them):

=====================================  ======  =========================================
error                                  status  notes
=====================================  ======  =========================================
InvalidInput                           400     ``invalid_input``; ``field``, ``index``
a body msgspec cannot decode           400     ``invalid_json`` (syntax, an empty body,
                                               invalid UTF-8, an unpaired surrogate
                                               escape, nesting too deep) or
                                               ``invalid_input`` (shape), with msgspec's
                                               message and its ``$.events[3].value`` path
Unauthenticated                        401     ``WWW-Authenticate: Bearer``
OriginNotAllowed                       403
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

Messages come from the domain or from msgspec; neither repeats a token secret, an IP
address or a user agent. msgspec's "Invalid enum value" repeats the value it refused, so
that message is rewritten. The catch-all never logs a body, a header or an address.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from http import HTTPStatus
from inspect import getmro
from typing import Any, TypeVar

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandler, ExceptionHandlersMap, Receive, Scope, Send

from privalytics.adapters.http.schemas import ErrorOut
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    RateLimited,
    StorageUnavailable,
    Unauthenticated,
)
from privalytics.domain.models import Action

logger = logging.getLogger("privalytics.http")

STORAGE_RETRY_AFTER = 5

_encoder = msgspec.json.Encoder()
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_BATCH_PATH = re.compile(r"^\.events\[(?P<index>\d+)\](?:\.(?P<field>\w+))?")
_FIELD_PATH = re.compile(r"^\.(?P<field>\w+)")
_MISSING = re.compile(r"^Object missing required field `(?P<field>\w+)`")
_ENUM = re.compile(r"^Invalid enum value .*")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>.*)`$", re.DOTALL)
_NOT_OBJECT = re.compile(r"^Expected `object`, got `(?P<got>\w+)`$")
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_NOT_AN_OBJECT = "the body must be a JSON object"
# What decoding untrusted bytes may raise: msgspec raises UnicodeDecodeError for invalid
# UTF-8 inside a string and RecursionError for nesting deeper than the interpreter allows.
UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
MAX_LOGGED_PATH = 200
T = TypeVar("T")
_ACTIONS = ", ".join(action.value for action in Action)
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


class MalformedBody(Exception):
    """A request body that does not decode into its wire schema."""

    def __init__(
        self, message: str, *, code: str, field: str | None = None, index: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.index = index

    @classmethod
    def of(
        cls, exc: msgspec.DecodeError | UnicodeDecodeError | RecursionError, body: bytes = b""
    ) -> MalformedBody:
        """Translate msgspec's error, naming the event and the field it found wrong."""
        if isinstance(exc, UnicodeDecodeError):
            return cls("the body is not valid UTF-8", code="invalid_json")
        if isinstance(exc, RecursionError):
            return cls("the body's JSON is nested too deeply", code="invalid_json")
        message = str(exc)
        if not isinstance(exc, msgspec.ValidationError):
            if not body.strip():
                return cls("the body is empty; it must be a JSON object", code="invalid_json")
            if _unpaired_surrogate(body):
                return cls(
                    "a string has an unpaired UTF-16 surrogate escape (\\ud800 to \\udfff), "
                    "which is not Unicode text",
                    code="invalid_json",
                )
            return cls(f"{_NOT_AN_OBJECT}: {message}", code="invalid_json")
        at = _AT.search(message)
        path = at.group("path") if at else ""
        head = message[: at.start()] if at else message
        field: str | None = None
        index: int | None = None
        if (batch := _BATCH_PATH.match(path)) is not None:
            index = int(batch.group("index"))
            field = batch.group("field")
        elif (single := _FIELD_PATH.match(path)) is not None:
            field = single.group("field")
        if field is None and (missing := _MISSING.match(head)) is not None:
            field = missing.group("field")
        if field is None and (unknown := _UNKNOWN.match(head)) is not None:
            field = unknown.group("field")
        if not path and (shape := _NOT_OBJECT.match(head)) is not None:
            head = f"{_NOT_AN_OBJECT}, not {shape.group('got')}"
        if _ENUM.match(head):
            head = f"must be one of {_ACTIONS}" if field == "action" else "Invalid enum value"
        where = f" - at `${path}`" if path else ""
        prefix = f"event {index}: " if index is not None else ""
        return cls(f"{prefix}{head}{where}", code="invalid_input", field=field, index=index)


def _unpaired_surrogate(body: bytes) -> bool:
    """Whether a JSON text escapes half a UTF-16 surrogate pair (``"\\ud800"``): msgspec
    refuses it, saying only that the input is truncated or malformed."""
    high_end = -1  # where the last unpaired high surrogate escape ended
    for escape in _ESCAPE.finditer(body):
        digits = escape.group(1)
        code = int(digits, 16) if digits else -1
        if high_end >= 0:
            if escape.start() != high_end or not 0xDC00 <= code <= 0xDFFF:
                return True
            high_end = -1
        elif 0xD800 <= code <= 0xDBFF:
            high_end = escape.end()
        elif 0xDC00 <= code <= 0xDFFF:
            return True
    return high_end >= 0


def decode_body(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    """``body`` decoded by ``decoder``; anything undecodable is a :class:`MalformedBody`."""
    try:
        return decoder.decode(body)
    except UNDECODABLE as exc:
        raise MalformedBody.of(exc, body) from None


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
        code = "invalid_input"
        problems = [item for item in exc.extra or [] if isinstance(item, dict)]
        if problems:
            message = "; ".join(_problem(item) for item in problems)
            field = _problem_key(problems[0])
    return error_response(status, code, message, field=field, headers=exc.headers)


def _problem_key(item: dict[str, Any]) -> str | None:
    key = item.get("key")
    if key not in (None, "data"):
        return str(key)
    # Litestar names a body that is wrong as a whole "data", a name of its own making.
    missing = _MISSING.match(str(item.get("message", "")))
    return missing.group("field") if missing else None


def _problem(item: dict[str, Any]) -> str:
    key = _problem_key(item)
    message = str(item.get("message", "invalid"))
    return f"{key}: {message}" if key else message


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


def exception_handlers() -> ExceptionHandlersMap:
    return {
        InvalidInput: _invalid_input,
        MalformedBody: _malformed,
        Unauthenticated: _unauthenticated,
        OriginNotAllowed: _origin,
        NotFound: _not_found,
        RateLimited: _rate_limited,
        StorageUnavailable: _unavailable,
        HTTPException: _http,
        Exception: _unexpected,
    }
