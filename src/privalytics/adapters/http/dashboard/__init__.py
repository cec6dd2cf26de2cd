"""The dashboard: owners sign in, read their numbers, manage projects, watch events arrive.

Served by the Litestar app itself under ``/dashboard``, with its own templates, styles and
script: no CDN and no third-party request from any page. :func:`build_dashboard` returns
the route handlers and what the application needs for them (session store, channels
plugin, templates); :func:`privalytics.adapters.http.create_app` mounts them when given
:class:`DashboardOptions`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig
from litestar.types import ExceptionHandlersMap

from privalytics.adapters.http.clientip import TrustedProxies
from privalytics.adapters.http.dashboard.auth import ASSET_VERSION
from privalytics.adapters.http.dashboard.live import Watchers, live_handler, publisher
from privalytics.adapters.http.dashboard.routes import (
    PageContext,
    private_router,
    public_handlers,
    signed_in,
)
from privalytics.adapters.http.dashboard.security import (
    SESSION_COOKIE,
    SESSION_STORE,
    CookiePolicy,
    SessionConfig,
    add_security_headers,
    security_headers_middleware,
    static_headers,
)
from privalytics.adapters.http.ids import known_ids
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.services import Services

HERE = Path(__file__).parent
SESSION_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True, kw_only=True)
class DashboardOptions:
    """How the dashboard runs; the composition root picks the backends.

    ``session_store``: where sessions live (default: this process's memory).
    ``channels``: how the live feed fans out (default: this process only).
    ``secure_cookies``: True/False always; None adds Secure to cookies over HTTPS.
    ``secret``: signs CSRF tokens; every instance behind one address needs the same one
    (default: random, right for one process).
    ``salt_rotation``: for the unique-visitors explanation.
    ``public_url``: where browsers reach this server, for the tracker snippet (default:
    the request's Host, with https when the request was HTTPS or a trusted proxy says so).
    """

    session_store: Store | None = None
    channels: ChannelsBackend | None = None
    secure_cookies: bool | None = None
    secret: str | None = None
    salt_rotation: timedelta = timedelta(days=1)
    public_url: str | None = None


@dataclass(kw_only=True)
class Dashboard:
    """What the application mounts: handlers and app-level parts."""

    handlers: list[Any]
    plugins: list[Any]
    stores: dict[str, Store]
    template_config: TemplateConfig[JinjaTemplateEngine]
    on_startup: list[Any] = field(default_factory=list)


def _html_error(
    status: int, title: str, text: str
) -> Callable[[Request[Any, Any, Any], Exception], Response[Any]]:
    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        detail = str(exc) if isinstance(exc, NotFound | InvalidInput) else text
        # No route matched (404, 405, a missing static file): no session was loaded.
        user = signed_in(request) if "session" in request.scope else None
        template = Template(
            template_name="error.html.j2",
            context={
                "user": user,
                "messages": [],
                "asset_version": ASSET_VERSION,
                "title": title,
                "detail": detail,
                "status": status,
            },
            status_code=status,
        )
        result: Response[Any] = add_security_headers(template)
        return result

    return handler


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 403:
        title, text = (
            "Refused",
            "This form has expired or did not come from this dashboard (its CSRF token is "
            "missing or wrong). Go back, reload the page and try again.",
        )
    else:
        title, text = "Not possible", exc.detail
    response = _html_error(exc.status_code, title, text)(request, exc)
    for name, value in (exc.headers or {}).items():
        response.headers.setdefault(name, value)  # Allow on a 405, Retry-After, ...
    return response


def is_dashboard_path(path: str) -> bool:
    return path == "/dashboard" or path.startswith("/dashboard/")


def dashboard_errors(api: ExceptionHandlersMap) -> ExceptionHandlersMap:
    """The application's handlers, with the HTTP errors of ``/dashboard*`` paths that no
    dashboard route handled (no such page, wrong method, missing static file) answered as
    the dashboard's error page with its security headers, not as the API's JSON."""
    fallback = api.get(HTTPException)

    def handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        if is_dashboard_path(request.url.path) or fallback is None:
            if exc.status_code == 404:
                return _html_error(404, "Not found", "There is nothing here.")(request, exc)
            return _http_error(request, exc)
        result: Response[Any] = fallback(request, exc)
        return result

    return {**api, HTTPException: handler}


def _known_ids(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """A malformed project or token id in a path is a 404 before any store look-up; a
    signed-out visitor is sent to the login page first (and reaches no store)."""
    if signed_in(connection):
        known_ids(connection, handler)


def build_dashboard(
    services: Services, options: DashboardOptions, trusted: TrustedProxies
) -> Dashboard:
    if services.accounts is None:
        raise ValueError("the dashboard needs services with accounts (a user store)")
    channels = ChannelsPlugin(
        backend=options.channels or MemoryChannelsBackend(history=0),
        arbitrary_channels_allowed=True,
    )
    watchers = Watchers(local_only=options.channels is None)
    csrf = CSRFConfig(
        secret=options.secret or secrets.token_urlsafe(32),
        cookie_name="privalytics_csrf",
        cookie_path="/dashboard",
        cookie_samesite="lax",
        cookie_httponly=True,
        header_name="x-csrf-token",
        # CSRF guards cookie-authenticated forms only; the JSON API uses Bearer keys.
    )
    session = SessionConfig(
        key=SESSION_COOKIE,
        path="/dashboard",
        httponly=True,
        samesite="lax",
        max_age=SESSION_MAX_AGE,
        store=SESSION_STORE,
    )
    cookie_policy = CookiePolicy(options.secure_cookies, trusted)
    middleware: list[Any] = [
        security_headers_middleware,
        cookie_policy.middleware,
        session.middleware,
        DefineMiddleware(CSRFMiddleware, config=csrf),
    ]
    page = PageContext(
        rotation=options.salt_rotation,
        public_url=options.public_url,
        is_https=CookiePolicy(None, trusted).is_https,
    )

    @get("/", include_in_schema=False)
    async def root() -> Redirect:
        return Redirect("/dashboard")

    static = create_static_files_router(
        path="/dashboard/static",
        directories=[HERE / "static"],
        name="dashboard:static",
        include_in_schema=False,
        after_request=static_headers,
    )
    router = Router(
        path="/",
        route_handlers=[
            *public_handlers(services.accounts, trusted),
            private_router(services, page, [live_handler(services, watchers)]),
        ],
        middleware=middleware,
        after_request=add_security_headers,
        guards=[_known_ids],
        exception_handlers={
            NotFound: _html_error(404, "Not found", "There is nothing here."),
            InvalidInput: _html_error(400, "Not understood", "The request was not valid."),
            HTTPException: _http_error,
        },
        include_in_schema=False,
    )
    detach: list[Any] = []

    async def attach_feed() -> None:
        detach.append(services.feed.attach(publisher(channels, watchers)))

    return Dashboard(
        handlers=[router, static, root],
        plugins=[channels],
        stores={SESSION_STORE: options.session_store or MemoryStore()},
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        on_startup=[attach_feed],
    )
