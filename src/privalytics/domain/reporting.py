"""Reading the numbers: the reporting use case."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import msgspec

from privalytics.domain.activity import (
    breakdowns_of,
    buckets,
    count_actions,
    visitors_since,
)
from privalytics.domain.anonymity import anonymous_filters, merge_rows
from privalytics.domain.conversions import GoalReport, needs_revenue, report, revenue
from privalytics.domain.daily import DayFigures, daily, daily_dimensions
from privalytics.domain.dimensions import DIMENSIONS, Scope, dimension, dimension_names
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
)
from privalytics.domain.filters import Filter, parse_filters
from privalytics.domain.funnels import FunnelReport, funnel_report
from privalytics.domain.geography import DEFAULT_MIN_VISITORS
from privalytics.domain.goals import Goal, goal_dimension
from privalytics.domain.insight import Figures, Row, custom_keys
from privalytics.domain.models import (
    Action,
    Bucket,
    Event,
    PageStats,
    Stats,
    TimeRange,
    Totals,
)
from privalytics.domain.ports import (
    Clock,
    EventStore,
    FunnelStore,
    GoalStore,
    ImportStore,
    TokenStore,
)
from privalytics.domain.reports import (
    HOUR,
    breakdowns,
    fill_series,
    origin_of,
    previous_range,
    series,
    step_of,
)
from privalytics.domain.retention import Retention

DEFAULT_TOP = 10
MAX_TOP = 100
# Events per list of an export: read in pages this size, so memory stays flat.
EXPORT_CHUNK = 5000


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
# "Current visitors": distinct visitors with an event in this last stretch of time (and up
# to a minute ahead of the clock, as events may be).
CURRENT = timedelta(minutes=5)
AHEAD = timedelta(minutes=1)
# A dimension's name as the API writes it; anything else is not repeated in a message.
_NAME = re.compile(r"[a-z_]{1,40}")
_PAGE = DIMENSIONS["page"]


class Breakdown(msgspec.Struct, frozen=True, kw_only=True):
    """A breakdown as the API answers it: its rows ranked by visitors, k-anonymous."""

    dimension: str
    range: TimeRange
    # The filters it honours, as written.
    filters: tuple[str, ...]
    rows: list[Row]
    # As in Stats: where raw events begin, and whether the rows cover only that part.
    raw_from: datetime | None = None
    partial: bool = False
    # As in Stats: whether the range holds imported events.
    imported: bool = False


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
        min_cell_visitors: int = DEFAULT_MIN_VISITORS,
        retention: Retention | None = None,
        goals: GoalStore | None = None,
        funnels: FunnelStore | None = None,
        imports: ImportStore | None = None,
    ) -> None:
        if min_cell_visitors < 1:
            raise InvalidInput("must be at least 1", field="min_cell_visitors")
        self._events = events
        self._tokens = tokens
        self._clock = clock
        # Regions and cities of fewer visitors are shown and filtered as "(other)".
        self._k = min_cell_visitors
        self._retention = retention or Retention()
        # The projects' goals, which a goal dimension or filter is resolved against; None:
        # no goals are kept (every project has none).
        self._goals = goals
        # The projects' funnels; None: no funnels are kept.
        self._funnels = funnels
        # The imports registry; None: nothing is ever imported.
        self._imports = imports

    async def _imported(self, project_id: str, span: TimeRange) -> bool:
        """Whether ``span`` holds events of a file imported into the project."""
        if self._imports is None:
            return False
        return await self._imports.imported_within(project_id, span)

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

    @property
    def min_cell_visitors(self) -> int:
        """Regions and cities of fewer visitors are shown and filtered as "(other)"."""
        return self._k

    async def _headline(self, project_id: str, span: TimeRange) -> Totals:
        visits = (await self._events.count_by_action(project_id, span)).get(Action.VISIT, 0)
        uniques = await self._events.unique_visitors(project_id, span)
        return Totals(range=span, visits=visits, unique_visitors=uniques)

    async def stats(
        self,
        project_id: str,
        span: TimeRange,
        *,
        top: int = DEFAULT_TOP,
        filters: Sequence[str] = (),
    ) -> Stats:
        """Every number of the project's range under ``filters`` (texts, ANDed; see
        :mod:`privalytics.domain.filters`), with the previous range's headline figures,
        the last 24 hours and the current visitors under the same filters."""
        if not 1 <= top <= MAX_TOP:
            raise InvalidInput(f"must be between 1 and {MAX_TOP}", field="limit")
        parsed = await self._parse(project_id, filters)
        raw_from = self._retention.raw_from(self._clock.now())
        # Filters read events, and so does an hourly series.
        raw = bool(parsed) or step_of(span)[1] == HOUR
        partial = self._retention.partial(span, raw_from, raw=raw)
        if parsed:
            found = await self._filtered_stats(project_id, span, top, parsed)
            return msgspec.structs.replace(
                found,
                raw_from=raw_from,
                partial=partial,
                imported=await self._imported(project_id, span),
            )
        counts = await self._events.count_by_action(project_id, span)
        actions = {action: counts.get(action, 0) for action in Action}
        recent_span = self._recent()
        by_hour = await self._events.series(project_id, recent_span, recent_span.start, HOUR)
        before = previous_range(span)
        previous = await self._headline(project_id, before)
        previous_figures = await self._events.figures(project_id, before, ())
        extra = await breakdowns(self._events, project_id, span, top)
        now = self._clock.now()
        current = TimeRange(start=now - CURRENT, end=now + AHEAD)
        return Stats(
            range=span,
            visits=actions[Action.VISIT],
            unique_visitors=await self._events.unique_visitors(project_id, span),
            top_pages=await self._events.top_pages(project_id, span, top),
            actions=actions,
            recent=fill_series(recent_span, HOUR, by_hour),
            previous=_with_figures(previous, previous_figures),
            **msgspec.structs.asdict(extra),
            **_session_fields(await self._events.figures(project_id, span, ())),
            current_visitors=await self._events.unique_visitors(project_id, current),
            raw_from=raw_from,
            partial=partial,
            imported=await self._imported(project_id, span),
        )

    async def _filtered_stats(
        self, project_id: str, span: TimeRange, top: int, parsed: tuple[Filter, ...]
    ) -> Stats:
        # Every figure from the filtered reads: the headline figures and the pages from
        # the sessions' figures, the rest from the selected events.
        chosen = await self._anonymous(project_id, span, parsed)
        events = await self._events.selected_events(project_id, span, chosen)
        figures = await self._events.figures(project_id, span, chosen)
        pages = await self._events.breakdown(project_id, span, _PAGE, chosen, None)
        before = previous_range(span)
        previous = await self._events.figures(
            project_id, before, await self._anonymous(project_id, before, parsed)
        )
        recent_span = self._recent()
        recent = await self._events.selected_events(
            project_id, recent_span, await self._anonymous(project_id, recent_span, parsed)
        )
        now = self._clock.now()
        # A session holding an event of the last minutes began that UTC day at the
        # earliest: read from there, so that filters see whole sessions.
        since = now - CURRENT
        current_span = TimeRange(start=_midnight(since), end=now + AHEAD)
        current = await self._events.selected_events(
            project_id, current_span, await self._anonymous(project_id, current_span, parsed)
        )
        return Stats(
            range=span,
            visits=figures.totals.pageviews,
            unique_visitors=figures.visitors,
            top_pages=_top_pages(pages, top),
            actions=count_actions(events),
            recent=fill_series(recent_span, HOUR, buckets(recent, recent_span.start, HOUR)),
            previous=_with_figures(
                Totals(
                    range=before,
                    visits=previous.totals.pageviews,
                    unique_visitors=previous.visitors,
                ),
                previous,
            ),
            **msgspec.structs.asdict(breakdowns_of(events, span, top)),
            **_session_fields(figures),
            current_visitors=visitors_since(current, since),
            filters=tuple(str(f) for f in parsed),
        )

    async def previous_series(
        self, project_id: str, span: TimeRange, filters: Sequence[str] = ()
    ) -> list[Bucket]:
        """The series of the range just before ``span`` (of the same length, in steps of
        the same size), under ``filters``: what a chart draws under ``span``'s."""
        before = previous_range(span)
        parsed = await self._parse(project_id, filters)
        if not parsed:
            return (await series(self._events, project_id, before))[1]
        chosen = await self._anonymous(project_id, before, parsed)
        events = await self._events.selected_events(project_id, before, chosen)
        _, step = step_of(before)
        return fill_series(before, step, buckets(events, origin_of(before, step), step))

    async def breakdown(
        self,
        project_id: str,
        span: TimeRange,
        dimension_name: str,
        filters: Sequence[str] = (),
        *,
        limit: int = DEFAULT_TOP,
    ) -> Breakdown:
        """The project's range broken down by the dimension named ``dimension_name``
        under ``filters``: the first ``limit`` values by visitors, regions and cities of
        fewer than ``min_cell_visitors`` visitors merged into "(other)"."""
        found = dimension(dimension_name)
        if found is None:
            named = f" {dimension_name!r}" if _NAME.fullmatch(dimension_name) else ""
            raise NotFound(f"no dimension{named}; the dimensions are {dimension_names()}")
        if not 1 <= limit <= MAX_TOP:
            raise InvalidInput(f"must be between 1 and {MAX_TOP}", field="limit")
        parsed = await self._parse(project_id, filters)
        if found.scope is Scope.GOAL:
            goals = await self._goals_of(project_id)
            if not goals:
                # Nothing converts: no read of the range's events to say so.
                return Breakdown(
                    dimension=found.name,
                    range=span,
                    filters=tuple(str(f) for f in parsed),
                    rows=[],
                )
            found = goal_dimension(goals)
        chosen = await self._anonymous(project_id, span, parsed)
        if found.merge_small_cells:
            # Every row first: the small ones beyond the limit count in "(other)" too.
            every = await self._events.breakdown(project_id, span, found, chosen, None)
            sizes = await self._events.cell_sizes(project_id, span, found, chosen)
            rows = merge_rows(every, sizes, self._k)[:limit]
        else:
            rows = await self._events.breakdown(project_id, span, found, chosen, limit)
        raw_from = self._retention.raw_from(self._clock.now())
        # Filters, custom events' properties and goals read events (a goal's day rows are
        # computed from them: a goal added after its days expired has none); unfiltered
        # custom event names, like every other dimension, are rolled up before expiry.
        raw = bool(parsed) or found.scope is Scope.GOAL
        raw = raw or (found.scope is Scope.CUSTOM and found.name != "event")
        return Breakdown(
            dimension=found.name,
            range=span,
            filters=tuple(str(f) for f in parsed),
            rows=rows,
            raw_from=raw_from,
            partial=self._retention.partial(span, raw_from, raw=raw),
            imported=await self._imported(project_id, span),
        )

    async def export(
        self, project_id: str, span: TimeRange, chunk: int = EXPORT_CHUNK
    ) -> AsyncIterator[list[Event]]:
        """Every event of the project in ``span``, oldest first, in lists of ``chunk``, as
        stored (the raw events; NotFound for an unknown project, before any is read)."""
        await self._project(project_id)
        return self._events.stream(project_id, span, chunk)

    async def daily(
        self, project_id: str, span: TimeRange, dimensions: Sequence[str]
    ) -> AsyncIterator[DayFigures]:
        """The figures of every UTC day ``span`` touches (see :mod:`privalytics.domain.daily`)
        and their breakdowns by ``dimensions``, oldest first, one day read at a time (an
        InvalidInput for a dimension that cannot be read day by day and NotFound for an
        unknown project, before any day is read)."""
        chosen = daily_dimensions(dimensions)
        await self._project(project_id)
        return daily(self._events, project_id, span, chosen)

    async def count_events(self, project_id: str, span: TimeRange) -> int:
        """How many events the project stored in ``span``."""
        await self._project(project_id)
        return sum((await self._events.count_by_action(project_id, span)).values())

    async def property_keys(
        self, project_id: str, span: TimeRange, filters: Sequence[str] = (), *, limit: int = 20
    ) -> list[str]:
        """The property names of the custom events ``filters`` select (an event filter:
        that event's), most used first: what a property breakdown can be by."""
        parsed = await self._parse(project_id, filters)
        chosen = await self._anonymous(project_id, span, parsed)
        events = await self._events.selected_events(project_id, span, chosen)
        return custom_keys(events, chosen)[:limit]

    async def goal_report(
        self, project_id: str, span: TimeRange, filters: Sequence[str] = ()
    ) -> GoalReport:
        """Every goal of the project over ``span`` under ``filters``: its unique and total
        conversions, its conversion rate and its revenue (see
        :mod:`privalytics.domain.conversions`), from the store's breakdown by the goals,
        its figures and (for revenue) its selected events, as
        :func:`~privalytics.domain.conversions.goal_figures` defines them."""
        parsed = await self._parse(project_id, filters)
        goals = await self._goals_of(project_id)
        chosen = await self._anonymous(project_id, span, parsed)
        dimension = goal_dimension(goals)
        visitors = (await self._events.figures(project_id, span, chosen)).visitors
        # Without goals, no read of the range's events (which a goal's figures take).
        rows = (
            await self._events.breakdown(project_id, span, dimension, chosen, None) if goals else []
        )
        events = (
            await self._events.selected_events(project_id, span, chosen)
            if needs_revenue(goals)
            else []
        )
        return GoalReport(
            range=span,
            filters=tuple(str(f) for f in parsed),
            visitors=visitors,
            goals=report(goals, rows, visitors, revenue(events, dimension, chosen)),
        )

    async def funnel_report(
        self, project_id: str, funnel_id: str, span: TimeRange, filters: Sequence[str] = ()
    ) -> FunnelReport:
        """The funnel's visitors, conversion and drop-off at each step over ``span``
        under ``filters`` (see :mod:`privalytics.domain.funnels`), counted by the domain
        from the store's selected events: every store answers alike, at the cost of
        reading the range's events of the selected sessions (as goal revenue does)."""
        parsed = await self._parse(project_id, filters)
        funnel = None
        if self._funnels is not None:
            funnel = await self._funnels.get_funnel(project_id, funnel_id)
        if funnel is None:
            raise NotFound(f"no funnel {funnel_id!r} in project {project_id!r}")
        chosen = await self._anonymous(project_id, span, parsed)
        counts = await self._events.funnel_counts(project_id, span, funnel.steps, chosen)
        raw_from = self._retention.raw_from(self._clock.now())
        return funnel_report(
            funnel,
            span,
            tuple(str(f) for f in parsed),
            counts,
            raw_from=raw_from,
            # Every figure of a funnel comes from raw events.
            partial=self._retention.partial(span, raw_from, raw=True),
        )

    async def _goals_of(self, project_id: str) -> tuple[Goal, ...]:
        if self._goals is None:
            return ()
        return tuple(await self._goals.list_goals(project_id))

    async def _parse(self, project_id: str, filters: Sequence[str]) -> tuple[Filter, ...]:
        """The filters of a request on an existing project, a goal filter resolved against
        the project's goals (see :mod:`privalytics.domain.goals`)."""
        parsed = parse_filters(filters)
        await self._project(project_id)
        if any(f.scope is Scope.GOAL for f in parsed):
            goals = await self._goals_of(project_id)
            parsed = tuple(
                msgspec.structs.replace(f, goals=goals) if f.scope is Scope.GOAL else f
                for f in parsed
            )
        return parsed

    async def _project(self, project_id: str) -> None:
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")

    async def _anonymous(
        self, project_id: str, span: TimeRange, filters: tuple[Filter, ...]
    ) -> tuple[Filter, ...]:
        return await anonymous_filters(self._events, project_id, span, filters, self._k)

    def _recent(self) -> TimeRange:
        """The last 24 hours, in whole hours, the current one last."""
        last_hour = _floor_hour(self._clock.now())
        return TimeRange(start=last_hour - 23 * HOUR, end=last_hour + HOUR)


class _SessionFields(TypedDict):
    pageviews: int
    sessions: int
    views_per_session: float | None
    bounce_rate: int | None
    visit_duration: int | None


def _session_fields(figures: Figures) -> _SessionFields:
    reported = figures.reported
    return {
        "pageviews": reported.pageviews,
        "sessions": reported.sessions,
        "views_per_session": reported.views_per_session,
        "bounce_rate": reported.bounce_rate,
        "visit_duration": reported.visit_duration,
    }


def _with_figures(totals: Totals, figures: Figures) -> Totals:
    return msgspec.structs.replace(totals, **_session_fields(figures))


def _top_pages(rows: list[Row], top: int) -> list[PageStats]:
    """Pages ranked as the unfiltered top pages are: by page views, then path."""
    ranked = sorted(rows, key=lambda row: (-row.figures.totals.pageviews, row.value or ""))
    return [
        PageStats(
            path=row.value or "",
            visits=row.figures.totals.pageviews,
            unique_visitors=row.figures.visitors,
        )
        for row in ranked[:top]
    ]


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
