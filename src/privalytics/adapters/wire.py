"""The JSON privalytics writes about projects, tokens and numbers: the HTTP API's response
bodies, which the command line's ``--json`` prints too, so that both speak one JSON.

Separate from the domain models (the JSON can evolve without touching the core) and from
the HTTP adapter (which reads its request bodies in :mod:`privalytics.adapters.http.schemas`):
this module needs msgspec only, so a command that prints JSON loads no web framework.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from privalytics.domain.models import (
    Action,
    Bucket,
    IssuedToken,
    PageStats,
    Project,
    Ranked,
    Stats,
    TokenInfo,
)


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

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(id=info.id, created_at=info.created_at, revoked_at=info.revoked_at)


class TokenListOut(msgspec.Struct, frozen=True, kw_only=True):
    tokens: list[TokenOut]


class TokenIssuedOut(msgspec.Struct, frozen=True, kw_only=True):
    # The token's full text: shown once, never again.
    token: str
    id: str
    created_at: datetime

    @classmethod
    def of(cls, issued: IssuedToken) -> TokenIssuedOut:
        return cls(token=issued.token, id=issued.info.id, created_at=issued.info.created_at)


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
            previous=(
                None
                if stats.previous is None
                else PreviousOut(
                    range=RangeOut(start=stats.previous.range.start, end=stats.previous.range.end),
                    visits=stats.previous.visits,
                    unique_visitors=stats.previous.unique_visitors,
                )
            ),
        )
