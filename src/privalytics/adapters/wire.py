"""The JSON privalytics writes about projects, tokens and numbers: the HTTP API's response
bodies, which the command line's ``--json`` prints too, so that both speak one JSON.

Separate from the domain models (the JSON can evolve without touching the core) and from
the HTTP adapter (which reads its request bodies in :mod:`privalytics.adapters.http.schemas`):
this module needs msgspec only, so a command that prints JSON loads no web framework.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from privalytics.domain.conversions import GoalFigures, GoalReport, Revenue
from privalytics.domain.funnels import Funnel, FunnelReport, Step, StepFigures
from privalytics.domain.goals import Goal
from privalytics.domain.insight import Row
from privalytics.domain.models import (
    Action,
    BotReport,
    Bucket,
    IssuedToken,
    PageStats,
    Project,
    Ranked,
    Stats,
    TokenInfo,
    Totals,
)
from privalytics.domain.reporting import Breakdown


def pretty(data: object) -> bytes:
    """``data`` as JSON indented by two spaces, for people reading a terminal."""
    return msgspec.json.format(msgspec.json.encode(data), indent=2)


class ProjectOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    rate_limit: str
    allowed_origins: list[str]
    created_at: datetime

    @classmethod
    def of(cls, project: Project) -> ProjectOut:
        return cls(
            id=project.id,
            name=project.name,
            rate_limit=str(project.rate_limit),
            allowed_origins=list(project.allowed_origins),
            created_at=project.created_at,
        )


class ProjectCreatedOut(msgspec.Struct, frozen=True, kw_only=True):
    project: ProjectOut
    # The project's first token: shown once, never again.
    token: str


class ProjectListOut(msgspec.Struct, frozen=True, kw_only=True):
    projects: list[ProjectOut]


class TokenOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created_at: datetime
    revoked_at: datetime | None
    # "browser" (public, for pages) or "server" (secret; may name the visitor).
    kind: str = "browser"

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(
            id=info.id,
            created_at=info.created_at,
            revoked_at=info.revoked_at,
            kind=info.kind.value,
        )


class TokenListOut(msgspec.Struct, frozen=True, kw_only=True):
    tokens: list[TokenOut]


class TokenIssuedOut(msgspec.Struct, frozen=True, kw_only=True):
    # The token's full text: shown once, never again.
    token: str
    id: str
    created_at: datetime
    kind: str = "browser"

    @classmethod
    def of(cls, issued: IssuedToken) -> TokenIssuedOut:
        return cls(
            token=issued.token,
            id=issued.info.id,
            created_at=issued.info.created_at,
            kind=issued.info.kind.value,
        )


class RangeOut(msgspec.Struct, frozen=True, kw_only=True):
    start: datetime = msgspec.field(name="from")
    end: datetime = msgspec.field(name="to")


class PageOut(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    visits: int
    unique_visitors: int

    @classmethod
    def of(cls, page: PageStats) -> PageOut:
        return cls(path=page.path, visits=page.visits, unique_visitors=page.unique_visitors)


class HourOut(msgspec.Struct, frozen=True, kw_only=True):
    hour: datetime
    visits: int
    unique_visitors: int

    @classmethod
    def of(cls, bucket: Bucket) -> HourOut:
        return cls(hour=bucket.start, visits=bucket.visits, unique_visitors=bucket.unique_visitors)


class RankedOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    count: int

    @classmethod
    def list_of(cls, rows: list[Ranked]) -> list[RankedOut]:
        return [cls(name=row.name, count=row.count) for row in rows]


class BucketOut(msgspec.Struct, frozen=True, kw_only=True):
    start: datetime
    visits: int
    unique_visitors: int


class PreviousOut(msgspec.Struct, frozen=True, kw_only=True):
    range: RangeOut
    visits: int
    unique_visitors: int
    # The previous range's session figures, under the same filters (null only where a
    # ratio has no session to divide by).
    pageviews: int | None = None
    sessions: int | None = None
    views_per_session: float | None = None
    bounce_rate: int | None = None
    visit_duration: int | None = None

    @classmethod
    def of(cls, totals: Totals) -> PreviousOut:
        return cls(
            range=RangeOut(start=totals.range.start, end=totals.range.end),
            visits=totals.visits,
            unique_visitors=totals.unique_visitors,
            pageviews=totals.pageviews,
            sessions=totals.sessions,
            views_per_session=totals.views_per_session,
            bounce_rate=totals.bounce_rate,
            visit_duration=totals.visit_duration,
        )


class StatsOut(msgspec.Struct, frozen=True, kw_only=True):
    range: RangeOut
    visits: int
    unique_visitors: int
    top_pages: list[PageOut]
    # Every action, zero included.
    actions: dict[str, int]
    # The last 24 hours, oldest first, one bucket per hour, the current one last.
    recent: list[HourOut]
    # Referrers of visits, most frequent first.
    top_referrers: list[RankedOut] = msgspec.field(default_factory=list)
    # Top targets of "click", "download" and "share" (the network) events.
    top_targets: dict[str, list[RankedOut]] = msgspec.field(default_factory=dict)
    # Mean value of scroll events (percent of the page); null without any.
    average_scroll_depth: float | None = None
    # "hour" for ranges up to 48 hours, "day" beyond.
    series_step: str = "hour"
    # Every step overlapping the range, oldest first, zeros included: visits and their
    # distinct visitors, counting only events inside the range.
    series: list[BucketOut] = msgspec.field(default_factory=list)
    # The range of the same length just before this one, for comparison.
    previous: PreviousOut | None = None
    # Page views (the same number as ``visits``, named as the other figures are) and the
    # session figures; the ratios are null without a session.
    pageviews: int = 0
    sessions: int = 0
    views_per_session: float | None = None
    bounce_rate: int | None = None
    visit_duration: int | None = None
    # Distinct visitors with an event in the last five minutes.
    current_visitors: int = 0
    # The filters every number here honours, as written.
    filters: list[str] = msgspec.field(default_factory=list)
    # The earliest instant whose raw events are kept; null: every event is kept
    # (PRIVALYTICS_EVENT_RETENTION_DAYS unset).
    raw_from: datetime | None = None
    # True when the range starts before raw_from and some figures here need raw events
    # (filters, an hourly series, a day the range cuts): those cover raw_from..to only.
    partial: bool = False
    # True when the range holds events of an imported file (privalytics import).
    imported: bool = False

    @classmethod
    def of(cls, stats: Stats) -> StatsOut:
        return cls(
            range=RangeOut(start=stats.range.start, end=stats.range.end),
            visits=stats.visits,
            unique_visitors=stats.unique_visitors,
            top_pages=[PageOut.of(page) for page in stats.top_pages],
            actions={action.value: stats.actions.get(action, 0) for action in Action},
            recent=[HourOut.of(bucket) for bucket in stats.recent],
            top_referrers=RankedOut.list_of(stats.top_referrers),
            top_targets={a.value: RankedOut.list_of(r) for a, r in stats.top_targets.items()},
            average_scroll_depth=stats.average_scroll_depth,
            series_step=stats.series_step,
            series=[
                BucketOut(start=b.start, visits=b.visits, unique_visitors=b.unique_visitors)
                for b in stats.series
            ],
            previous=None if stats.previous is None else PreviousOut.of(stats.previous),
            pageviews=stats.pageviews,
            sessions=stats.sessions,
            views_per_session=stats.views_per_session,
            bounce_rate=stats.bounce_rate,
            visit_duration=stats.visit_duration,
            current_visitors=stats.current_visitors,
            filters=list(stats.filters),
            raw_from=stats.raw_from,
            partial=stats.partial,
            imported=stats.imported,
        )


class BreakdownRowOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One value of a breakdown. ``value`` null: the events had none (no referrer, an
    unknown browser, a custom event without the property...); "(other)": regions or
    cities of too few visitors, merged. ``events``: a custom-event dimension's (``event``,
    ``prop:KEY``) custom events of the value; absent for the other dimensions."""

    value: str | None
    visitors: int
    pageviews: int
    sessions: int
    views_per_session: float | None
    bounce_rate: int | None
    visit_duration: int | None
    events: int | None = None

    @classmethod
    def of(cls, row: Row) -> BreakdownRowOut:
        reported = row.figures.reported
        return cls(
            value=row.value,
            visitors=row.figures.visitors,
            pageviews=reported.pageviews,
            sessions=reported.sessions,
            views_per_session=reported.views_per_session,
            bounce_rate=reported.bounce_rate,
            visit_duration=reported.visit_duration,
            events=row.events,
        )


class BreakdownOut(msgspec.Struct, frozen=True, kw_only=True):
    dimension: str
    range: RangeOut
    filters: list[str]
    # Ranked by visitors, then page views, then value (null last).
    results: list[BreakdownRowOut]
    # As in the stats: where raw events begin (null: kept forever), and whether the rows
    # cover only raw_from..to (filters or a custom-event dimension over expired days).
    raw_from: datetime | None = None
    partial: bool = False
    # As in the stats: whether the range holds imported events.
    imported: bool = False

    @classmethod
    def of(cls, breakdown: Breakdown) -> BreakdownOut:
        return cls(
            dimension=breakdown.dimension,
            range=RangeOut(start=breakdown.range.start, end=breakdown.range.end),
            filters=list(breakdown.filters),
            results=[BreakdownRowOut.of(row) for row in breakdown.rows],
            raw_from=breakdown.raw_from,
            partial=breakdown.partial,
            imported=breakdown.imported,
        )


class BotDayOut(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    reason: str
    count: int


class BotsOut(msgspec.Struct, frozen=True, kw_only=True):
    """The bot log of a range: the UTC days it touches (the log keeps days)."""

    range: RangeOut
    first_day: date
    last_day: date
    # Bot events turned away in those days.
    total: int
    # Per reason, most frequent first; ``name`` is the reason.
    reasons: list[RankedOut]
    # Per day and reason, oldest first; days without a bot are left out.
    days: list[BotDayOut]

    @classmethod
    def of(cls, report: BotReport) -> BotsOut:
        return cls(
            range=RangeOut(start=report.range.start, end=report.range.end),
            first_day=report.first_day,
            last_day=report.last_day,
            total=report.total,
            reasons=RankedOut.list_of(report.reasons),
            days=[
                BotDayOut(day=line.day, reason=line.reason, count=line.count)
                for line in report.days
            ],
        )


class GoalOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A goal: ``kind`` page (``page``: a path pattern, ``*`` any characters but ``/``,
    ``**`` any characters), event (``event``: a custom event's name) or scroll (``page``
    and ``depth``: a scroll of at least ``depth`` percent on a matching page)."""

    id: str
    name: str
    kind: str
    page: str | None = None
    event: str | None = None
    depth: int | None = None
    created_at: datetime

    @classmethod
    def of(cls, goal: Goal) -> GoalOut:
        return cls(
            id=goal.id,
            name=goal.name,
            kind=goal.kind.value,
            page=goal.page,
            event=goal.event,
            depth=goal.depth,
            created_at=goal.created_at,
        )


class GoalListOut(msgspec.Struct, frozen=True, kw_only=True):
    # Oldest first.
    goals: list[GoalOut]


class RevenueOut(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    total: float
    # Per conversion with revenue in this currency.
    average: float
    conversions: int

    @classmethod
    def of(cls, revenue: Revenue) -> RevenueOut:
        return cls(
            currency=revenue.currency,
            total=revenue.total,
            average=revenue.average,
            conversions=revenue.conversions,
        )


class GoalFiguresOut(msgspec.Struct, frozen=True, kw_only=True):
    """A goal's figures: ``visitors`` who converted (unique conversions), ``conversions``
    (events that converted), ``conversion_rate`` (visitors who converted in percent of the
    range's visitors under the same filters, two decimals; null without visitors) and, for
    an event goal, its revenue per currency."""

    goal: GoalOut
    visitors: int
    conversions: int
    conversion_rate: float | None
    revenue: list[RevenueOut]

    @classmethod
    def of(cls, figures: GoalFigures) -> GoalFiguresOut:
        return cls(
            goal=GoalOut.of(figures.goal),
            visitors=figures.visitors,
            conversions=figures.conversions,
            conversion_rate=figures.conversion_rate,
            revenue=[RevenueOut.of(r) for r in figures.revenue],
        )


class GoalReportOut(msgspec.Struct, frozen=True, kw_only=True):
    range: RangeOut
    filters: list[str]
    # The range's visitors under the filters: what each conversion rate is a share of.
    visitors: int
    # Every goal of the project, oldest first.
    goals: list[GoalFiguresOut]

    @classmethod
    def of(cls, report: GoalReport) -> GoalReportOut:
        return cls(
            range=RangeOut(start=report.range.start, end=report.range.end),
            filters=list(report.filters),
            visitors=report.visitors,
            goals=[GoalFiguresOut.of(f) for f in report.goals],
        )


class StepOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A funnel step: ``page`` (a path pattern, as a page goal's) or ``event`` (a custom
    event's name)."""

    page: str | None = None
    event: str | None = None

    @classmethod
    def of(cls, step: Step) -> StepOut:
        return cls(page=step.page, event=step.event)


class FunnelOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    # In order: 2 to 8.
    steps: list[StepOut]
    created_at: datetime

    @classmethod
    def of(cls, funnel: Funnel) -> FunnelOut:
        return cls(
            id=funnel.id,
            name=funnel.name,
            steps=[StepOut.of(s) for s in funnel.steps],
            created_at=funnel.created_at,
        )


class FunnelListOut(msgspec.Struct, frozen=True, kw_only=True):
    # Oldest first.
    funnels: list[FunnelOut]


class StepFiguresOut(msgspec.Struct, frozen=True, kw_only=True):
    """One step's figures: ``visitors`` who did steps 1 to this one in order (per salt
    window), ``conversion`` (percent of step 1's visitors, two decimals; null when step 1
    has none), ``dropoff`` (visitors of the step before who did not do this one; 0 for
    step 1) and ``dropoff_rate`` (percent of the step before's; null for step 1)."""

    step: StepOut
    visitors: int
    conversion: float | None
    dropoff: int
    dropoff_rate: float | None

    @classmethod
    def of(cls, figures: StepFigures) -> StepFiguresOut:
        return cls(
            step=StepOut.of(figures.step),
            visitors=figures.visitors,
            conversion=figures.conversion,
            dropoff=figures.dropoff,
            dropoff_rate=figures.dropoff_rate,
        )


class FunnelReportOut(msgspec.Struct, frozen=True, kw_only=True):
    funnel: FunnelOut
    range: RangeOut
    filters: list[str]
    steps: list[StepFiguresOut]
    # The last step's visitors in percent of the first's (null when the first has none).
    conversion: float | None
    # Where raw events begin (null: kept forever); partial: the range starts before it,
    # and the funnel (which reads raw events only) covers raw_from..to only.
    raw_from: datetime | None = None
    partial: bool = False

    @classmethod
    def of(cls, report: FunnelReport) -> FunnelReportOut:
        return cls(
            funnel=FunnelOut.of(report.funnel),
            range=RangeOut(start=report.range.start, end=report.range.end),
            filters=list(report.filters),
            steps=[StepFiguresOut.of(f) for f in report.steps],
            conversion=report.conversion,
            raw_from=report.raw_from,
            partial=report.partial,
        )
