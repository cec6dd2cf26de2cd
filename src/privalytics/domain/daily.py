"""A range's figures day by day: what a per-day export (Plausible's CSV layout) is made of.

Each UTC day is read on its own, through the same store reads as a day's stats and
breakdowns (:meth:`~privalytics.domain.ports.EventStore.figures` and
:meth:`~privalytics.domain.ports.EventStore.breakdown`, unfiltered, every row): over the
days that are over these come from the per-day rollups, not from raw events, so a day's
numbers equal the dashboard's for that day and stay the same once its raw events expire.
Custom events are the exception: their breakdown reads the day's events, as it does in
the API, and is empty for a day whose raw events have expired.

A day holds its figures only: no visitor hash, and regions and cities are left to the
caller (a per-day export leaves them out, as a day's small cells are exactly what the
dashboard's k-anonymity merges).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta

import msgspec

from privalytics.domain.dimensions import Dimension, Scope, dimension
from privalytics.domain.errors import InvalidInput
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import TimeRange
from privalytics.domain.ports import EventStore
from privalytics.domain.sessions import SessionTotals

DAY = timedelta(days=1)


class DayFigures(msgspec.Struct, frozen=True, kw_only=True):
    """One UTC day's headline figures and its breakdowns by the dimensions asked for."""

    day: date
    figures: Figures
    # Per dimension name: every row of the day's unfiltered breakdown, ranked as the API
    # ranks them.
    rows: dict[str, list[Row]]


def days_of(span: TimeRange) -> list[date]:
    """Every UTC day ``span`` touches, in order, whole: a range that starts or ends within
    a day takes that whole day."""
    first = span.start.astimezone(UTC).date()
    # The range is half-open: an end at midnight does not touch the day it begins.
    last = (span.end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_range(day: date) -> TimeRange:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return TimeRange(start=start, end=start + DAY)


def daily_dimensions(names: Sequence[str]) -> tuple[Dimension, ...]:
    """The dimensions called ``names``, each one a day can be broken down by on its own
    (not a goal, which needs the project's goals; not a region or a city, whose small
    cells k-anonymity merges over the whole range)."""
    found = tuple(dimension(name) for name in names)
    for name, each in zip(names, found, strict=True):
        if each is None or each.scope is Scope.GOAL or each.merge_small_cells:
            raise InvalidInput(f"{name!r} cannot be read day by day", field="dimension")
    return tuple(each for each in found if each is not None)


async def day_figures(
    events: EventStore,
    project_id: str,
    day: date,
    dimensions: Sequence[Dimension],
    figures: Figures | None = None,
) -> DayFigures:
    """The day's figures (``figures`` when already read) and its breakdowns by
    ``dimensions`` (from :func:`daily_dimensions`)."""
    span = day_range(day)
    if figures is None:
        figures = await events.figures(project_id, span, ())
    rows: dict[str, list[Row]] = {each.name: [] for each in dimensions}
    # A day without a session has no rows either: one read, not one per dimension.
    if figures.totals.sessions:
        for each in dimensions:
            rows[each.name] = await events.breakdown(project_id, span, each, (), None)
    return DayFigures(day=day, figures=figures, rows=rows)


def _days(first: date, last: date) -> TimeRange:
    return TimeRange(start=day_range(first).start, end=day_range(last).end)


async def _active(
    events: EventStore, project_id: str, first: date, last: date
) -> AsyncIterator[tuple[date, Figures]]:
    """The days from ``first`` to ``last`` that hold a session, in order, with their
    figures: a stretch without any is one read, however long (years of a new project),
    so that only the active days cost a read each (sessions add up over days)."""
    figures = await events.figures(project_id, _days(first, last), ())
    if not figures.totals.sessions:
        return
    if first == last:
        yield first, figures
        return
    middle = first + timedelta(days=(last - first).days // 2)
    async for found in _active(events, project_id, first, middle):
        yield found
    async for found in _active(events, project_id, middle + DAY, last):
        yield found


def _empty(day: date, dimensions: Sequence[Dimension]) -> DayFigures:
    return DayFigures(
        day=day,
        figures=Figures(visitors=0, totals=SessionTotals()),
        rows={each.name: [] for each in dimensions},
    )


async def daily(
    events: EventStore, project_id: str, span: TimeRange, dimensions: Sequence[Dimension]
) -> AsyncIterator[DayFigures]:
    """:func:`day_figures` of every day of :func:`days_of` ``span``, oldest first, one
    day read at a time (a day without a session is not read on its own)."""
    days = days_of(span)
    following = days[0]
    async for day, figures in _active(events, project_id, days[0], days[-1]):
        while following < day:
            yield _empty(following, dimensions)
            following += DAY
        yield await day_figures(events, project_id, day, dimensions, figures)
        following = day + DAY
    while following <= days[-1]:
        yield _empty(following, dimensions)
        following += DAY
