"""Sessions ("visits" on the dashboard): what one visitor did in one sitting.

A session is one visitor hash's run of events in one project, in time order, in which no
event comes more than :data:`SESSION_GAP` (30 minutes) after the one before it. A gap of
exactly 30 minutes keeps the session going; a gap of 30 minutes and a microsecond starts
a new one. (Plausible compares whole minutes, so there a gap up to 30:59 still joins.)

Two more boundaries end a session whatever the gap:

- **A salt window.** The visitor hash changes with the salt, so the same person is another
  hash in the next window, and grouping by hash never joins across windows.
- **A UTC midnight.** An event on a later UTC day than the one before it starts a new
  session. With the default daily salt (windows start at UTC midnight) this is the same
  boundary as the salt's; with longer salt windows it keeps every per-day figure exact:
  a day's sessions, bounce rate and durations depend on that day's events only, so daily
  rollups add up to any range without a session counted on two days.

Sessions are a pure function of the *multiset* of events: events are ordered by visitor,
then time, then (for events at the same instant) by action, path and the remaining
fields, so the order in which they arrived never changes a session, its entry and exit
pages or its first event.

A session *bounced* when it has exactly one page view and no interaction. Interactions are
every action but a visit and a scroll: clicks, downloads, shares and custom events (as
Plausible's "interactive" events). A scroll is not an interaction: as in Plausible, where
every event un-bounces a session except its "engagement" and "pageleave" events (scroll
depth and time on page), which only keep the session alive.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import msgspec

from privalytics.domain.models import Action, Event

SESSION_GAP = timedelta(minutes=30)

# Actions that neither are an interaction nor end a bounce: what a visitor does by
# reading. Everything else (and every action added later) is an interaction.
PASSIVE_ACTIONS = frozenset({Action.VISIT, Action.SCROLL})
# Events at the same instant: a page's view before what was done on it.
_ACTION_ORDER = {action: rank for rank, action in enumerate(Action)}


class Session(msgspec.Struct, frozen=True, kw_only=True):
    project_id: str
    visitor_hash: str
    # The first and the last event's timestamps.
    start: datetime
    end: datetime
    # Visit events.
    pageviews: int
    # Events of every action.
    events: int
    # Events other than visits and scrolls (:data:`PASSIVE_ACTIONS`).
    interactive: int
    # The path of the first and of the last visit; None when the session has no visit.
    entry_page: str | None
    exit_page: str | None
    # The paths of its visits, in order (a page filter selects among them).
    paths: tuple[str, ...]
    # The session's first event (its source and campaign are that event's).
    first: Event
    # Its custom events, in order (the event and property dimensions select among them).
    custom: tuple[Event, ...] = ()
    # Every event of the session, in order (goals look for conversions among them).
    run: tuple[Event, ...] = ()

    @property
    def bounced(self) -> bool:
        """Exactly one page view and no interaction."""
        return self.pageviews == 1 and self.interactive == 0

    @property
    def duration(self) -> float:
        """Seconds from the first event to the last (0 for a single event)."""
        return (self.end - self.start).total_seconds()


def _order(event: Event) -> tuple[object, ...]:
    """A total order of events: by visitor, then time, then every other field, so that
    events at the same instant come in one order whatever order they arrived in."""
    return (
        event.project_id,
        event.visitor_hash,
        event.timestamp,
        _ACTION_ORDER[event.action],
        event.path,
        event.referrer is not None,
        event.referrer or "",
        event.target is not None,
        event.target or "",
        # repr: a total order for floats too (NaN included); only its being total matters.
        repr(event.value),
        sorted(event.props.items()),
        event.name or "",
        event.currency or "",
    )


# The same order for other modules (funnels break ties by it).
event_order = _order


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _session(run: list[Event]) -> Session:
    first, last = run[0], run[-1]
    visits = [event.path for event in run if event.action is Action.VISIT]
    return Session(
        project_id=first.project_id,
        visitor_hash=first.visitor_hash,
        start=first.timestamp,
        end=last.timestamp,
        pageviews=len(visits),
        events=len(run),
        interactive=sum(1 for event in run if event.action not in PASSIVE_ACTIONS),
        entry_page=visits[0] if visits else None,
        exit_page=visits[-1] if visits else None,
        paths=tuple(visits),
        first=first,
        custom=tuple(event for event in run if event.action is Action.CUSTOM),
        run=tuple(run),
    )


def _continues(previous: Event, event: Event) -> bool:
    """Whether ``event`` (ordered right after ``previous``) belongs to its session."""
    return (
        event.visitor_hash == previous.visitor_hash
        and event.project_id == previous.project_id
        and event.timestamp - previous.timestamp <= SESSION_GAP
        and _day(event.timestamp) == _day(previous.timestamp)
    )


def sessionize(events: Iterable[Event]) -> list[Session]:
    """The sessions of ``events`` (any order, any mix of projects and visitors), ordered by
    start, then project, then visitor hash. Every event is in exactly one session.

    Timestamps must be timezone-aware, as everywhere in the domain.
    """
    ordered = sorted(events, key=_order)
    sessions: list[Session] = []
    run: list[Event] = []
    for event in ordered:
        if run and not _continues(run[-1], event):
            sessions.append(_session(run))
            run = []
        run.append(event)
    if run:
        sessions.append(_session(run))
    sessions.sort(key=lambda s: (s.start, s.project_id, s.visitor_hash))
    return sessions


class SessionTotals(msgspec.Struct, frozen=True, kw_only=True):
    """The additive parts of the session figures: totals of days (or of any disjoint sets
    of sessions) add up to the totals of their union, so figures are computed once, from
    the sums, and rounded only at the end."""

    sessions: int = 0
    pageviews: int = 0
    bounces: int = 0
    # The sum of the sessions' durations, exact (whole microseconds).
    duration: timedelta = timedelta()

    def __add__(self, other: SessionTotals) -> SessionTotals:
        return SessionTotals(
            sessions=self.sessions + other.sessions,
            pageviews=self.pageviews + other.pageviews,
            bounces=self.bounces + other.bounces,
            duration=self.duration + other.duration,
        )


def totals_of(sessions: Iterable[Session]) -> SessionTotals:
    count = pageviews = bounces = 0
    duration = timedelta()
    for session in sessions:
        count += 1
        pageviews += session.pageviews
        bounces += session.bounced
        duration += session.end - session.start
    return SessionTotals(sessions=count, pageviews=pageviews, bounces=bounces, duration=duration)


class SessionFigures(msgspec.Struct, frozen=True, kw_only=True):
    """The session figures the API and the dashboard report, rounded as Plausible rounds
    them: views per session to two decimals, bounce rate to a whole percent, visit
    duration to whole seconds (each from the exact sums, to the nearest, halves to even).

    With no session the three ratios are None, not 0: a 0 % bounce rate or a 0 s visit is
    a real figure, and "no visits" must not read as one. (Plausible shows 0 there.)
    """

    sessions: int
    # Visit events of the sessions.
    pageviews: int
    views_per_session: float | None
    # Percent of sessions that bounced.
    bounce_rate: int | None
    # Mean seconds from a session's first event to its last.
    visit_duration: int | None


_MICROSECOND = timedelta(microseconds=1)


def figures_of(totals: SessionTotals) -> SessionFigures:
    """The reported figures of ``totals``."""
    if not totals.sessions:
        return SessionFigures(
            sessions=0,
            pageviews=totals.pageviews,
            views_per_session=None,
            bounce_rate=None,
            visit_duration=None,
        )
    views = Fraction(totals.pageviews, totals.sessions)
    micros = totals.duration // _MICROSECOND
    return SessionFigures(
        sessions=totals.sessions,
        pageviews=totals.pageviews,
        views_per_session=float(round(views, 2)),
        bounce_rate=round(Fraction(100 * totals.bounces, totals.sessions)),
        visit_duration=round(Fraction(micros, 1_000_000 * totals.sessions)),
    )


def summarize(sessions: Iterable[Session]) -> SessionFigures:
    """The reported figures of ``sessions``."""
    return figures_of(totals_of(sessions))
