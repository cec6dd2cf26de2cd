"""The dashboard: owners sign in, read their numbers, manage projects, watch events arrive.

Served by the Litestar app itself under ``/dashboard``, with its own templates, styles and
script: no CDN and no third-party request from any page. :func:`build_dashboard` returns
the route handlers and what the application needs for them (session store, channels
plugin, templates); :func:`privalytics.adapters.http.create_app` mounts them when given
:class:`DashboardOptions`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Router, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from privalytics.adapters.http.clientip import TrustedProxies
from privalytics.adapters.http.dashboard.live import Watchers, live_handler, publisher
from privalytics.adapters.http.dashboard.pages import HTML_ERRORS, dashboard_errors
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
    guarded,
    security_headers_middleware,
    static_headers,
)
from privalytics.adapters.http.ids import known_ids
from privalytics.domain.services import Services

__all__ = ["Dashboard", "DashboardOptions", "build_dashboard", "dashboard_errors"]

HERE = Path(__file__).parent
SESSION_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True, kw_only=True)
class DashboardOptions:
    """How the dashboard runs; the composition root picks the backends
    (:func:`privalytics.bootstrap.dashboard_options`), and the dashboard uses the ones it
    is given.

    ``session_store``: where sessions live (an embedder's default: this process's memory).
    ``channels``: how the live feed fans out (an embedder's default: this process only,
    without history).
    ``secure_cookies``: True/False always; None adds Secure to cookies over HTTPS.
    ``secret``: signs CSRF tokens; every instance behind one address needs the same one
    (default: random, right for one process).
    ``salt_rotation``: for the unique-visitors explanation.
    ``public_url``: where browsers reach this server, for the tracker snippet (default:
    the request's Host, with https when the request was HTTPS or a trusted proxy says so).
    """

    session_store: Store = field(default_factory=MemoryStore)
    channels: ChannelsBackend = field(default_factory=lambda: MemoryChannelsBackend(history=0))
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
    channels = ChannelsPlugin(backend=options.channels, arbitrary_channels_allowed=True)
    # Only this process's pages can receive what a memory backend carries.
    watchers = Watchers(local_only=isinstance(options.channels, MemoryChannelsBackend))
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
        exception_handlers=HTML_ERRORS,
        include_in_schema=False,
    )
    detach: list[Any] = []

    async def attach_feed() -> None:
        detach.append(services.feed.attach(publisher(channels, watchers)))

    return Dashboard(
        handlers=[router, static, root],
        plugins=[channels],
        stores={SESSION_STORE: guarded(options.session_store)},
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        on_startup=[attach_feed],
    )
