"""What the selected part of the traffic did: the parts of a filtered stats answer.

Filters (:mod:`privalytics.domain.filters`) select sessions. The *selected events* are
the events of the selected sessions; under a page filter, only those whose page it
matches (page views and the clicks, scrolls, downloads and shares made on those pages).
:func:`selected_events` defines them over a list of events (the in-memory store answers
with it, and the tests compare the SQL stores with it); the functions after it count
what a stats answer shows from them, with the same definitions as the unfiltered reads
of the EventStore port (:mod:`privalytics.domain.reports`): events per action, the series,
the top referrers and targets, the mean scroll depth, current visitors. With no filter
every event is selected and each gives what the port's unfiltered read gives.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from privalytics.domain.dimensions import Scope
from privalytics.domain.filters import Filter
from privalytics.domain.insight import select
from privalytics.domain.models import Action, Bucket, Event, Ranked, TimeRange
from privalytics.domain.reports import (
    REFERRERS,
    TARGET_ACTIONS,
    TARGETS,
    Breakdowns,
    Ranking,
    fill_series,
    origin_of,
    step_of,
)


def selected_events(
    events: Iterable[Event], filters: Sequence[Filter], rotation: timedelta
) -> list[Event]:
    """The events of the sessions ``filters`` select among ``events`` (under a page
    filter, those on a page it matches), in the order given."""
    given = list(events)
    if not filters:
        return given
    # A visitor's sessions never overlap in time (they are apart by more than the gap or
    # on different days), so an event belongs to the one whose first and last event
    # enclose it.
    spans: dict[tuple[str, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    for item in select(given, filters, rotation):
        session = item.session
        spans[session.project_id, session.visitor_hash].append((session.start, session.end))
    for runs in spans.values():
        runs.sort()
    pages = [f for f in filters if f.scope is Scope.EVENT]
    chosen: list[Event] = []
    for event in given:
        found = spans.get((event.project_id, event.visitor_hash))
        if not found or not all(f.matches(event.path) for f in pages):
            continue
        at = bisect.bisect_right(found, (event.timestamp, event.timestamp)) - 1
        # bisect compares (start, end) pairs: a session starting at this very instant
        # sorts after (t, t) only when it ends later, so look at it too.
        candidates = found[max(at, 0) : at + 2]
        if any(start <= event.timestamp <= end for start, end in candidates):
            chosen.append(event)
    return chosen


def count_actions(events: Iterable[Event]) -> dict[Action, int]:
    """Events per action, every action present."""
    counts = dict.fromkeys(Action, 0)
    for event in events:
        counts[event.action] += 1
    return counts


def ranked(
    events: Iterable[Event], ranking: Ranking, limit: int, action: Action | None = None
) -> list[Ranked]:
    """The top ``limit`` names ``ranking`` counts among ``events``, by count then name."""
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        name = ranking.name_in(event, action)
        if name is not None:
            counts[name] += 1
    names = sorted(counts, key=lambda name: (-counts[name], name))[:limit]
    return [Ranked(name=name, count=counts[name]) for name in names]


def average_value(events: Iterable[Event], action: Action) -> float | None:
    values = [e.value for e in events if e.action is action and e.value is not None]
    return sum(values) / len(values) if values else None


def buckets(events: Iterable[Event], origin: datetime, step: timedelta) -> list[Bucket]:
    """Visits and distinct visitors (of any event) per step from ``origin``, for the steps
    with an event, in order (as :meth:`EventStore.series` counts them)."""
    visits: dict[datetime, int] = defaultdict(int)
    visitors: dict[datetime, set[str]] = defaultdict(set)
    for event in events:
        start = origin + (event.timestamp - origin) // step * step
        visits[start] += event.action is Action.VISIT
        visitors[start].add(event.visitor_hash)
    return [
        Bucket(start=s, visits=visits[s], unique_visitors=len(visitors[s]))
        for s in sorted(visitors)
    ]


def visitors_since(events: Iterable[Event], since: datetime) -> int:
    """Distinct visitor hashes with an event at or after ``since``."""
    return len({e.visitor_hash for e in events if e.timestamp >= since})


def breakdowns_of(events: Sequence[Event], span: TimeRange, top: int) -> Breakdowns:
    """The stats' lists and series over ``events`` (all of them in ``span``), as
    :func:`privalytics.domain.reports.breakdowns` reads them from the store."""
    name, step = step_of(span)
    series = fill_series(span, step, buckets(events, origin_of(span, step), step))
    return Breakdowns(
        top_referrers=ranked(events, REFERRERS, top),
        top_targets={action: ranked(events, TARGETS, top, action) for action in TARGET_ACTIONS},
        average_scroll_depth=average_value(events, Action.SCROLL),
        series_step=name,
        series=series,
    )
