"""Event ingestion, the hot path: raw body bytes -> wire Struct -> domain -> 202.

Lean on purpose: the handlers take the bare request, decode its bytes with a prebuilt
msgspec decoder, scan the raw ASGI headers once, and answer with prebuilt bytes. The
Content-Type is not looked at, so ``application/json``, ``text/plain`` (what
``navigator.sendBeacon`` sends for a string, with no CORS preflight) and no type at all
are read alike.

The token is ``Authorization: Bearer <token>`` or, for sendBeacon which cannot set
headers, the body's ``token`` field; the header wins when both are given. A token in a web
page is public: it can only write events, and only from the project's allowed origins
when the project lists any (see :mod:`.cors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.handlers import HTTPRouteHandler

from privalytics.adapters.http.clientip import TrustedProxies, client_ip
from privalytics.adapters.http.cors import preflight_handlers, reflect
from privalytics.adapters.http.errors import decode_body
from privalytics.adapters.http.openapi import operation_with_body
from privalytics.adapters.http.schemas import AcceptedOut, BatchIn, SingleEventIn
from privalytics.domain.errors import Unauthenticated
from privalytics.domain.models import ClientInfo
from privalytics.domain.services import Services

SINGLE_BODY_LIMIT = 64 * 1024
BATCH_BODY_LIMIT = 2 * 1024 * 1024

_single = msgspec.json.Decoder(SingleEventIn)
_batch = msgspec.json.Decoder(BatchIn)
_ACCEPTED_ONE = msgspec.json.encode(AcceptedOut(accepted=1))
_NO_TOKEN = "a project token is needed: send 'Authorization: Bearer pvt_...' or a 'token' field"  # noqa: S105 (a message, not a secret)


def bearer(value: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header value."""
    if value is None:
        return None
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip() or None


def accepted(count: int, client: ClientInfo) -> Response[bytes]:
    """202 ``{"accepted": count}``, readable by the page that sent it (the project allowed
    its origin, or the events would have been refused)."""
    body = _ACCEPTED_ONE if count == 1 else b'{"accepted":%d}' % count
    return Response(
        content=body, status_code=202, media_type=MediaType.JSON, headers=reflect(client.origin)
    )


def _context(scope: Any, body_token: str | None, trusted: TrustedProxies) -> tuple[str, ClientInfo]:
    """The token and the client of a request."""
    authorization, client = request_client(scope, trusted)
    token = bearer(authorization) or body_token
    if token is None:
        raise Unauthenticated(_NO_TOKEN)
    return token, client


def request_client(scope: Any, trusted: TrustedProxies) -> tuple[str | None, ClientInfo]:
    """The Authorization header and the client of a request, from one pass over its raw
    headers."""
    authorization: str | None = None
    user_agent = ""
    origin: str | None = None
    forwarded: list[str] = []
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
    peer = scope.get("client")
    ip = client_ip(peer[0] if peer else None, forwarded, trusted)
    return authorization, ClientInfo(ip=ip, user_agent=user_agent, origin=origin)


def ingest_handlers(services: Services, trusted: TrustedProxies) -> Iterable[HTTPRouteHandler]:
    record = services.ingestion.record

    @post(
        "/api/v1/events",
        status_code=202,
        request_max_body_size=SINGLE_BODY_LIMIT,
        tags=["ingestion"],
        summary="Record one event",
        description=(
            "Body: one event (see EventIn), optionally with a `token` field for sendBeacon. "
            'Content-Type application/json, text/plain or none. Answers 202 {"accepted": 1}.'
        ),
        security=[{"projectToken": []}],
        operation_class=operation_with_body(SingleEventIn, "One event."),
    )
    async def record_event(request: Request[Any, Any, Any]) -> Response[bytes]:
        wire = decode_body(_single, await request.body())
        token, client = _context(request.scope, wire.token, trusted)
        return accepted(await record(token, [wire.to_incoming()], client), client)

    @post(
        "/api/v1/events/batch",
        status_code=202,
        request_max_body_size=BATCH_BODY_LIMIT,
        tags=["ingestion"],
        summary="Record a batch of events, all or nothing",
        description=(
            'Body: {"events": [...1 to 1000 events], "token"?: ...}. Every event is '
            "checked before any is stored; the first invalid one is named by its index."
        ),
        security=[{"projectToken": []}],
        operation_class=operation_with_body(BatchIn, "1 to 1000 events, all or nothing."),
    )
    async def record_batch(request: Request[Any, Any, Any]) -> Response[bytes]:
        wire = decode_body(_batch, await request.body())
        token, client = _context(request.scope, wire.token, trusted)
        events = [event.to_incoming() for event in wire.events]
        return accepted(await record(token, events, client), client)

    # Before the POST handlers, or Litestar adds its own OPTIONS handler to their paths.
    return (
        *preflight_handlers(services, ["/api/v1/events", "/api/v1/events/batch"]),
        record_event,
        record_batch,
    )
