"""Goals: their definitions, which events convert them, and their figures, held to a
brute-force definition that does not go through sessions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given

from privalytics.adapters.memory import InMemoryEventStore, InMemoryGoalStore, InMemoryTokenStore
from privalytics.domain.conversions import goal_figures, rate
from privalytics.domain.dimensions import Dimension, Scope
from privalytics.domain.errors import InvalidInput
from privalytics.domain.filters import Filter, Op, parse_filter
from privalytics.domain.goals import (
    MAX_GOAL_NAME,
    Goal,
    GoalKind,
    GoalSpec,
    check_goal,
    converts,
    goal_dimension,
    matches_pattern,
)
from privalytics.domain.hashing import window_of
from privalytics.domain.insight import Row, breakdown
from privalytics.domain.models import Action, Event, Project, RateLimit, TimeRange
from privalytics.domain.reporting import Reporting
from privalytics.testing import ManualClock
from tests import strategies

DAILY = timedelta(days=1)
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _goal(spec: GoalSpec, number: int = 0) -> Goal:
    kind, checked = check_goal(spec)
    assert checked.name is not None
    return Goal(
        id=f"{number:016x}",
        project_id="p",
        name=checked.name,
        kind=kind,
        page=checked.page,
        event=checked.event,
        depth=checked.depth,
        created_at=NOON,
    )


def _event(action: Action, path: str = "/", **fields: object) -> Event:
    return Event(
        project_id="p",
        action=action,
        path=path,
        timestamp=fields.pop("timestamp", NOON),  # type: ignore[arg-type]
        visitor_hash=str(fields.pop("visitor", "0000000000000001")),
        **fields,  # type: ignore[arg-type]
    )


def _matches(pattern: str, path: str) -> bool:
    """The pattern language, by recursion on both texts: ``**`` any run, ``*`` any run
    without ``/``, everything else itself."""
    if not pattern:
        return not path
    if pattern.startswith("**"):
        rest = pattern[2:]
        return any(_matches(rest, path[i:]) for i in range(len(path) + 1))
    if pattern[0] == "*":
        rest = pattern[1:]
        run = 0
        while run < len(path) and path[run] != "/":
            run += 1
        return any(_matches(rest, path[i:]) for i in range(run + 1))
    return bool(path) and path[0] == pattern[0] and _matches(pattern[1:], path[1:])


@given(strategies.pattern_texts, strategies.matched_paths)
def test_a_pattern_matches_as_its_definition_says(pattern: str, path: str) -> None:
    assert (matches_pattern(pattern, path)) == _matches(pattern, path)


@pytest.mark.parametrize(
    ("pattern", "path", "matched"),
    [
        ("/blog/*", "/blog/a", True),
        ("/blog/*", "/blog/a/b", False),
        ("/blog/*", "/blog/", True),
        ("/blog/**", "/blog/a/b", True),
        ("/blog/**", "/blogs", False),
        ("/a.html", "/aXhtml", False),
        ("/pricing", "/pricing/", False),
        ("/*/edit", "/x/edit", True),
    ],
)
def test_patterns(pattern: str, path: str, matched: bool) -> None:
    assert (matches_pattern(pattern, path)) is matched


def test_a_pattern_with_many_wildcards_takes_no_exponential_time() -> None:
    """A backtracking regular expression would not finish this in a lifetime."""
    pattern = "/" + "**a" * 40 + "b"
    assert not matches_pattern(pattern, "/" + "a" * 2000)
    assert matches_pattern(pattern, "/" + "a" * 2000 + "b")
    assert not matches_pattern("/" + "*a" * 40 + "b", "/" + "a" * 2000)


def test_each_kind_converts_its_own_events_only() -> None:
    page = _goal(GoalSpec(page="/pricing"))
    event = _goal(GoalSpec(event="Signup"))
    scroll = _goal(GoalSpec(page="/blog/**", depth=75))
    assert converts(page, _event(Action.VISIT, "/pricing"))
    assert not converts(page, _event(Action.CLICK, "/pricing"))
    assert not converts(page, _event(Action.VISIT, "/pricing/x"))
    assert converts(event, _event(Action.CUSTOM, name="Signup"))
    assert not converts(event, _event(Action.CUSTOM, name="signup"))
    assert not converts(event, _event(Action.VISIT, "/Signup"))
    assert converts(scroll, _event(Action.SCROLL, "/blog/a", value=75.0))
    assert converts(scroll, _event(Action.SCROLL, "/blog/a/b", value=100.0))
    assert not converts(scroll, _event(Action.SCROLL, "/blog/a", value=74.9))
    assert not converts(scroll, _event(Action.SCROLL, "/blog/a"))
    assert not converts(scroll, _event(Action.VISIT, "/blog/a"))


def test_names_are_derived_when_none_is_given() -> None:
    assert check_goal(GoalSpec(page=" /pricing "))[1].name == "Visit /pricing"
    assert check_goal(GoalSpec(event="Signup")) == (
        GoalKind.EVENT,
        GoalSpec(event="Signup", name="Signup"),
    )
    assert check_goal(GoalSpec(page="/b/**", depth=75))[1].name == "Scroll 75% on /b/**"
    assert check_goal(GoalSpec(page="/", name=" Home ")) == (
        GoalKind.PAGE,
        GoalSpec(page="/", name="Home"),
    )
    long = check_goal(GoalSpec(page="/" + "a" * 300))[1].name
    assert long is not None
    assert len(long) == MAX_GOAL_NAME


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (GoalSpec(), "page", "either page"),
        (GoalSpec(page="/", event="x"), "page", "either page"),
        (GoalSpec(page="pricing"), "page", "starts with /"),
        (GoalSpec(page="/", depth=0), "depth", "1 to 100"),
        (GoalSpec(page="/", depth=101), "depth", "1 to 100"),
        (GoalSpec(event="x", depth=5), "depth", "only a scroll goal"),
        (GoalSpec(event="  "), "event", "must not be empty"),
        (GoalSpec(event="a" * 121), "event", "longer than 120"),
        (GoalSpec(event="Click"), "event", "built-in action (click)"),
        (GoalSpec(page="/", name=" "), "name", "must not be empty"),
        (GoalSpec(page="/", name="a" * 121), "name", "longer than 120"),
        (GoalSpec(page="/", name="a\x1bb"), "name", "control character"),
        (GoalSpec(page="/\u202e"), "page", "bidirectional"),
        (GoalSpec(page="/" + "a" * 2048), "page", "longer than 2048"),
    ],
)
def test_a_malformed_goal_is_refused_naming_the_field(
    spec: GoalSpec, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_goal(spec)
    assert caught.value.field == field
    assert words in caught.value.message


def test_an_unresolved_goal_filter_selects_nothing() -> None:
    flt = parse_filter("goal==Visit /")
    assert flt.of.convert(_event(Action.VISIT)) == ()
    goals = (_goal(GoalSpec(page="/")),)
    resolved = msgspec.structs.replace(flt, goals=goals)
    assert resolved.of is goal_dimension(goals)
    assert resolved.of.convert(_event(Action.VISIT)) == ("Visit /",)
    assert str(resolved) == "goal==Visit /"


def _brute(
    events: list[Event], goals: tuple[Goal, ...], only: str | None = None
) -> list[tuple[int, int, float | None, list[tuple[str, float, float, int]]]]:
    """Per goal: visitors who converted (per salt window), conversions, the rate among
    every visitor (those who converted ``only``, when given), and revenue by currency."""

    def visitor(event: Event) -> tuple[int, str]:
        return window_of(event.timestamp, DAILY), event.visitor_hash

    if only is None:
        everyone = {visitor(e) for e in events}
    else:
        chosen = next((g for g in goals if g.name == only), None)
        everyone = {visitor(e) for e in events if chosen is not None and converts(chosen, e)}
    found = []
    for goal in goals:
        done = [e for e in events if converts(goal, e) and only in (None, goal.name)]
        people = {visitor(e) for e in done}
        rate = float(round(Fraction(100 * len(people), len(everyone)), 2)) if everyone else None
        money: dict[str, list[float]] = {}
        for e in done:
            if e.currency is not None and e.value is not None:
                money.setdefault(e.currency, []).append(e.value)
        revenue = [
            (currency, math.fsum(v), math.fsum(v) / len(v), len(v))
            for currency, v in sorted(money.items())
        ]
        found.append((len(people), len(done), rate, revenue))
    return found


def _figures(
    events: list[Event], goals: tuple[Goal, ...], filters: tuple[Filter, ...] = ()
) -> list[tuple[int, int, float | None, list[tuple[str, float, float, int]]]]:
    return [
        (
            f.visitors,
            f.conversions,
            f.conversion_rate,
            [(r.currency, r.total, r.average, r.conversions) for r in f.revenue],
        )
        for f in goal_figures(events, goals, filters, DAILY)
    ]


@given(strategies.insight_events, strategies.goal_sets())
def test_goal_figures_equal_their_brute_force_definition(
    events: list[Event], goals: tuple[Goal, ...]
) -> None:
    assert _figures(events, goals) == _brute(events, goals)


@given(strategies.insight_events, strategies.goal_sets())
def test_a_goal_filter_selects_the_visitors_who_converted_it(
    events: list[Event], goals: tuple[Goal, ...]
) -> None:
    for goal in goals:
        flt = Filter(dimension="goal", op=Op.IS, value=goal.name, goals=goals)
        assert _figures(events, goals, (flt,)) == _brute(events, goals, only=goal.name)


@given(strategies.insight_events, strategies.goal_sets())
def test_a_breakdown_by_goal_counts_each_goals_conversions(
    events: list[Event], goals: tuple[Goal, ...]
) -> None:
    rows = {row.value: row for row in breakdown(events, goal_dimension(goals), (), DAILY)}
    for goal, (visitors, conversions, _, _) in zip(goals, _brute(events, goals), strict=True):
        if conversions:
            assert rows[goal.name].figures.visitors == visitors
            assert rows[goal.name].events == conversions
        else:
            assert goal.name not in rows
    assert set(rows) <= {goal.name for goal in goals}


def test_revenue_is_summed_per_currency_and_averaged_per_conversion() -> None:
    goals = (_goal(GoalSpec(event="Purchase")),)
    events = [
        _event(Action.CUSTOM, name="Purchase", value=10.0, currency="EUR"),
        _event(Action.CUSTOM, name="Purchase", value=20.5, currency="EUR", visitor="2" * 16),
        _event(Action.CUSTOM, name="Purchase", value=5.0, currency="USD"),
        _event(Action.CUSTOM, name="Purchase"),
    ]
    (figures,) = goal_figures(events, goals, (), DAILY)
    assert figures.visitors == 2
    assert figures.conversions == 4
    assert figures.conversion_rate == 100.0
    assert [(r.currency, r.total, r.average, r.conversions) for r in figures.revenue] == [
        ("EUR", 30.5, 15.25, 2),
        ("USD", 5.0, 5.0, 1),
    ]


def test_a_rate_is_a_percentage_to_two_decimals_and_none_without_visitors() -> None:
    assert rate(1, 3) == 33.33
    assert rate(2, 3) == 66.67
    assert rate(0, 0) is None


class _NoGoalReads(InMemoryEventStore):
    """An event store that refuses to compute goal figures."""

    async def breakdown(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
        limit: int | None,
    ) -> list[Row]:
        assert dimension.scope is not Scope.GOAL, "goal figures read without goals"
        return await super().breakdown(project_id, span, dimension, filters, limit)


async def test_without_goals_nothing_reads_the_events_for_goal_figures() -> None:
    tokens = InMemoryTokenStore()
    tokens.projects["p"] = Project(
        id="p", name="p", rate_limit=RateLimit(events=1, period_seconds=1), created_at=NOON
    )
    events = _NoGoalReads()
    events.events.append(_event(Action.VISIT))
    reporting = Reporting(
        events=events, tokens=tokens, clock=ManualClock(NOON), goals=InMemoryGoalStore()
    )
    span = TimeRange(start=NOON - DAILY, end=NOON + DAILY)
    report = await reporting.goal_report("p", span)
    assert (report.visitors, report.goals) == (1, [])
    assert (await reporting.breakdown("p", span, "goal")).rows == []
