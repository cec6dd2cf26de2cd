"""Event ingestion, the hot path: raw body bytes -> wire Struct -> domain -> 202.

``POST /api/v1/events`` and ``/api/v1/events/batch`` are raw ASGI routes: Litestar routes
the request to them and does nothing else. They read the body from ``receive`` (refusing
one over the path's limit with 413 before reading it all when its Content-Length says so),
decode it with a prebuilt msgspec decoder, scan the raw headers once and answer with
prebuilt ``send()`` messages. Per request that is about a third of the server's CPU less
than a Litestar handler (docs/performance.md). Everything that is not an accepted event is
raised, and Litestar's exception handlers (:mod:`.errors`) answer it exactly as for any
other route; the same routes answer the CORS preflight (:mod:`.cors`) and 405 to other
methods. Their OpenAPI operations are described in :func:`ingest_paths`.

The Content-Type is not looked at, so ``application/json``, ``text/plain`` (what
``navigator.sendBeacon`` sends for a string, with no CORS preflight) and no type at all
are read alike.

The token is ``Authorization: Bearer <token>`` or, for sendBeacon which cannot set
headers, the body's ``token`` field; the header wins when both are given. A token in a web
page is public: it can only write events, and only from the project's allowed origins
when the project lists any (see :mod:`.cors`).

A request with ``Sec-GPC: 1`` is answered ``202 {"accepted": 0}`` from the same pass over
the headers, before its body is read: the domain's rule
(:func:`privalytics.domain.services.declines`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import msgspec
from litestar import asgi
from litestar.enums import ScopeType
from litestar.exceptions import (
    ClientException,
    MethodNotAllowedException,
    NotFoundException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import ASGIRouteHandler
from litestar.openapi.spec import PathItem, SecurityRequirement
from litestar.response.base import ASGIResponse
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from privalytics.adapters.http.bypass import valid_host
from privalytics.adapters.http.clientip import TrustedProxies, client_ip
from privalytics.adapters.http.cors import (
    MayPreflight,
    preflight_headers,
    reflect,
    request_origin,
)
from privalytics.adapters.http.errors import AnswerInterrupted
from privalytics.adapters.http.malformed import decode_body
from privalytics.adapters.http.openapi import Answer, post_path_item
from privalytics.adapters.http.schemas import AcceptedOut, BatchIn, SingleEventIn
from privalytics.domain.errors import Unauthenticated
from privalytics.domain.models import ClientInfo, IncomingEvent
from privalytics.domain.services import Services, declines

SINGLE_BODY_LIMIT = 64 * 1024
BATCH_BODY_LIMIT = 2 * 1024 * 1024
EVENTS_PATH = "/api/v1/events"
BATCH_PATH = "/api/v1/events/batch"
ALLOW = "OPTIONS, POST"
# Every error an ingestion route can answer (documented in its OpenAPI operation).
INGEST_ERRORS = (400, 401, 403, 413, 429, 503)

_NO_TOKEN = "a project token is needed: send 'Authorization: Bearer pvt_...' or a 'token' field"  # noqa: S105 (a message, not a secret)
_JSON = (b"content-type", b"application/json")
_ACCEPTED_ONE = msgspec.json.encode(AcceptedOut(accepted=1))
# The answer to nearly every request, built once: one accepted event from no Origin.
_ACCEPTED_ONE_START: HTTPResponseStartEvent = {
    "type": "http.response.start",
    "status": 202,
    "headers": [_JSON, (b"content-length", b"%d" % len(_ACCEPTED_ONE))],
}
_ACCEPTED_ONE_BODY: HTTPResponseBodyEvent = {
    "type": "http.response.body",
    "body": _ACCEPTED_ONE,
    "more_body": False,
}


def bearer(value: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header value."""
    if value is None:
        return None
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip() or None


def _token(authorization: str | None, body_token: str | None) -> str:
    """The token of a request: its Authorization header's, else its body's."""
    token = bearer(authorization) or body_token
    if token is None:
        raise Unauthenticated(_NO_TOKEN)
    return token


def request_client(scope: Any, trusted: TrustedProxies) -> tuple[str | None, ClientInfo]:
    """The Authorization header and the client of a request, from one pass over its raw
    headers."""
    authorization: str | None = None
    user_agent = ""
    origin: str | None = None
    forwarded: list[str] = []
    gpc = False
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            forwarded.append(value.decode("latin-1"))
        elif name == b"host" and not valid_host(value):
            # What Litestar's router checks before routing (the shortcut skips the router).
            raise ClientException("Invalid host header")
        elif name == b"sec-gpc":
            gpc = value.strip() == b"1"
    peer = scope.get("client")
    ip = client_ip(peer[0] if peer else None, forwarded, trusted)
    return authorization, ClientInfo(ip=ip, user_agent=user_agent, origin=origin, gpc=gpc)


def _announced_length(scope: Any) -> int | None:
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise ClientException(
                    f"Invalid content-length: {value.decode('latin-1')!r}"
                ) from None
    return None


async def read_body(scope: Any, receive: Receive, limit: int) -> bytes:
    """The request's body, refused (413) when over ``limit`` bytes: at once when its
    Content-Length says so, otherwise as soon as more has arrived."""
    announced = _announced_length(scope)
    if announced is not None and announced > limit:
        raise RequestEntityTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # A page unloaded mid-beacon: nobody reads the answer, and it is no server
            # error (not logged as one).
            raise ClientException("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        if not message.get("more_body", False) and not chunks:
            if len(chunk) > limit:
                raise RequestEntityTooLarge
            return chunk  # nearly always: the whole body in one message
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_accepted(send: Send, count: int, origin: str | None) -> None:
    """202 ``{"accepted": count}``, readable by the page that sent it (the project allowed
    its origin, or the events would have been refused)."""
    if count == 1 and origin is None:
        await send(_ACCEPTED_ONE_START)
        await send(_ACCEPTED_ONE_BODY)
        return
    body = _ACCEPTED_ONE if count == 1 else b'{"accepted":%d}' % count
    headers = [_JSON, (b"content-length", b"%d" % len(body))]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reflect(origin).items()
    ]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _WithToken(Protocol):
    @property
    def token(self) -> str | None: ...


W = TypeVar("W", bound=_WithToken)


def _ingestion_route(
    path: str,
    *,
    limit: int,
    decoder: msgspec.json.Decoder[W],
    events_of: Callable[[W], Sequence[IncomingEvent]],
    services: Services,
    trusted: TrustedProxies,
) -> ASGIRouteHandler:
    record = services.ingestion.record
    may_preflight: MayPreflight = services.ingestion.may_preflight

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            raise NotFoundException
        method = scope["method"]
        if method == "POST":
            authorization, client = request_client(scope, trusted)
            if declines(client):
                # Global Privacy Control: answered at once, the body not even read.
                count = 0
            else:
                wire = decode_body(decoder, await read_body(scope, receive, limit))
                token = _token(authorization, wire.token)
                count = await record(token, events_of(wire), client)
            try:
                await send_accepted(send, count, client.origin)
            except Exception as exc:
                raise AnswerInterrupted("the answer could not be sent") from exc
        elif method == "OPTIONS":
            headers = await preflight_headers(request_origin(scope), may_preflight)
            await ASGIResponse(body=b"", status_code=204, headers=headers)(scope, receive, send)
        else:
            raise MethodNotAllowedException(headers={"Allow": ALLOW})

    # copy_scope=False: the scope is not changed, so neither copied nor compared.
    return asgi(path, is_mount=False, copy_scope=False, name=f"ingest:{path}")(endpoint)


def _one(wire: SingleEventIn) -> list[IncomingEvent]:
    return [wire.to_incoming()]


def _many(wire: BatchIn) -> list[IncomingEvent]:
    return [event.to_incoming(index) for index, event in enumerate(wire.events)]


def ingest_handlers(services: Services, trusted: TrustedProxies) -> Iterable[ASGIRouteHandler]:
    """The two ingestion routes; :func:`ingest_paths` documents them."""
    return (
        _ingestion_route(
            EVENTS_PATH,
            limit=SINGLE_BODY_LIMIT,
            decoder=msgspec.json.Decoder(SingleEventIn),
            events_of=_one,
            services=services,
            trusted=trusted,
        ),
        _ingestion_route(
            BATCH_PATH,
            limit=BATCH_BODY_LIMIT,
            decoder=msgspec.json.Decoder(BatchIn),
            events_of=_many,
            services=services,
            trusted=trusted,
        ),
    )


def ingest_paths() -> dict[str, PathItem]:
    """The OpenAPI path items of the ingestion routes."""
    security: list[SecurityRequirement] = [{"projectToken": []}]
    stored = "Stored (committed): the number of events."
    return {
        EVENTS_PATH: post_path_item(
            operation_id="ApiV1EventsRecordEvent",
            tags=["ingestion"],
            summary="Record one event",
            description=(
                "Body: one event (see EventIn), optionally with a `token` field for "
                "sendBeacon. Content-Type application/json, text/plain or none. Answers 202 "
                '{"accepted": 1}. At most 64 KiB. With `Sec-GPC: 1` (Global Privacy '
                'Control): 202 {"accepted": 0}, nothing read or stored.'
            ),
            security=security,
            body=SingleEventIn,
            body_description="One event.",
            answer=Answer(status=202, description=stored, body=AcceptedOut),
            errors=INGEST_ERRORS,
        ),
        BATCH_PATH: post_path_item(
            operation_id="ApiV1EventsBatchRecordBatch",
            tags=["ingestion"],
            summary="Record a batch of events, all or nothing",
            description=(
                'Body: {"events": [...1 to 1000 events], "token"?: ...}. Every event is '
                "checked before any is stored; the first invalid one is named by its index. "
                'At most 2 MiB. With `Sec-GPC: 1`: 202 {"accepted": 0}, nothing read or '
                "stored."
            ),
            security=security,
            body=BatchIn,
            body_description="1 to 1000 events, all or nothing.",
            answer=Answer(status=202, description=stored, body=AcceptedOut),
            errors=INGEST_ERRORS,
        ),
    }
