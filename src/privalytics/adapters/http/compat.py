"""Drop-in endpoints for the trackers sites already run: Plausible and Umami.

Driving adapters like :mod:`.ingest`: each decodes its tracker's JSON into a wire Struct,
translates it to :class:`~privalytics.domain.models.IncomingEvent`, and calls the same
use case. A site is found by what its tracker sends instead of a token: Plausible's ``d``
(a domain, matched against the hosts of a project's allowed origins), Umami's ``website``
(the project id, for a project that lists its site's origins). docs/compatibility.md
has the field mapping and what is not supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec

from privalytics.adapters.http.clientip import TrustedProxies
from privalytics.adapters.http.constraints import Path, Referrer
from privalytics.adapters.http.cors import preflight_handlers, reflect
from privalytics.adapters.http.ids import is_id
from privalytics.adapters.http.ingest import SINGLE_BODY_LIMIT, request_client
from privalytics.adapters.http.malformed import UNDECODABLE, decode_body
from privalytics.adapters.http.openapi import error_specs, operation_with_body
from privalytics.adapters.http.schemas import AcceptedOut
from privalytics.domain.custom import flatten, prop_text, revenue_amount
from privalytics.domain.devices import MAX_SCREEN_WIDTH
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.models import Action, IncomingEvent
from privalytics.domain.services import Services, declines
from privalytics.domain.trackers import event_kind, split_target

PropValue = str | int | float | bool | None

# ---- wire ------------------------------------------------------------------------------


class RevenueIn(msgspec.Struct, frozen=True, kw_only=True):
    # Both absent: no revenue (the script sends {} for a tagged element without one).
    amount: float | str | None = None
    currency: str | None = None


class PlausibleEventIn(msgspec.Struct, frozen=True, kw_only=True):
    """Plausible's ``POST /api/event`` body (its script sends it as text/plain)."""

    n: str  # event name: pageview, engagement, "Outbound Link: Click", "File Download", ...
    u: Path  # the page's full URL
    d: str  # the site's domain, as declared; may be a comma-separated list
    r: Referrer | None = None  # referrer
    # Custom properties: an object, or (older scripts) the same object as a JSON string.
    p: dict[str, PropValue] | str | None = None
    m: str | None = None  # the oldest scripts' name for p
    h: int | None = None  # 1 when the site uses hash-based routing
    sd: int | None = None  # engagement: scroll depth in percent
    w: int | None = None  # window.innerWidth (script.js; the npm package sends none)
    # A custom event's revenue: {"amount": 10.29 or "10.29", "currency": "EUR"}.
    revenue: RevenueIn | None = msgspec.field(default=None, name="$")


class UmamiPayloadIn(msgspec.Struct, frozen=True, kw_only=True):
    website: str
    url: Path = "/"
    referrer: Referrer | None = None
    name: str | None = None
    # Nested objects and lists too: flattened to dotted keys (domain/custom.py).
    data: dict[str, Any] | None = None
    screen: str | None = None  # the screen's size: "1920x1080"


class UmamiIn(msgspec.Struct, frozen=True, kw_only=True):
    """Umami's ``POST /api/send`` body."""

    type: str
    payload: UmamiPayloadIn


_plausible = msgspec.json.Decoder(PlausibleEventIn)
_umami = msgspec.json.Decoder(UmamiIn)

# ---- translation ------------------------------------------------------------------------
# What their names and properties mean is the domain's (:mod:`privalytics.domain.trackers`);
# here only where each format puts them.


def _text_props(raw: Mapping[str, object] | None) -> dict[str, str]:
    props: dict[str, str] = {}
    for key, value in (raw or {}).items():
        text = prop_text(value)
        if text is None:
            if value is None:
                continue
            raise InvalidInput(
                "property values must be text, finite numbers or booleans", field="props"
            )
        props[key] = text
    return props


def _plausible_props(wire: PlausibleEventIn) -> dict[str, str]:
    raw = wire.p if wire.p is not None else wire.m
    if isinstance(raw, str):
        try:
            decoded = msgspec.json.decode(raw, type=dict[str, PropValue] | None)
        except UNDECODABLE:
            raise InvalidInput("must be an object of properties", field="p") from None
        return _text_props(decoded)
    return _text_props(raw)


def _plausible_path(wire: PlausibleEventIn) -> str:
    if wire.h:
        try:
            fragment = urlsplit(wire.u).fragment
        except ValueError:
            fragment = ""
        if fragment.startswith("/"):
            return fragment
    return wire.u


def from_plausible(wire: PlausibleEventIn) -> IncomingEvent:
    action, name = event_kind(wire.n)
    if action is Action.SCROLL and wire.sd is None:
        raise InvalidInput("an engagement event needs its scroll depth", field="sd")
    target, props = split_target(action, _plausible_props(wire))
    # A depth outside 0-100 is the domain's to bring back into it (clean_event).
    value = float(wire.sd) if action is Action.SCROLL and wire.sd is not None else None
    currency = None
    revenue = wire.revenue
    if revenue is not None and action is Action.CUSTOM and revenue != RevenueIn():
        # One without the other is the domain's to refuse (clean_event).
        value = None if revenue.amount is None else revenue_amount(revenue.amount)
        currency = revenue.currency
    return IncomingEvent(
        action=action,
        name=name,
        path=_plausible_path(wire),
        referrer=wire.r,
        target=target,
        value=value,
        currency=currency,
        props=dict(props),
        # A width no screen has is dropped (no device class), as an Umami screen's is:
        # the page view itself is good.
        screen_width=wire.w if wire.w is None or 0 <= wire.w <= MAX_SCREEN_WIDTH else None,
    )


# Umami's screen as its tracker writes it (``${width}x${height}``), for the width.
_SCREEN = re.compile(r"([0-9]{1,6})x[0-9]{1,6}")


def umami_width(screen: str | None) -> int | None:
    """The width of an Umami ``screen``; None for any other text, which Umami's own server
    stores as given and reads as no device, as here."""
    found = None if screen is None else _SCREEN.fullmatch(screen)
    if found is None:
        return None
    width = int(found[1])
    return width if width <= MAX_SCREEN_WIDTH else None


def from_umami(payload: UmamiPayloadIn) -> IncomingEvent:
    action, name = (Action.VISIT, None) if payload.name is None else event_kind(payload.name)
    props = _text_props(flatten(payload.data or {}, index=None))
    value: float | None = None
    currency: str | None = None
    if action is Action.CUSTOM and "revenue" in props and "currency" in props:
        # Umami's revenue: the event data's ``revenue`` and ``currency``.
        value = revenue_amount(props.pop("revenue"))
        currency = props.pop("currency")
    if action is Action.SCROLL:
        depth = props.pop("depth", None) or props.pop("value", None)
        try:
            value = float(depth) if depth is not None else None
        except ValueError:
            raise InvalidInput("depth must be a number", field="data") from None
    target, props = split_target(action, props)
    return IncomingEvent(
        action=action,
        name=name,
        path=payload.url,
        referrer=payload.referrer,
        target=target,
        value=value,
        currency=currency,
        props=dict(props),
        screen_width=umami_width(payload.screen),
    )


# ---- routes ----------------------------------------------------------------------------

# Every error these routes can answer (documented in their OpenAPI operations).
_ERRORS = error_specs(400, 403, 404, 413, 429, 503)
_OK = b"ok"
_ACCEPTED = b'{"accepted":1}'
_NONE = b'{"accepted":0}'


def compat_handlers(services: Services, trusted: TrustedProxies) -> Iterable[HTTPRouteHandler]:
    ingestion = services.ingestion

    @post(
        "/api/event",
        status_code=202,
        request_max_body_size=SINGLE_BODY_LIMIT,
        tags=["compatibility"],
        media_type=MediaType.TEXT,
        operation_class=operation_with_body(PlausibleEventIn, "One event, as Plausible sends it."),
        responses=_ERRORS,
        summary="Plausible's event endpoint",
        description=(
            "The body Plausible's tracker sends (n, u, d, r, p, h, sd, w); the site is the "
            "project one of whose allowed origins has the domain d. See docs/compatibility.md."
        ),
    )
    async def plausible_event(request: Request[Any, Any, Any]) -> Response[bytes]:
        _, client = request_client(request.scope, trusted)
        if declines(client):
            # The official scripts send under Global Privacy Control; the domain's rule
            # answers them as accepted, the body not even read.
            return Response(
                content=_OK,
                status_code=202,
                media_type=MediaType.TEXT,
                headers=reflect(client.origin),
            )
        wire = decode_body(_plausible, await request.body())
        event = from_plausible(wire)
        domain = wire.d.split(",", 1)[0]
        await ingestion.record_for_domain(domain, [event], client)
        return Response(
            content=_OK, status_code=202, media_type=MediaType.TEXT, headers=reflect(client.origin)
        )

    @post(
        "/api/send",
        status_code=202,
        request_max_body_size=SINGLE_BODY_LIMIT,
        tags=["compatibility"],
        media_type=MediaType.JSON,
        operation_class=operation_with_body(UmamiIn, "One event, as Umami's tracker sends it."),
        responses={
            **_ERRORS,
            202: ResponseSpec(AcceptedOut, description="Stored.", generate_examples=False),
        },
        summary="Umami's event endpoint",
        description=(
            'The body Umami\'s tracker sends: {"type": "event", "payload": {website, url, '
            "referrer, name, data, screen, ...}}; website is the project id of a project that "
            "lists its site's origins. See docs/compatibility.md."
        ),
    )
    async def umami_send(request: Request[Any, Any, Any]) -> Response[bytes]:
        _, client = request_client(request.scope, trusted)
        if declines(client):
            return Response(
                content=_ACCEPTED,
                status_code=202,
                media_type=MediaType.JSON,
                headers=reflect(client.origin),
            )
        wire = decode_body(_umami, await request.body())
        if wire.type == "identify":
            # privalytics never ties a visitor to an identity: answered, nothing stored.
            return Response(
                content=_NONE,
                status_code=202,
                media_type=MediaType.JSON,
                headers=reflect(client.origin),
            )
        if wire.type != "event":
            raise InvalidInput("only 'event' (and 'identify', ignored) is supported", field="type")
        event = from_umami(wire.payload)
        if not is_id(wire.payload.website):
            # Not a query: no project has such an id (and PostgreSQL refuses a NUL in one).
            raise NotFound("no project with this id lists its site's origins")
        await ingestion.record_for_site(wire.payload.website, [event], client)
        return Response(
            content=_ACCEPTED,
            status_code=202,
            media_type=MediaType.JSON,
            headers=reflect(client.origin),
        )

    return (
        *preflight_handlers(services, ["/api/event", "/api/send"]),
        plausible_event,
        umami_send,
    )
