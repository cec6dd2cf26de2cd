"""The dashboard's error pages: every error under ``/dashboard`` is an HTML page.

The same statuses and headers as the API's JSON errors (:mod:`..errors`): 503 with
``Retry-After`` when a backend is unreachable, 429 with ``Retry-After`` when throttled,
400, 403, 404, 405 (with ``Allow``), 413 and 500, each as the dashboard's page with its
security headers. A path outside ``/dashboard`` keeps the API's answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.types import ExceptionHandlersMap

from privalytics.adapters.http.dashboard.auth import ASSET_VERSION, signed_in
from privalytics.adapters.http.dashboard.security import add_security_headers
from privalytics.adapters.http.errors import STORAGE_RETRY_AFTER, handler_for, log_unexpected
from privalytics.adapters.http.malformed import MalformedBody
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
    RateLimited,
    StorageUnavailable,
)

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]

_TITLES = {
    400: "Not understood",
    403: "Refused",
    404: "Not found",
    405: "Not possible",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Unavailable",
}
_TEXTS = {
    403: "This form has expired or did not come from this dashboard (its CSRF token is "
    "missing or wrong). Go back, reload the page and try again.",
    404: "There is nothing here.",
    405: "This page does not answer that kind of request.",
    413: "What was sent is larger than this dashboard accepts.",
    500: "An unexpected error occurred; it has been logged. Try again, or go back.",
}


def is_dashboard_path(path: str) -> bool:
    return path == "/dashboard" or path.startswith("/dashboard/")


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    # No route matched (404, 405, a missing static file): no session was loaded.
    user = signed_in(request) if "session" in request.scope else None
    template = Template(
        template_name="error.html.j2",
        context={
            "user": user,
            "messages": [],
            "asset_version": ASSET_VERSION,
            "title": _TITLES.get(status, "Not possible"),
            "detail": detail,
            "status": status,
        },
        status_code=status,
    )
    response: Response[Any] = add_security_headers(template)
    for name, value in (headers or {}).items():
        response.headers.setdefault(name, value)
    return response


def _invalid(request: Request[Any, Any, Any], exc: InvalidInput | MalformedBody) -> Response[Any]:
    return error_page(request, 400, str(exc))


def _not_found(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    return error_page(request, 404, str(exc))


def _rate_limited(request: Request[Any, Any, Any], exc: RateLimited) -> Response[Any]:
    headers = {}
    if math.isfinite(exc.retry_after):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return error_page(request, 429, str(exc), headers)


def _unavailable(request: Request[Any, Any, Any], exc: StorageUnavailable) -> Response[Any]:
    text = f"{exc}. Try again in a few seconds."
    return error_page(request, 503, text, {"Retry-After": str(STORAGE_RETRY_AFTER)})


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log_unexpected(request, exc)
        detail = _TEXTS[500]
    else:
        # Litestar's own words for the rest (a 400 of a query parameter says which).
        detail = _TEXTS.get(status) or exc.detail
    return error_page(request, status, detail, dict(exc.headers or {}))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log_unexpected(request, exc)
    return error_page(request, 500, _TEXTS[500])


HTML_ERRORS: ExceptionHandlersMap = {
    InvalidInput: _invalid,
    MalformedBody: _invalid,
    NotFound: _not_found,
    RateLimited: _rate_limited,
    StorageUnavailable: _unavailable,
    HTTPException: _http,
    Exception: _unexpected,
}


def dashboard_errors(api: ExceptionHandlersMap) -> ExceptionHandlersMap:
    """The application's handlers, with every error of a ``/dashboard*`` path (those no
    dashboard route handled, too: no such page, a wrong method, a missing static file)
    answered as the dashboard's error page, not as the API's JSON."""

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        chosen = HTML_ERRORS if is_dashboard_path(request.url.path) else api
        result: Response[Any] = handler_for(chosen, exc)(request, exc)
        return result

    return dict.fromkeys({*api, *HTML_ERRORS}, handler)
