"""Housekeeping that must not wait for traffic: at start, then every few minutes.

A quiet site receives no event that would delete yesterday's salt, events that other
processes stored for a project after it was deleted wait for no request either, and the
per-day figures of a day that is over must be computed by someone (and, with a
retention, expired events deleted), so the app runs ``Services.housekeeping()``,
``Services.refresh_rollups()`` and ``Services.expire_events()`` itself, for as long as it
runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from litestar import Litestar

from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.services import Services

DEFAULT_INTERVAL = 300.0
ROLLUP_INTERVAL = 60.0
# How often the bot log's counts are written: at most this many seconds of them are lost
# when the process is killed without shutting down (docs/data-lifecycle.md).
BOT_LOG_INTERVAL = 10.0

_log = logging.getLogger("privalytics.http")


async def _guarded(what: str, job: Callable[[], Awaitable[object]]) -> None:
    try:
        await job()
    except StorageUnavailable:
        # The next round retries; the health check reports the storage meanwhile.
        _log.warning("%s skipped: storage unavailable", what)
    except Exception as exc:  # a bug must not stop later rounds; say what, never data
        _log.error("%s failed: %s", what, type(exc).__name__)


async def _every(services: Services, interval: float) -> None:
    # The per-day figures are brought up to date at once and then every ROLLUP_INTERVAL (a
    # day just over, or one an old event just changed, is read from the events until
    # then); the rest of the housekeeping every ``interval``. In the background from the
    # start: after an upgrade, computing every stored day takes minutes, and requests must
    # not wait for it.
    step = min(interval, ROLLUP_INTERVAL)
    waited = 0.0
    while True:
        await _guarded("rollup refresh", services.refresh_rollups)
        # Once a UTC day (a no-op otherwise): after the refresh, since a day's events go
        # only once its rollups are computed.
        await _guarded("event expiry", services.expire_events)
        await asyncio.sleep(step)
        waited += step
        if waited >= interval:
            waited = 0.0
            await _guarded("housekeeping", services.housekeeping)


async def _flush_bot_log(services: Services, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await _guarded("bot log flush", services.flush_bot_log)


def housekeeping(
    services: Services,
    interval: float = DEFAULT_INTERVAL,
    bot_log_interval: float = BOT_LOG_INTERVAL,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan: one round of housekeeping at start, then, in background tasks
    that are cancelled and awaited on shutdown, the rollup refresh at once and every minute
    (followed, once a UTC day, by the expiry of old events), the housekeeping every
    ``interval`` seconds and the bot log's flush every ``bot_log_interval`` seconds (and
    once more on shutdown, by ``services.aclose()``)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await _guarded("housekeeping", services.housekeeping)
        tasks = (
            asyncio.create_task(_every(services, interval), name="privalytics-housekeeping"),
            asyncio.create_task(
                _flush_bot_log(services, bot_log_interval), name="privalytics-bot-log"
            ),
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan
