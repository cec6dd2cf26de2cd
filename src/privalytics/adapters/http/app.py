"""The Litestar application: ``create_app(services, options)``.

It receives everything it needs and reads no environment or file; the composition root
builds the services and the options.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, MediaType, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme

from privalytics.adapters.http.admin import admin_router
from privalytics.adapters.http.clientip import TrustedProxies
from privalytics.adapters.http.compat import compat_handlers
from privalytics.adapters.http.dashboard import (
    DashboardOptions,
    build_dashboard,
    dashboard_errors,
)
from privalytics.adapters.http.errors import exception_handlers
from privalytics.adapters.http.housekeeping import DEFAULT_INTERVAL, housekeeping
from privalytics.adapters.http.ingest import SINGLE_BODY_LIMIT, ingest_handlers, ingest_paths
from privalytics.adapters.http.metricsroute import metrics_handler
from privalytics.adapters.http.openapi import add_paths
from privalytics.adapters.http.reference import render_plugins
from privalytics.adapters.http.schemas import HealthOut
from privalytics.adapters.http.shortcut import App
from privalytics.adapters.http.tracker import tracker_handlers
from privalytics.adapters.metrics import Metrics
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.services import Services


class HttpOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How the HTTP adapter runs.

    ``trusted_proxies``: addresses or CIDR networks of the reverse proxies whose
    ``X-Forwarded-For`` is believed; empty means the socket peer is always the client.
    ``debug``: Litestar's debug mode.
    """

    trusted_proxies: tuple[str, ...] = ()
    debug: bool = False
    # The dashboard under /dashboard; None serves the API only.
    dashboard: DashboardOptions | None = None
    # Seconds between housekeeping rounds (expired salts, events of deleted projects),
    # which also run at start.
    housekeeping_interval: float = DEFAULT_INTERVAL
    # The server's Prometheus metrics at /metrics (None: no such route), and the bearer
    # token that route asks for (empty: none).
    metrics: Metrics | None = None
    metrics_token: str = ""


def _health_handler(services: Services) -> HTTPRouteHandler:
    @get(
        "/healthz",
        tags=["health"],
        summary="Whether the storage answers",
        responses={
            503: ResponseSpec(
                HealthOut,
                description="The storage does not answer: unavailable.",
                generate_examples=False,
            )
        },
    )
    async def healthz() -> Response[HealthOut]:
        try:
            await services.health()
        except StorageUnavailable:
            return Response(
                HealthOut(status="unavailable"),
                status_code=503,
                media_type=MediaType.JSON,
                headers={"Retry-After": "5"},
            )
        return Response(HealthOut(status="ok"), status_code=200, media_type=MediaType.JSON)

    return healthz


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="privalytics",
        version="1",
        # Served by this server alone: no viewer that loads from a CDN.
        render_plugins=render_plugins(),
        description="Privacy-first web analytics: ingestion and admin API.",
        components=Components(
            security_schemes={
                "projectToken": SecurityScheme(
                    type="http", scheme="bearer", description="A project token, pvt_..."
                ),
                "adminKey": SecurityScheme(
                    type="http", scheme="bearer", description="An admin key, pak_..."
                ),
            }
        ),
    )


def create_app(services: Services, options: HttpOptions | None = None) -> Litestar:
    """The HTTP API over ``services``; awaits ``services.aclose()`` on shutdown."""
    options = options or HttpOptions()
    trusted = TrustedProxies(options.trusted_proxies)
    ingestion = tuple(ingest_handlers(services, trusted))
    compat = tuple(compat_handlers(services, trusted))
    handlers: list[Any] = [
        *ingestion,
        *compat,
        *tracker_handlers(),
        admin_router(services),
        _health_handler(services),
    ]
    watched: set[str] = set()
    if options.metrics is not None:
        handlers.append(metrics_handler(options.metrics, options.metrics_token))
        for handler in (*ingestion, *compat):
            watched.update(handler.paths)
    extra: dict[str, Any] = {}
    on_startup: list[Any] = [add_paths(ingest_paths())]
    errors = exception_handlers()
    if options.dashboard is not None:
        dashboard = build_dashboard(services, options.dashboard, trusted)
        handlers.extend(dashboard.handlers)
        errors = dashboard_errors(errors)
        extra = {
            "plugins": dashboard.plugins,
            "stores": dashboard.stores,
            "template_config": dashboard.template_config,
        }
        on_startup.extend(dashboard.on_startup)
    return App(
        shortcuts=ingestion,
        watch=options.metrics.watch if options.metrics is not None else None,
        watched=watched,
        route_handlers=handlers,
        exception_handlers=errors,
        on_startup=on_startup,
        on_shutdown=[services.aclose],
        lifespan=[housekeeping(services, options.housekeeping_interval)],
        **extra,
        debug=options.debug,
        # Logging is the host's to configure; the app only writes to "privalytics.http".
        logging_config=None,
        openapi_config=_openapi(),
        request_max_body_size=SINGLE_BODY_LIMIT,
    )
