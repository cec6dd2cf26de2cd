"""The library API: the core without HTTP, for Python applications that embed it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from privalytics import bootstrap
from privalytics.config import DEFAULT_DATABASE_URL, load_settings
from privalytics.domain.models import (
    ClientInfo,
    CreatedProject,
    IncomingEvent,
    RateLimit,
    Stats,
)
from privalytics.domain.ratelimit import parse_rate_limit
from privalytics.domain.reporting import Breakdown
from privalytics.domain.retention import Expired
from privalytics.domain.services import DEFAULT_TOP, Services


class Privalytics:
    """Record events and read stats with the same guarantees as the server.

    >>> async with await Privalytics.open("sqlite+aiosqlite:///./analytics.db") as pa:
    ...     created = await pa.create_project("My blog")
    ...     await pa.record(created.token.token, [IncomingEvent(action=Action.VISIT,
    ...                     path="/")], ip=client_ip, user_agent=agent)
    ...     stats = await pa.stats(created.project.id, period="7d")
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    @classmethod
    async def open(cls, database_url: str = DEFAULT_DATABASE_URL, **settings: Any) -> Privalytics:
        """Open (and migrate) the database at ``database_url``. ``settings`` are the fields
        of :class:`privalytics.config.Settings` (e.g. ``rate_limit_url``, ``salt_rotation``);
        the process environment is not read."""
        loaded = load_settings({}, database_url=database_url, **settings)
        await bootstrap.migrate(loaded)
        return cls(bootstrap.build(loaded))

    async def create_project(
        self,
        name: str,
        *,
        rate_limit: str | RateLimit | None = None,
        allowed_origins: Sequence[str] = (),
    ) -> CreatedProject:
        rate = parse_rate_limit(rate_limit) if isinstance(rate_limit, str) else rate_limit
        return await self.services.admin.create_project(
            name, rate_limit=rate, allowed_origins=allowed_origins
        )

    async def record(
        self,
        token: str,
        events: Sequence[IncomingEvent],
        *,
        ip: str,
        user_agent: str = "",
        origin: str | None = None,
    ) -> int:
        """Store ``events`` (all or none) for the visitor at ``ip`` with ``user_agent``;
        returns how many. Bots' events (by their agent, an empty one included) are not
        stored but counted in the bot log, unless opened with ``bot_filter="off"``."""
        client = ClientInfo(ip=ip, user_agent=user_agent, origin=origin)
        return await self.services.ingestion.record(token, events, client)

    async def stats(
        self,
        project_id: str,
        *,
        period: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        top: int = DEFAULT_TOP,
        filters: Sequence[str] = (),
    ) -> Stats:
        """The project's numbers; ``filters``: texts such as ``"country==DE"``, which all
        apply (see the API's filters)."""
        span = self.services.reporting.span(period=period, start=start, end=end)
        return await self.services.reporting.stats(project_id, span, top=top, filters=filters)

    async def breakdown(
        self,
        project_id: str,
        dimension: str,
        *,
        period: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = DEFAULT_TOP,
        filters: Sequence[str] = (),
    ) -> Breakdown:
        """The project's range by one dimension (``"source"``, ``"page"``, ``"country"``,
        ``"browser"``...: the API's), the first ``limit`` values by visitors. A row's
        ``value`` is None for traffic without one; ``row.figures.visitors`` and
        ``row.figures.reported`` (page views, sessions, bounce rate, visit duration) are
        its numbers. Regions and cities of fewer than ``min_cell_visitors`` visitors are
        one row, ``"(other)"``."""
        span = self.services.reporting.span(period=period, start=start, end=end)
        return await self.services.reporting.breakdown(
            project_id, span, dimension, filters, limit=limit
        )

    async def refresh_rollups(self) -> int:
        """Compute the stored per-day figures of the days that are over (a server does it
        every minute). Stats are exact without it, and fast for long ranges only after
        it: call it now and then (e.g. hourly) in an application that reads them."""
        return await self.services.refresh_rollups()

    async def expire_events(self, *, dry_run: bool = False) -> Expired | None:
        """Delete the raw events older than ``event_retention_days`` (an ``open()``
        setting; None is returned when it is unset) after computing the per-day figures,
        which keep the expired days' unfiltered numbers (docs/data-lifecycle.md,
        Retention); a server does it once a day. ``dry_run``: count them, delete none."""
        return await self.services.expire_now(dry_run=dry_run)

    async def aclose(self) -> None:
        await self.services.aclose()

    async def __aenter__(self) -> Privalytics:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
