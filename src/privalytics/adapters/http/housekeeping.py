"""Housekeeping that must not wait for traffic: at start, then every few minutes.

A quiet site receives no event that would delete yesterday's salt, and events that other
processes stored for a project after it was deleted wait for no request either, so the
app runs ``Services.housekeeping()`` itself, for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from litestar import Litestar

from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.services import Services

DEFAULT_INTERVAL = 300.0

_log = logging.getLogger("privalytics.http")


async def _tidy(services: Services) -> None:
    try:
        await services.housekeeping()
    except StorageUnavailable:
        # The next round retries; the health check reports the storage meanwhile.
        _log.warning("housekeeping skipped: storage unavailable")
    except Exception as exc:  # a bug must not stop later rounds; say what, never data
        _log.error("housekeeping failed: %s", type(exc).__name__)


async def _every(services: Services, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await _tidy(services)


def housekeeping(
    services: Services, interval: float = DEFAULT_INTERVAL
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan: one round at start, then one per ``interval`` seconds in a
    background task that is cancelled, and awaited, on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await _tidy(services)
        task = asyncio.create_task(_every(services, interval), name="privalytics-housekeeping")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
