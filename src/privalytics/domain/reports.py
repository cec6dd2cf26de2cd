"""The dashboard's breakdowns of a range: series, previous period, top lists, scroll depth.

Pure arithmetic over the EventStore port's reads;
:class:`~privalytics.domain.services.Reporting` puts the result into
:class:`~privalytics.domain.models.Stats`, which the API and the dashboard both show, so
their numbers cannot differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import msgspec

from privalytics.domain.models import Action, Bucket, Event, Ranked, TimeRange
from privalytics.domain.ports import EventStore

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Up to this length a range is drawn hour by hour, beyond it day by day.
HOURLY_UP_TO = timedelta(hours=48)
TARGET_ACTIONS = (Action.CLICK, Action.DOWNLOAD, Action.SHARE)
# Besides None, the names that name nothing: an event that carries one is in no top list.
BLANK_NAMES: tuple[str, ...] = ("",)


class Ranking(msgspec.Struct, frozen=True, kw_only=True):
    """What a top list counts: the events of ``action`` whose ``field`` names something
    (neither None nor one of :data:`BLANK_NAMES`), one per event. ``action`` None: of the
    action the list is asked for. Every store builds its filter from these, so that the
    stored rollups, the queries and the in-memory store cannot count differently."""

    field: Literal["referrer", "target"]
    action: Action | None

    def name_in(self, event: Event, action: Action | None = None) -> str | None:
        """The name ``event`` counts for in this list (asked for ``action``); None when
        it does not count."""
        if event.action is not (self.action or action):
            return None
        name = event.referrer if self.field == "referrer" else event.target
        return None if name is None or name in BLANK_NAMES else name


# Top referrers: the visits that name where they came from.
REFERRERS = Ranking(field="referrer", action=Action.VISIT)
# Top targets: the events of the action asked for (a click, a download, a share) that name
# what was clicked, downloaded or shared.
TARGETS = Ranking(field="target", action=None)


class Breakdowns(msgspec.Struct, frozen=True, kw_only=True):
    top_referrers: list[Ranked]
    top_targets: dict[Action, list[Ranked]]
    average_scroll_depth: float | None
    series_step: str
    series: list[Bucket]


class Counted(Protocol):
    """A project's headline figures over a range (its :class:`Totals` or :class:`Stats`)."""

    @property
    def visits(self) -> int: ...
    @property
    def unique_visitors(self) -> int: ...


class OverviewTotals(msgspec.Struct, frozen=True, kw_only=True):
    """The sums of several projects' figures over one range."""

    visits: int
    unique_visitors: int
    # The projects' visits over the previous range of the same length.
    previous_visits: int


def overview_totals(projects: Iterable[tuple[Counted, Counted | None]]) -> OverviewTotals:
    """The figures of several projects together, from each project's figures over the range
    and over the previous range (None: none to compare with). Unique visitors add up: a
    visitor's hash includes the project, so a person on two sites is a visitor of each, as
    each site counts them. A project without a previous range adds no previous visits."""
    visits = unique_visitors = previous_visits = 0
    for figures, previous in projects:
        visits += figures.visits
        unique_visitors += figures.unique_visitors
        previous_visits += previous.visits if previous is not None else 0
    return OverviewTotals(
        visits=visits, unique_visitors=unique_visitors, previous_visits=previous_visits
    )


def step_of(span: TimeRange) -> tuple[str, timedelta]:
    return ("hour", HOUR) if span.end - span.start <= HOURLY_UP_TO else ("day", DAY)


def _floor(moment: datetime, step: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    if step == DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def previous_range(span: TimeRange) -> TimeRange:
    """The range of the same length that ends where ``span`` starts."""
    return TimeRange(start=span.start - (span.end - span.start), end=span.start)


def origin_of(span: TimeRange, step: timedelta) -> datetime:
    """The start of the step ``span`` starts in: the series counts its steps from it."""
    return _floor(span.start, step)


def fill_series(span: TimeRange, step: timedelta, found: Iterable[Bucket]) -> list[Bucket]:
    """Every step overlapping ``span`` from :func:`origin_of`: ``found``'s buckets, zeros
    for the steps it lacks."""
    by_start = {b.start: b for b in found}
    buckets: list[Bucket] = []
    moment = origin_of(span, step)
    while moment < span.end:
        buckets.append(by_start.get(moment, Bucket(start=moment, visits=0, unique_visitors=0)))
        moment += step
    return buckets


async def series(events: EventStore, project_id: str, span: TimeRange) -> tuple[str, list[Bucket]]:
    """Every step overlapping ``span``, zeros included; each counts only events in ``span``,
    so the first and last steps may be partial and the steps add up to the range."""
    name, step = step_of(span)
    found = await events.series(project_id, span, origin_of(span, step), step)
    return name, fill_series(span, step, found)


async def breakdowns(events: EventStore, project_id: str, span: TimeRange, top: int) -> Breakdowns:
    step, buckets = await series(events, project_id, span)
    return Breakdowns(
        top_referrers=await events.top_referrers(project_id, span, top),
        top_targets={
            action: await events.top_targets(project_id, span, action, top)
            for action in TARGET_ACTIONS
        },
        average_scroll_depth=await events.average_value(project_id, span, Action.SCROLL),
        series_step=step,
        series=buckets,
    )
