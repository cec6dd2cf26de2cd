"""CORS for the routes browsers send events to.

A tracker's ``text/plain`` beacon is a "simple" request: the browser sends it without asking
first, so CORS is not what keeps other sites out. The domain does that: an event whose
``Origin`` a project does not allow is refused (403) whatever CORS says. CORS only decides
whether a page may *read* an answer, and whether a browser may send what needs a preflight
(``application/json``, an ``Authorization`` header).

- A preflight (``OPTIONS``) cannot carry the token, so it cannot know the project: it
  reflects the ``Origin`` when some project could accept it (one that lists it, or one that
  accepts any origin) and answers 204 without CORS headers otherwise.
- An accepted event's answer reflects its ``Origin``: the project allowed it. So does an
  error's (:mod:`.errors`), so that the page's console shows the real status and message
  (a 400 naming the rule broken, a 429) rather than a CORS failure; an error message never
  holds anything the page may not read. But a 403 for an origin the project does not
  allow carries none: no answer to that origin is ever readable.
- Never ``*`` with credentials, never cookies: the answers set none.
- Only an ``Origin`` exactly as a browser serializes one (``scheme://host[:port]``,
  lowercase, no default port, no path, no control character, bounded) is ever reflected;
  any other bytes get no ``Access-Control-Allow-Origin``, even from a project that accepts
  any origin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from litestar import Request, Response, route
from litestar.handlers import HTTPRouteHandler

from privalytics.domain.services import Services
from privalytics.domain.validation import normalize_origin

PREFLIGHT_MAX_AGE = 7200  # Chromium's own ceiling
ALLOWED_HEADERS = "authorization, content-type, x-umami-cache"

MayPreflight = Callable[[str], Awaitable[bool]]

# scheme "https://", a DNS name of at most 253 characters (or a bracketed IPv6 address,
# shorter) and ":65535", with room to spare.
MAX_ORIGIN = 300


def well_formed(origin: str | None) -> str | None:
    """``origin`` when it is an origin as browsers send it, byte for byte; else None."""
    if origin is None or len(origin) > MAX_ORIGIN or normalize_origin(origin) != origin:
        return None
    return origin


def request_origin(scope: Any) -> str | None:
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"origin":
            return value.decode("latin-1")
    return None


def reflect(origin: str | None) -> dict[str, str]:
    """The headers that let the page at ``origin`` read an accepted answer."""
    if origin is None:
        return {}
    origin = well_formed(origin)
    if origin is None:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def preflight_headers(origin: str | None, may_preflight: MayPreflight) -> dict[str, str]:
    """The headers of the 204 that answers a preflight from ``origin``."""
    headers = {"Allow": "OPTIONS, POST", "Vary": "Origin"}
    origin = well_formed(origin)
    if origin is not None and await may_preflight(origin):
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
            }
        )
    return headers


def preflight_handlers(services: Services, paths: Sequence[str]) -> Iterable[HTTPRouteHandler]:
    may_preflight = services.ingestion.may_preflight

    @route(list(paths), http_method=["OPTIONS"], include_in_schema=False)
    async def preflight(request: Request[Any, Any, Any]) -> Response[bytes]:
        headers = await preflight_headers(request_origin(request.scope), may_preflight)
        return Response(content=b"", status_code=204, headers=headers)

    return (preflight,)
