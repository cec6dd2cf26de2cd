"""Breakdowns in SQL: per UTC day and dimension value, the figures
:func:`privalytics.domain.insight.breakdown` gives the value (sessions, distinct visitors,
page views, bounces, summed lengths), for the events a condition selects, unfiltered.

Sessions are cut as :mod:`.sessionsql` cuts them (one visitor's run within a UTC day, no
gap over 30 minutes). A session dimension's value is its first event's (entry and exit
pages: its first and last page view's path), with the first event chosen as
:func:`privalytics.domain.sessions.sessionize` orders events: by time, then, only among
events at the same instant (rare, so the texts are looked up only there), by action,
path, referrer, target, value, properties and storage order. (The domain orders values by
their ``repr``, this by number: the two differ only between two values of the same visitor
at the same millisecond, with the same action, path, referrer and target, of different
digit counts, which no tracker sends.)

The reader computes one dimension's rows of the parts of a range that are not rolled up
with :func:`dimension_rows` (the refresh computes the rolled-up days' rows from its day
segments' sessions, dayfigures.py). Values are ``texts`` ids, 0 for none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, select

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.planning import code, text_of
from privalytics.domain.dimensions import DIMENSIONS, Dimension, Scope, SessionRole
from privalytics.domain.models import Action
from privalytics.domain.rollups import DAY_MS
from privalytics.domain.sessions import PASSIVE_ACTIONS, SESSION_GAP

_events = tables.events
CODES = tables.DIMENSION_CODES
# The figures of a value, in rollup_dimensions' column order (``events``: a custom event
# name's events; 0 for every other dimension).
SUMS = ("sessions", "visitors", "pageviews", "bounces", "duration", "events")
SESSION_KEY = ("day", "visitor", "n")
GAP_MS = SESSION_GAP // timedelta(milliseconds=1)


def _column(dimension: Dimension) -> str:
    """The events column a dimension reads (the path for the pages)."""
    return dimension.name if dimension.role is SessionRole.FIRST else "path"


def _session_dimensions(names: Sequence[str]) -> list[Dimension]:
    return [DIMENSIONS[name] for name in names if DIMENSIONS[name].scope is Scope.SESSION]


def with_visitors_of(where: ColumnElement[bool], doing: ColumnElement[bool]) -> Any:
    """SQL: whether an event's visitor has an event that ``where`` and ``doing`` select
    (both over the events table, evaluated in a subquery of its own)."""
    e = _events.c
    return e.visitor.in_(select(e.visitor).where(where & doing).correlate(None).scalar_subquery())


def numbered_events(where: ColumnElement[bool], columns: Sequence[str]) -> Any:
    """The selected events with their session's key (day, visitor, n) and ``tied``: more
    than one event of the session at its instant."""
    e = _events.c
    day = e.ts // DAY_MS
    previous = func.lag(e.ts).over(partition_by=(day, e.visitor), order_by=(e.ts, e.id))
    starts = case((previous.is_(None) | (e.ts - previous > GAP_MS), 1), else_=0)
    kept = sorted({"path", "referrer", "target", "value", "props", "name", "currency", *columns})
    marked = (
        select(
            day.label("day"),
            e.visitor,
            e.ts,
            e.id,
            e.action,
            *(e[name] for name in kept),
            starts.label("starts"),
        )
        .where(where)
        .subquery()
    )
    m = marked.c
    session = func.sum(m.starts).over(
        partition_by=(m.day, m.visitor), order_by=(m.ts, m.id), rows=(None, 0)
    )
    numbered = select(*m, session.label("n")).subquery()
    n = numbered.c
    tied = func.count().over(partition_by=(n.day, n.visitor, n.n, n.ts)) > 1
    return select(*n, tied.label("tied")).subquery()


def session_rows(numbered: Any, project: Any, dimensions: Sequence[Dimension]) -> Any:
    """One row per session: its key, ``views``, ``active``, ``length`` (ms) and, per
    session dimension, its value id (0: none) in the column of the dimension's name."""
    t = numbered.c
    partition = [t[name] for name in SESSION_KEY]

    def when_tied(column: Any) -> Any:
        return case((t.tied, text_of(column, project)), else_=None)

    def present(column: Any) -> Any:
        return case((t.tied & column.is_not(None), 1), else_=0)

    first_order = (
        t.ts,
        t.action,
        when_tied(t.path),
        present(t.referrer),
        when_tied(t.referrer),
        present(t.target),
        when_tied(t.target),
        # The domain puts events without a value last.
        case((t.tied & t.value.is_(None), 1), else_=0),
        case((t.tied, t.value), else_=None),
        present(t.props),
        case((t.tied, t.props), else_=None),
        # A custom event's name and currency (domain/sessions.py: none first).
        present(t.name),
        when_tied(t.name),
        present(t.currency),
        when_tied(t.currency),
        t.id,
    )
    not_visit = case((t.action == code(Action.VISIT), 0), else_=1)
    visit_path = case((t.action == code(Action.VISIT), t.path), else_=None)
    picked: list[Any] = []
    for dimension in dimensions:
        if dimension.role is SessionRole.FIRST:
            order: tuple[Any, ...] = first_order
        elif dimension.role is SessionRole.ENTRY:
            order = (not_visit, t.ts, when_tied(t.path))
        else:
            order = (not_visit, t.ts.desc(), when_tied(t.path).desc())
        read = visit_path if dimension.role is not SessionRole.FIRST else t[_column(dimension)]
        value = func.first_value(func.coalesce(read, 0)).over(
            partition_by=partition, order_by=order
        )
        picked.append(value.label(dimension.name))
    valued = select(*partition, t.ts, t.action, *picked).subquery()
    v = valued.c
    passive = [code(action) for action in PASSIVE_ACTIONS]
    return select(
        *(v[name] for name in SESSION_KEY),
        func.count(case((v.action == code(Action.VISIT), 1))).label("views"),
        func.count(case((v.action.not_in(passive), 1))).label("active"),
        (func.max(v.ts) - func.min(v.ts)).label("length"),
        *(func.min(v[d.name]).label(d.name) for d in dimensions),
    ).group_by(*(v[name] for name in SESSION_KEY))


def bounced(s: Any) -> Any:
    return case(((s.views == 1) & (s.active == 0), 1), else_=0)


def _per_session_value(s: Any, dimension: Dimension) -> Any:
    value = s[dimension.name]
    return select(
        s.day,
        literal(CODES[dimension.name]).label("dimension"),
        value.label("value"),
        func.count().label("sessions"),
        func.count(distinct(s.visitor)).label("visitors"),
        func.sum(s.views).label("pageviews"),
        func.sum(bounced(s)).label("bounces"),
        func.sum(s.length).label("duration"),
        literal(0).label("events"),
    ).group_by(s.day, value)


def _per_page(numbered: Any, sessions: Any) -> Any:
    """The page's rows: a session counts under every page it viewed, with its views of it."""
    t, s = numbered.c, sessions.c
    views = (
        select(*(t[name] for name in SESSION_KEY), t.path, func.count().label("views"))
        .where(t.action == code(Action.VISIT))
        .group_by(*(t[name] for name in SESSION_KEY), t.path)
        .subquery()
    )
    w = views.c
    joined = views.join(sessions, and_(*(w[name] == s[name] for name in SESSION_KEY)))
    return (
        select(
            w.day,
            literal(CODES["page"]).label("dimension"),
            w.path.label("value"),
            func.count().label("sessions"),
            func.count(distinct(w.visitor)).label("visitors"),
            func.sum(w.views).label("pageviews"),
            func.sum(bounced(s)).label("bounces"),
            func.sum(s.length).label("duration"),
            literal(0).label("events"),
        )
        .select_from(joined)
        .group_by(w.day, w.path)
    )


def _per_event(numbered: Any, sessions: Any) -> Any:
    """The custom event names' rows: a session counts under every name among its custom
    events, with all its page views (as the domain counts them) and its events of the name."""
    t, s = numbered.c, sessions.c
    # 0: no name (none is stored without one, but the column may hold NULL).
    name = func.coalesce(t.name, 0).label("name")
    done = (
        select(*(t[key] for key in SESSION_KEY), name, func.count().label("times"))
        .where(t.action == code(Action.CUSTOM))
        .group_by(*(t[key] for key in SESSION_KEY), name)
        .subquery()
    )
    d = done.c
    joined = done.join(sessions, and_(*(d[name] == s[name] for name in SESSION_KEY)))
    return (
        select(
            d.day,
            literal(CODES["event"]).label("dimension"),
            d.name.label("value"),
            func.count().label("sessions"),
            func.count(distinct(d.visitor)).label("visitors"),
            func.sum(s.views).label("pageviews"),
            func.sum(bounced(s)).label("bounces"),
            func.sum(s.length).label("duration"),
            func.sum(d.times).label("events"),
        )
        .select_from(joined)
        .group_by(d.day, d.name)
    )


def dimension_rows(where: ColumnElement[bool], project: Any, name: str, tag: str) -> Any:
    """SQL: (day, dimension, value, *SUMS) of the dimension ``name`` over the events
    ``where`` selects, one row per day and value; ``project``: its id (a value or a bound
    parameter), for the texts compared among events at one instant; ``tag``: what makes
    the name of the page's common table expression unique in its statement."""
    dimension = DIMENSIONS[name]
    per_event = dimension.scope in (Scope.EVENT, Scope.CUSTOM)
    columns = [] if per_event else [_column(dimension)]
    if dimension.scope is Scope.CUSTOM:
        # Only the sessions of visitors with a custom event count: the others' events
        # need no numbering (a few percent of a day's events are custom).
        where = where & with_visitors_of(where, _events.c.action == code(Action.CUSTOM))
    numbered = numbered_events(where, columns)
    if per_event:
        numbered = numbered.element.cte(f"numbered_{tag}")
    sessions = session_rows(numbered, project, _session_dimensions([name])).subquery()
    if dimension.scope is Scope.CUSTOM:
        return _per_event(numbered, sessions)
    if dimension.scope is Scope.EVENT:
        return _per_page(numbered, sessions)
    return _per_session_value(sessions.c, dimension)
