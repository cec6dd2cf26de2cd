"""The figures of a range, straight from its events: the definition every store answers.

This computes, from a list of stored events, what the API and the dashboard report: the
headline figures (:func:`figures`) and a breakdown by any dimension (:func:`breakdown`),
under any filters. The in-memory store answers with it, and the tests compare every other
store with it, so "equal to a computation from the events" has one meaning.

The metrics, defined once:

- ``visitors``: distinct visitor hashes, counted per salt window and summed (a hash stands
  for one visitor within one window only);
- ``pageviews``: page views (``visit`` events);
- ``sessions``: runs of one visitor's events (see :mod:`privalytics.domain.sessions`);
- ``bounce_rate``: the share of sessions with one page view and no interaction, in percent;
- ``visit_duration``: the mean seconds from a session's first event to its last;
- ``views_per_session``: page views per session.

Filters (see :mod:`privalytics.domain.filters`) select sessions by their session
dimensions, page views by their page, and custom events by their name and properties.
Under a page filter the page views are the matching ones, and the visitors and sessions
those with a matching page view; under an event or property filter the custom events are
the matching ones, and the visitors and sessions those with a matching custom event.

A breakdown by a custom-event dimension (``event``, ``prop:KEY``) counts, per value, its
custom events (``events``), the visitors and sessions that hold one, and those sessions'
(selected) page views.

Goals (:mod:`privalytics.domain.goals`) work the same way with *conversions* (an event
and a goal it completes) in place of custom events: a ``goal`` filter selects the
conversions of the goals it matches, and the visitors and sessions holding one; a
breakdown by ``goal`` counts, per goal, its conversions (``events``), the visitors who
converted (unique conversions) and their sessions. Under a page filter, only events on
the pages it selects convert (as only they are selected events).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta

import msgspec

from privalytics.domain.dimensions import Dimension, Scope, SessionRole
from privalytics.domain.filters import Filter
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event
from privalytics.domain.sessions import (
    Session,
    SessionFigures,
    SessionTotals,
    figures_of,
    sessionize,
)


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """The metrics of a set of sessions and page views: distinct visitors and the
    additive session totals, from which the rates are derived (and rounded) once."""

    visitors: int
    totals: SessionTotals

    @property
    def reported(self) -> SessionFigures:
        return figures_of(self.totals)


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """One value of a breakdown, with its figures."""

    value: str | None
    figures: Figures
    # A custom-event dimension's row: its custom events; None for the other dimensions.
    events: int | None = None


def session_value(dimension: Dimension, session: Session) -> str | None:
    """The value a session has in a session dimension."""
    if dimension.role is SessionRole.ENTRY:
        return session.entry_page
    if dimension.role is SessionRole.EXIT:
        return session.exit_page
    return dimension.read(session.first)


def _selects(filters: Sequence[Filter], session: Session) -> bool:
    return all(f.matches(session_value(f.of, session)) for f in filters if f.scope is Scope.SESSION)


def _views(filters: Sequence[Filter], session: Session) -> list[str]:
    """The paths of the session's page views that the page filters select."""
    pages = [f for f in filters if f.scope is Scope.EVENT]
    return [path for path in session.paths if all(f.matches(path) for f in pages)]


def _custom(filters: Sequence[Filter], session: Session) -> list[Event]:
    """The session's custom events that the event and property filters select."""
    tests = [(f, f.of.read) for f in filters if f.scope is Scope.CUSTOM]
    return [event for event in session.custom if all(f.matches(read(event)) for f, read in tests)]


class Selected(msgspec.Struct, frozen=True):
    """A session that filters select, with the paths of its selected page views."""

    session: Session
    views: list[str]
    # The salt window the session lies in, which makes its hash a visitor.
    window: int
    # Its custom events that the filters select.
    custom: list[Event] = msgspec.field(default_factory=list)
    # Its conversions (an event, the name of a goal it completes) that the filters select;
    # empty unless goals were given (a goal dimension or a goal filter).
    conversions: list[tuple[Event, str]] = msgspec.field(default_factory=list)


def _conversions(
    converter: Dimension, filters: Sequence[Filter], session: Session
) -> list[tuple[Event, str]]:
    """The session's conversions of ``converter``'s goals on the selected pages that the
    goal filters select."""
    pages = [f for f in filters if f.scope is Scope.EVENT]
    goals = [f for f in filters if f.scope is Scope.GOAL]
    found: list[tuple[Event, str]] = []
    for event in session.run:
        if pages and not all(f.matches(event.path) for f in pages):
            continue
        for name in converter.convert(event):
            if all(f.matches(name) for f in goals):
                found.append((event, name))
    return found


def select(
    events: Iterable[Event],
    filters: Sequence[Filter],
    rotation: timedelta,
    goals: Dimension | None = None,
) -> list[Selected]:
    """The sessions (with their selected page views) that ``filters`` select; with
    ``goals`` (a resolved goal dimension), or a goal filter, their conversions too."""
    paged = any(f.scope is Scope.EVENT for f in filters)
    customised = any(f.scope is Scope.CUSTOM for f in filters)
    goal_filters = [f for f in filters if f.scope is Scope.GOAL]
    converter = goals if goals is not None else goal_filters[0].of if goal_filters else None
    chosen: list[Selected] = []
    for session in sessionize(events):
        if not _selects(filters, session):
            continue
        views = _views(filters, session)
        if paged and not views:
            continue
        custom = _custom(filters, session)
        if customised and not custom:
            continue
        conversions = [] if converter is None else _conversions(converter, filters, session)
        if goal_filters and not conversions:
            continue
        chosen.append(
            Selected(session, views, window_of(session.start, rotation), custom, conversions)
        )
    return chosen


def _figures(chosen: Iterable[Selected], views: Iterable[int] | None = None) -> Figures:
    """The figures of ``chosen``; ``views``: the page views each counts (default: its
    selected ones)."""
    items = list(chosen)
    counts = [len(item.views) for item in items] if views is None else list(views)
    totals = SessionTotals()
    for item, count in zip(items, counts, strict=True):
        session = item.session
        totals += SessionTotals(
            sessions=1,
            pageviews=count,
            bounces=int(session.bounced),
            duration=session.end - session.start,
        )
    return Figures(
        visitors=len({(item.window, item.session.visitor_hash) for item in items}),
        totals=totals,
    )


def figures(events: Iterable[Event], filters: Sequence[Filter], rotation: timedelta) -> Figures:
    """The headline figures of ``events`` under ``filters``."""
    return _figures(select(events, filters, rotation))


def breakdown(
    events: Iterable[Event],
    dimension: Dimension,
    filters: Sequence[Filter],
    rotation: timedelta,
) -> list[Row]:
    """Every value of ``dimension`` among ``events`` under ``filters``, with its figures,
    by visitors (most first), then custom events, then page views, then value (missing
    last)."""
    goals = dimension if dimension.scope is Scope.GOAL else None
    chosen = select(events, filters, rotation, goals)
    rows: list[Row] = []
    if dimension.scope is Scope.SESSION:
        groups: dict[str | None, list[Selected]] = defaultdict(list)
        for item in chosen:
            groups[session_value(dimension, item.session)].append(item)
        rows = [Row(value=value, figures=_figures(group)) for value, group in groups.items()]
    elif dimension.scope in (Scope.CUSTOM, Scope.GOAL):
        # A custom event (a conversion) is in one group; a session in the group of each
        # of its events (conversions).
        customs: dict[str | None, list[tuple[Selected, int]]] = defaultdict(list)
        for item in chosen:
            per_value: dict[str | None, int] = defaultdict(int)
            if dimension.scope is Scope.GOAL:
                for _, name in item.conversions:
                    per_value[name] += 1
            else:
                for event in item.custom:
                    per_value[dimension.read(event)] += 1
            for value, count in per_value.items():
                customs[value].append((item, count))
        rows = [
            Row(
                value=value,
                figures=_figures(item for item, _ in group),
                events=sum(count for _, count in group),
            )
            for value, group in customs.items()
        ]
    else:
        # A page view is in one group; a session is in the group of every page it viewed.
        pages: dict[str | None, list[tuple[Selected, int]]] = defaultdict(list)
        for item in chosen:
            per_page: dict[str, int] = defaultdict(int)
            for path in item.views:
                per_page[path] += 1
            for path, count in per_page.items():
                pages[path].append((item, count))
        rows = [
            Row(
                value=value,
                figures=_figures((item for item, _ in group), (count for _, count in group)),
            )
            for value, group in pages.items()
        ]
    return sorted(rows, key=rank)


def cell_sizes(
    events: Iterable[Event],
    dimension: Dimension,
    filters: Sequence[Filter],
    rotation: timedelta,
) -> dict[str | None, int]:
    """For each value of ``dimension`` among the sessions (or, for the page, the page
    views) ``filters`` select in ``events``, the most distinct visitors it had within one
    salt window. A visitor's hash stands for one person within one window only, so this
    is the number of people a value certainly stands for, where :func:`breakdown`'s
    visitors (summed over windows) count a person once per window."""
    hashes: dict[tuple[str | None, int], set[str]] = defaultdict(set)
    goals = dimension if dimension.scope is Scope.GOAL else None
    for item in select(events, filters, rotation, goals):
        if dimension.scope is Scope.SESSION:
            values: Iterable[str | None] = (session_value(dimension, item.session),)
        elif dimension.scope is Scope.GOAL:
            values = {name for _, name in item.conversions}
        elif dimension.scope is Scope.CUSTOM:
            values = {dimension.read(event) for event in item.custom}
        else:
            values = set(item.views)
        for value in values:
            hashes[value, item.window].add(item.session.visitor_hash)
    sizes: dict[str | None, int] = {}
    for (value, _), visitors in hashes.items():
        sizes[value] = max(sizes.get(value, 0), len(visitors))
    return sizes


def rank(row: Row) -> tuple[int, int, int, bool, str]:
    figures = row.figures
    return (
        -figures.visitors,
        -(row.events or 0),
        -figures.totals.pageviews,
        row.value is None,
        row.value or "",
    )


def custom_keys(events: Iterable[Event], filters: Sequence[Filter]) -> list[str]:
    """The property names of the custom events among ``events`` that the event and
    property ``filters`` select, by how many events hold each (most first), then name."""
    tests = [(f, f.of.read) for f in filters if f.scope is Scope.CUSTOM]
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        if event.action is Action.CUSTOM and all(f.matches(read(event)) for f, read in tests):
            for key in event.props:
                counts[key] += 1
    return sorted(counts, key=lambda key: (-counts[key], key))
