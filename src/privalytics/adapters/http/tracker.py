"""``GET /tracker.js`` and ``GET /tracker-tags.js``: the tracker script and its opt-in
tagged-events add-on, first-party from the privalytics host, each served the same way.

Two URLs per script, the same bytes:

- ``/tracker.js``: cached for a day, then revalidated with its ``ETag`` (the content hash),
  so an upgraded server reaches every site within a day at the cost of a 304.
- ``/tracker.js?v=<hash>``: the current hash in the URL, cached for a year as
  ``immutable``. A stale ``v`` gets the current script with the short caching, never a
  404, so a site pinned to an old hash keeps working.

Answers are gzipped when the browser accepts it (precompressed once), allow any origin
to read them (``crossorigin`` + ``integrity`` attributes work) and may be embedded
cross-origin (``Cross-Origin-Resource-Policy``).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from litestar import Request, Response, route
from litestar.handlers import HTTPRouteHandler

# The scripts in static/, each served at /<its name>: the tracker (tracker/tracker.js) and
# the tagged-events add-on (tracker/tracker-tags.js), both built by terser.
SCRIPTS = ("tracker.js", "tracker-tags.js")

SHORT_CACHE = "public, max-age=86400, stale-while-revalidate=604800"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class TrackerScript:
    body: bytes
    gzipped: bytes
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@cache
def static_script(name: str) -> TrackerScript:
    """The built script ``name`` shipped in the package, its gzip and its content hash."""
    body = (files("privalytics.adapters.http") / "static" / name).read_bytes()
    return TrackerScript(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        version=hashlib.sha256(body).hexdigest()[:16],
    )


def tracker_script() -> TrackerScript:
    """The tracker itself."""
    return static_script("tracker.js")


def _accepts_gzip(scope: Any) -> bool:
    """Whether ``Accept-Encoding`` allows gzip: named (or ``*``, when gzip is not named)
    with a quality above 0 (``gzip;q=0`` refuses it)."""
    name: bytes
    value: bytes
    named: float | None = None
    star: float | None = None
    for name, value in scope["headers"]:
        if name != b"accept-encoding":
            continue
        for item in value.decode("latin-1").lower().split(","):
            coding, _, params = item.partition(";")
            quality = 1.0
            param, _, number = params.partition("=")
            if param.strip() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
            coding = coding.strip()
            if coding in ("gzip", "x-gzip"):
                named = quality if named is None else max(named, quality)
            elif coding == "*":
                star = quality
    chosen = named if named is not None else star
    return chosen is not None and chosen > 0


def _etag_matches(request: Request[Any, Any, Any], etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if wanted is None:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return etag in candidates or "*" in candidates


def _script_handler(name: str) -> HTTPRouteHandler:
    """``GET``/``HEAD /<name>`` for the built script ``name``."""
    script = static_script(name)

    @route(
        f"/{name}",
        http_method=["GET", "HEAD"],
        tags=["tracker"],
        summary=f"The script {name}",
        include_in_schema=False,
    )
    async def serve_script(request: Request[Any, Any, Any]) -> Response[bytes]:
        pinned = request.query_params.get("v") == script.version
        headers = {
            "Cache-Control": IMMUTABLE_CACHE if pinned else SHORT_CACHE,
            "ETag": script.etag,
            "Vary": "Accept-Encoding",
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        }
        if _etag_matches(request, script.etag):
            return Response(content=b"", status_code=304, headers=headers)
        body = script.body
        if _accepts_gzip(request.scope):
            body = script.gzipped
            headers["Content-Encoding"] = "gzip"
        if request.method == "HEAD":
            # The headers of the GET, without its body.
            headers["Content-Length"] = str(len(body))
            body = b""
        # Litestar adds "; charset=utf-8" to a text/* media type itself.
        return Response(
            content=body, status_code=200, media_type="text/javascript", headers=headers
        )

    return serve_script


def tracker_handlers() -> Iterable[HTTPRouteHandler]:
    """One route per script in :data:`SCRIPTS`."""
    return tuple(_script_handler(name) for name in SCRIPTS)
