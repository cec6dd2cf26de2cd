"""The figures straight from the events: the definition every store must equal.

These hold between the reference computation's own answers (a breakdown row is the
figures under that row's filter, is and is-not split the sessions, rows add up), and one
worked example pins the numbers themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings

from privalytics.domain.dimensions import DIMENSIONS, Scope, dimension
from privalytics.domain.filters import Filter, Op
from privalytics.domain.insight import breakdown, figures
from privalytics.domain.models import Action, Event
from privalytics.domain.sessions import sessionize
from tests.strategies import insight_events, insight_filters

DAILY = timedelta(days=1)


def _filter(drawn: tuple[str, Op, str]) -> Filter:
    name, op, value = drawn
    return Filter(dimension=name, op=op, value=value or ("e" if op is Op.CONTAINS else ""))


@given(insight_events)
def test_without_filters_the_figures_count_every_session_and_page_view(
    events: list[Event],
) -> None:
    found = figures(events, (), DAILY)
    sessions = sessionize(events)
    assert found.totals.sessions == len(sessions)
    assert found.totals.pageviews == sum(e.action is Action.VISIT for e in events)
    assert found.totals.bounces == sum(s.bounced for s in sessions)
    # A hash is a visitor per salt window (here a UTC day); sessions never cross one.
    assert found.visitors == len(
        {(s.start.astimezone(UTC).date(), s.visitor_hash) for s in sessions}
    )


@settings(max_examples=200)
@given(insight_events, insight_filters, insight_filters)
def test_a_breakdown_row_is_the_figures_under_its_own_filter(
    events: list[Event], first: tuple[str, Op, str], second: tuple[str, Op, str]
) -> None:
    filters = (_filter(first),)
    name = second[0]
    chosen = dimension(name)
    assert chosen is not None
    for row in breakdown(events, chosen, filters, DAILY):
        own = Filter(dimension=name, op=Op.IS, value=row.value or "")
        assert row.figures == figures(events, (*filters, own), DAILY), (name, row.value)


@given(insight_events, insight_filters)
def test_is_and_is_not_split_the_sessions_of_a_session_dimension(
    events: list[Event], drawn: tuple[str, Op, str]
) -> None:
    name, _, value = drawn
    if name not in DIMENSIONS or DIMENSIONS[name].scope is not Scope.SESSION:
        return
    whole = figures(events, (), DAILY).totals
    is_ = figures(events, (Filter(dimension=name, op=Op.IS, value=value),), DAILY).totals
    not_ = figures(events, (Filter(dimension=name, op=Op.IS_NOT, value=value),), DAILY).totals
    assert is_ + not_ == whole


@given(insight_events, insight_filters, insight_filters)
def test_the_rows_of_a_session_breakdown_add_up_to_the_figures(
    events: list[Event], drawn: tuple[str, Op, str], by: tuple[str, Op, str]
) -> None:
    if by[0] not in DIMENSIONS:
        return
    dimension = DIMENSIONS[by[0]]
    if dimension.scope is not Scope.SESSION:
        return
    filters = (_filter(drawn),)
    rows = breakdown(events, dimension, filters, DAILY)
    whole = figures(events, filters, DAILY)
    assert sum((row.figures.totals for row in rows), type(whole.totals)()) == whole.totals
    ranked = [(-r.figures.visitors, -r.figures.totals.pageviews) for r in rows]
    assert ranked == sorted(ranked)


def _at(minute: int, visitor: str, action: Action = Action.VISIT, **fields: str) -> Event:
    path = fields.pop("path", "/")
    return Event(
        project_id="p",
        action=action,
        path=path,
        timestamp=datetime(2026, 12, 1, 9, tzinfo=UTC) + timedelta(minutes=minute),
        visitor_hash=visitor,
        **fields,
    )


# Three visitors on one day:
# - a: from Google, views / and /pricing (10 minutes apart), then 40 minutes later comes
#   back directly and views /pricing once: two sessions, the second a bounce;
# - b: from Google, views / and clicks: one session, not a bounce (the click);
# - c: direct, views /pricing and scrolls: one session, a bounce (a scroll is no interaction).
EXAMPLE = [
    _at(0, "a", source="Google", browser="Firefox"),
    _at(10, "a", path="/pricing"),
    _at(50, "a", path="/pricing", browser="Firefox"),
    _at(5, "b", source="Google", browser="Chrome"),
    _at(6, "b", Action.CLICK),
    _at(20, "c", path="/pricing", browser="Chrome"),
    _at(21, "c", Action.SCROLL, path="/pricing"),
]


def test_a_worked_example() -> None:
    whole = figures(EXAMPLE, (), DAILY)
    assert whole.visitors == 3
    assert whole.reported.sessions == 4
    assert whole.reported.pageviews == 5
    assert whole.reported.bounce_rate == 50  # a's second session and c's
    # 600 s + 0 + 60 s + 60 s over four sessions.
    assert whole.reported.visit_duration == 180
    assert whole.reported.views_per_session == 1.25

    google = figures(EXAMPLE, (Filter(dimension="source", op=Op.IS, value="Google"),), DAILY)
    assert (google.visitors, google.totals.sessions, google.totals.pageviews) == (2, 2, 3)
    assert google.reported.bounce_rate == 0

    direct = figures(EXAMPLE, (Filter(dimension="source", op=Op.IS, value=""),), DAILY)
    assert (direct.visitors, direct.totals.sessions, direct.totals.pageviews) == (2, 2, 2)

    pages = {r.value: r.figures for r in breakdown(EXAMPLE, DIMENSIONS["page"], (), DAILY)}
    assert list(pages) == ["/pricing", "/"]  # 2 visitors each, /pricing has more views
    assert (pages["/pricing"].visitors, pages["/pricing"].totals.pageviews) == (2, 3)
    assert pages["/pricing"].totals.sessions == 3
    assert (pages["/"].visitors, pages["/"].totals.pageviews) == (2, 2)

    entries = [r.value for r in breakdown(EXAMPLE, DIMENSIONS["entry_page"], (), DAILY)]
    assert entries == ["/", "/pricing"]
    exits = {
        r.value: r.figures.totals.sessions
        for r in breakdown(EXAMPLE, DIMENSIONS["exit_page"], (), DAILY)
    }
    assert exits == {"/pricing": 3, "/": 1}

    # Under a page filter only the matching page views count, and only the sessions
    # that hold one.
    pricing = figures(EXAMPLE, (Filter(dimension="page", op=Op.IS, value="/pricing"),), DAILY)
    assert (pricing.visitors, pricing.totals.sessions, pricing.totals.pageviews) == (2, 3, 3)

    browsers = {
        r.value: r.figures.visitors for r in breakdown(EXAMPLE, DIMENSIONS["browser"], (), DAILY)
    }
    # a's second session started with an event that names Firefox too; b and c: Chrome.
    assert browsers == {"Chrome": 2, "Firefox": 1}
