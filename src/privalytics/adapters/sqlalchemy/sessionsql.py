"""Sessions in SQL: the session totals (:class:`~privalytics.domain.sessions.SessionTotals`)
of the stored events a filter selects, sessionized as
:func:`privalytics.domain.sessions.sessionize` does: within one UTC day, one visitor's run
of events with no gap over :data:`~privalytics.domain.sessions.SESSION_GAP`. The order of
events at one instant changes no total, so ordering by time (then id, for a total order)
is enough. The refresh writes a day's totals with it (``rollup_sessions``); the reader
sums the totals of the events of a range's parts that are not rolled up with it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.planning import code
from privalytics.domain.models import Action
from privalytics.domain.rollups import DAY_MS
from privalytics.domain.sessions import PASSIVE_ACTIONS, SESSION_GAP

_events = tables.events
_GAP_MS = SESSION_GAP // timedelta(milliseconds=1)


def sessions_of(where: ColumnElement[bool]) -> Any:
    """SQL, a subquery: one row per session of the events ``where`` selects: its ``day``,
    ``views`` (visits), ``active`` (interactions: events other than PASSIVE_ACTIONS) and
    ``length`` (milliseconds from its first event to its last)."""
    e = _events.c
    day = e.ts // DAY_MS
    previous = func.lag(e.ts).over(partition_by=(day, e.visitor), order_by=(e.ts, e.id))
    marked = (
        select(
            day.label("day"),
            e.visitor,
            e.ts,
            e.id,
            e.action,
            case((previous.is_(None) | (e.ts - previous > _GAP_MS), 1), else_=0).label("starts"),
        )
        .where(where)
        .subquery()
    )
    m = marked.c
    numbered = select(
        m.day,
        m.visitor,
        m.ts,
        m.action,
        func.sum(m.starts)
        .over(partition_by=(m.day, m.visitor), order_by=(m.ts, m.id), rows=(None, 0))
        .label("n"),
    ).subquery()
    n = numbered.c
    passive = [code(action) for action in PASSIVE_ACTIONS]
    return (
        select(
            n.day,
            func.count(case((n.action == code(Action.VISIT), 1))).label("views"),
            func.count(case((n.action.not_in(passive), 1))).label("active"),
            (func.max(n.ts) - func.min(n.ts)).label("length"),
        )
        .group_by(n.day, n.visitor, n.n)
        .subquery()
    )


def session_totals(where: ColumnElement[bool], *, by_day: bool) -> Any:
    """SQL: (``by_day``: per day, the day first) sessions, page views, bounces and summed
    length in milliseconds of the sessions of the events ``where`` selects."""
    s = sessions_of(where).c
    bounced = case(((s.views == 1) & (s.active == 0), 1), else_=0)
    sums = (
        func.count().label("sessions"),
        func.coalesce(func.sum(s.views), 0).label("pageviews"),
        func.coalesce(func.sum(bounced), 0).label("bounces"),
        func.coalesce(func.sum(s.length), 0).label("duration"),
    )
    if by_day:
        return select(s.day, *sums).group_by(s.day)
    return select(*sums)
