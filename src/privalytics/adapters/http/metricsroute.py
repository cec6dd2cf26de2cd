"""``GET /metrics``: the server's Prometheus metrics, optionally behind a bearer token."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from privalytics.adapters.http.errors import error_response
from privalytics.adapters.http.openapi import error_specs
from privalytics.adapters.metrics import Metrics


def _bearer(request: Request[Any, Any, Any]) -> bytes:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip().encode() if scheme.lower() == "bearer" else b""


def metrics_handler(metrics: Metrics, token: str) -> HTTPRouteHandler:
    """The route; with ``token``, a request must send it as ``Authorization: Bearer``."""
    expected = token.encode()

    @get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics (PRIVALYTICS_METRICS=on)",
        description=(
            "Prometheus' text format: ingestion requests answered and refused by reason, "
            "events stored, group-commit sizes and waits, queue depth, rate-limiter and "
            "storage latency. No series names a project, visitor, address or agent. With "
            "PRIVALYTICS_METRICS_TOKEN set, 401 without `Authorization: Bearer TOKEN`."
        ),
        media_type="text/plain",
        responses=error_specs(401),
    )
    async def read_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if expected and not hmac.compare_digest(_bearer(request), expected):
            return error_response(
                401,
                "unauthenticated",
                "the metrics need the bearer token of PRIVALYTICS_METRICS_TOKEN",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return read_metrics
