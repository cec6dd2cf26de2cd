"""The session figures the API reports: sums that add up, ratios rounded as Plausible
rounds them, from the exact sums."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given

from privalytics.domain.models import Action, Event
from privalytics.domain.sessions import (
    SessionFigures,
    SessionTotals,
    figures_of,
    sessionize,
    summarize,
    totals_of,
)
from tests.strategies import event_mixes, mixes_in_two


def _totals(sessions: int, pageviews: int, bounces: int, seconds: float) -> SessionTotals:
    return SessionTotals(
        sessions=sessions,
        pageviews=pageviews,
        bounces=bounces,
        duration=timedelta(seconds=seconds),
    )


def _figures(
    sessions: int, pageviews: int, views: float, bounce_rate: int, duration: int
) -> SessionFigures:
    return SessionFigures(
        sessions=sessions,
        pageviews=pageviews,
        views_per_session=views,
        bounce_rate=bounce_rate,
        visit_duration=duration,
    )


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        (_totals(1, 1, 1, 0), _figures(1, 1, 1.0, 100, 0)),
        # 1/8 = 12.5 %: halves go to the even neighbour; so does 37.5 % (3/8).
        (_totals(8, 10, 1, 4), _figures(8, 10, 1.25, 12, 0)),
        (_totals(8, 10, 3, 12), _figures(8, 10, 1.25, 38, 2)),
        (_totals(3, 2, 2, 100), _figures(3, 2, 0.67, 67, 33)),
        # Exact, not a float's rounding: a mean of 0.5 s is 0, 2.5 s is 2, a microsecond
        # more is 3.
        (_totals(2, 2, 0, 1), _figures(2, 2, 1.0, 0, 0)),
        (_totals(2, 2, 0, 5), _figures(2, 2, 1.0, 0, 2)),
        (_totals(2, 2, 0, 5.000002), _figures(2, 2, 1.0, 0, 3)),
        # Sums past a float's 53 bits: a mean of 2.5 s and 1 µs in 10^10 sessions is 3.
        (
            SessionTotals(
                sessions=10**10,
                pageviews=10**10,
                bounces=0,
                duration=timedelta(seconds=25 * 10**9, microseconds=1),
            ),
            _figures(10**10, 10**10, 1.0, 0, 3),
        ),
        # 1/200 of a view is half a hundredth: to the even hundredth.
        (_totals(200, 201, 0, 0), _figures(200, 201, 1.0, 0, 0)),
        (_totals(200, 203, 0, 0), _figures(200, 203, 1.02, 0, 0)),
    ],
)
def test_figures_round_as_plausible_from_the_exact_sums(
    totals: SessionTotals, expected: SessionFigures
) -> None:
    assert figures_of(totals) == expected


def test_no_sessions_have_no_ratios() -> None:
    assert summarize([]) == SessionFigures(
        sessions=0, pageviews=0, views_per_session=None, bounce_rate=None, visit_duration=None
    )


@given(mixes_in_two)
def test_totals_of_two_sets_of_sessions_add_up_to_the_totals_of_both(
    parts: tuple[list[Event], list[Event]],
) -> None:
    one, other = map(sessionize, parts)
    assert totals_of(one) + totals_of(other) == totals_of(one + other)


@given(event_mixes())
def test_figures_are_the_rounded_ratios_of_the_sessions(events: list[Event]) -> None:
    sessions = sessionize(events)
    found = summarize(sessions)
    assert found.sessions == len(sessions)
    assert found.pageviews == sum(e.action is Action.VISIT for e in events)
    if not sessions:
        assert found.bounce_rate is found.views_per_session is found.visit_duration is None
        return
    bounces = sum(s.bounced for s in sessions)
    mean = sum(s.duration for s in sessions) / len(sessions)
    assert found.bounce_rate is not None
    assert found.visit_duration is not None
    assert found.views_per_session is not None
    assert abs(found.bounce_rate - 100 * bounces / len(sessions)) <= 0.5 + 1e-9
    assert abs(found.visit_duration - mean) <= 0.5 + 1e-6
    assert abs(found.views_per_session - found.pageviews / len(sessions)) <= 0.005 + 1e-9
