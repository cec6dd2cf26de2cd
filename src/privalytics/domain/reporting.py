"""Reading the numbers: the reporting use case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
)
from privalytics.domain.models import (
    Action,
    Bucket,
    Event,
    Stats,
    TimeRange,
    Totals,
)
from privalytics.domain.ports import (
    Clock,
    EventStore,
    TokenStore,
)
from privalytics.domain.reports import HOUR, breakdowns, previous_range

DEFAULT_TOP = 10
MAX_TOP = 100


PERIODS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "12m": timedelta(days=365),
}
# A range from..to lies within these bounds, so that its previous range and its daily
# series stay representable (a datetime overflows past the years 1 and 9999) and the
# series has at most about ten years of daily steps. The one limit of the API and the
# dashboard alike: over rollups (blocks of up to 1024 days) ten years cost a few dozen rows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
MAX_SPAN = timedelta(days=3660)


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Reporting:
    """Read the numbers."""

    def __init__(
        self,
        *,
        events: EventStore,
        tokens: TokenStore,
        clock: Clock,
    ) -> None:
        self._events = events
        self._tokens = tokens
        self._clock = clock

    def span(
        self,
        *,
        period: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> TimeRange:
        """The range a query means: a named period ending now, or ``start``..``end``."""
        now = self._clock.now()
        if start is not None or end is not None:
            if period is not None:
                raise InvalidInput("give either period or from/to, not both", field="period")
            if start is None:
                raise InvalidInput("is needed when to is given", field="from")
            start = _utc(start)
            end = now if end is None else _utc(end)
            if end <= start:
                raise InvalidInput("must be after from", field="to")
            if start < EARLIEST:
                raise InvalidInput(f"must not be before {EARLIEST:%Y-%m-%d}", field="from")
            if end > LATEST:
                raise InvalidInput(f"must not be after {LATEST:%Y-%m-%d}", field="to")
            if end - start > MAX_SPAN:
                raise InvalidInput(f"a range spans at most {MAX_SPAN.days} days", field="to")
            return TimeRange(start=start, end=end)
        # An empty period (?period=) is a mistake, not a request for the default.
        name = "24h" if period is None else period
        if name not in PERIODS:
            raise InvalidInput(f"must be one of {', '.join(PERIODS)}", field="period")
        return TimeRange(start=now - PERIODS[name], end=now)

    async def refresh(self) -> int:
        """Bring the store's per-day figures up to date for the days that are over."""
        return await self._events.refresh(self._clock.now())

    async def latest(self, project_id: str, *, limit: int = 50) -> list[Event]:
        """The project's newest events of the last 24 hours, newest first."""
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")
        now = self._clock.now()
        # Events may carry timestamps up to a minute ahead of the clock.
        span = TimeRange(start=now - 24 * HOUR, end=now + timedelta(minutes=1))
        return await self._events.latest(project_id, span, limit)

    async def totals(self, project_id: str, span: TimeRange) -> tuple[Totals, Totals]:
        """The project's visits and unique visitors in ``span`` and in the period before it,
        as :meth:`stats` counts them, without the rest of it: four reads of the store's
        figures, for a list of every project. A project that does not exist has none."""
        before = previous_range(span)
        return (
            await self._headline(project_id, span),
            await self._headline(project_id, before),
        )

    async def _headline(self, project_id: str, span: TimeRange) -> Totals:
        visits = (await self._events.count_by_action(project_id, span)).get(Action.VISIT, 0)
        uniques = await self._events.unique_visitors(project_id, span)
        return Totals(range=span, visits=visits, unique_visitors=uniques)

    async def stats(self, project_id: str, span: TimeRange, *, top: int = DEFAULT_TOP) -> Stats:
        if not 1 <= top <= MAX_TOP:
            raise InvalidInput(f"must be between 1 and {MAX_TOP}", field="limit")
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")
        counts = await self._events.count_by_action(project_id, span)
        actions = {action: counts.get(action, 0) for action in Action}
        last_hour = _floor_hour(self._clock.now())
        recent_span = TimeRange(start=last_hour - 23 * HOUR, end=last_hour + HOUR)
        by_hour = {
            b.start: b
            for b in await self._events.series(project_id, recent_span, recent_span.start, HOUR)
        }
        recent = [
            by_hour.get(hour, Bucket(start=hour, visits=0, unique_visitors=0))
            for hour in (recent_span.start + n * HOUR for n in range(24))
        ]
        previous = await self._headline(project_id, previous_range(span))
        extra = await breakdowns(self._events, project_id, span, top)
        return Stats(
            range=span,
            visits=actions[Action.VISIT],
            unique_visitors=await self._events.unique_visitors(project_id, span),
            top_pages=await self._events.top_pages(project_id, span, top),
            actions=actions,
            recent=recent,
            previous=previous,
            **msgspec.structs.asdict(extra),
        )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
