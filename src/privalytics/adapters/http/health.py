"""Health routes: ``/livez`` (the process answers), ``/healthz`` (events can be stored:
the database and the rate limiter answer) and ``/readyz`` (everything configured answers:
those and the dashboard's Redis servers). Each check has a deadline: a dependency that
hangs makes the answer 503 in time, never a request that waits with it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler

from privalytics.adapters.http.schemas import HealthOut
from privalytics.domain.services import Services

Check = Callable[[], Awaitable[None]]

RETRY_AFTER = "5"


async def _answers(checks: Sequence[Check], deadline: float) -> bool:
    """Whether every check passes within ``deadline`` seconds in all."""
    try:
        async with asyncio.timeout(deadline):
            for check in checks:
                await check()
    except Exception:  # any failure, in whatever words, means not ready
        return False
    return True


def _status(ok: bool) -> Response[HealthOut]:
    if ok:
        return Response(HealthOut(status="ok"), status_code=200, media_type=MediaType.JSON)
    return Response(
        HealthOut(status="unavailable"),
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": RETRY_AFTER},
    )


def health_handlers(
    services: Services, timeout: float, ready_checks: Sequence[Check] = ()
) -> list[HTTPRouteHandler]:
    """The three routes; ``ready_checks``: what /readyz checks beyond /healthz."""

    @get("/healthz", tags=["health"], summary="Whether events can be stored")
    async def healthz() -> Response[HealthOut]:
        return _status(await _answers((services.health,), timeout))

    @get("/livez", tags=["health"], summary="Whether the process answers (no dependency)")
    async def livez() -> Response[HealthOut]:
        return _status(True)

    @get("/readyz", tags=["health"], summary="Whether every configured dependency answers")
    async def readyz() -> Response[HealthOut]:
        return _status(await _answers((services.health, *ready_checks), timeout))

    return [healthz, livez, readyz]
