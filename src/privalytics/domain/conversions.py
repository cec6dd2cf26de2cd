"""The figures of goals over a range: conversions, conversion rate and revenue.

For each goal of a project (:mod:`privalytics.domain.goals`), over a range and filters:

- ``visitors`` (unique conversions): the visitors who converted it at least once, counted
  per salt window and summed, as every visitor count;
- ``conversions`` (total conversions): the events that converted it;
- ``conversion_rate``: ``visitors`` in percent of the range's visitors under the same
  filters, to two decimals (None when the range has no visitor);
- ``revenue``: for an event goal whose custom events carry revenue, per currency the
  total of their amounts and the average per conversion with revenue in that currency.

:func:`goal_figures` is the definition, from a list of events, composed of the reference
computation (:func:`privalytics.domain.insight.breakdown` by the resolved goal dimension,
:func:`privalytics.domain.insight.figures`) and :func:`revenue` over the selected events;
the reporting use case composes the same from any store's answers to those reads.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from fractions import Fraction

import msgspec

from privalytics.domain.activity import selected_events
from privalytics.domain.dimensions import Dimension, Scope
from privalytics.domain.filters import Filter
from privalytics.domain.goals import Goal, GoalKind, goal_dimension
from privalytics.domain.insight import Row, breakdown, figures
from privalytics.domain.models import Event, TimeRange


class Revenue(msgspec.Struct, frozen=True, kw_only=True):
    """A goal's revenue in one currency."""

    currency: str
    # The sum of the amounts (exactly rounded, whatever the events' order).
    total: float
    # ``total`` over the conversions with revenue in this currency.
    average: float
    conversions: int


class GoalFigures(msgspec.Struct, frozen=True, kw_only=True):
    goal: Goal
    visitors: int
    conversions: int
    conversion_rate: float | None
    revenue: list[Revenue] = msgspec.field(default_factory=list)


class GoalReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every goal of a project over a range, in the order they were made."""

    range: TimeRange
    # The filters it honours, as written.
    filters: tuple[str, ...]
    # The range's visitors under the filters: what the rates are shares of.
    visitors: int
    goals: list[GoalFigures]


def rate(converted: int, visitors: int) -> float | None:
    """``converted`` in percent of ``visitors``, to two decimals (halves to even)."""
    if not visitors:
        return None
    return float(round(Fraction(100 * converted, visitors), 2))


def revenue(
    events: Iterable[Event], goals: Dimension, filters: Sequence[Filter]
) -> dict[str, list[Revenue]]:
    """Per goal name, the revenue of its conversions among ``events`` (selected events)
    that the goal filters select, by currency (in code order)."""
    tests = [f for f in filters if f.scope is Scope.GOAL]
    amounts: dict[tuple[str, str], list[float]] = defaultdict(list)
    for event in events:
        if event.currency is None or event.value is None:
            continue
        for name in goals.convert(event):
            if all(f.matches(name) for f in tests):
                amounts[name, event.currency].append(event.value)
    found: dict[str, list[Revenue]] = defaultdict(list)
    for (name, currency), values in sorted(amounts.items()):
        total = math.fsum(values)
        found[name].append(
            Revenue(
                currency=currency,
                total=total,
                average=total / len(values),
                conversions=len(values),
            )
        )
    return dict(found)


def report(
    goals: Sequence[Goal],
    rows: Sequence[Row],
    visitors: int,
    revenues: dict[str, list[Revenue]],
) -> list[GoalFigures]:
    """Each goal's figures from a breakdown by its goal dimension (``rows``), the range's
    ``visitors`` and :func:`revenue`."""
    by_name = {row.value: row for row in rows}
    made: list[GoalFigures] = []
    for goal in goals:
        row = by_name.get(goal.name)
        converted = 0 if row is None else row.figures.visitors
        made.append(
            GoalFigures(
                goal=goal,
                visitors=converted,
                conversions=0 if row is None else row.events or 0,
                conversion_rate=rate(converted, visitors),
                revenue=revenues.get(goal.name, []) if goal.kind is GoalKind.EVENT else [],
            )
        )
    return made


def needs_revenue(goals: Sequence[Goal]) -> bool:
    """Whether any goal may have revenue (only custom events carry it)."""
    return any(goal.kind is GoalKind.EVENT for goal in goals)


def goal_figures(
    events: Sequence[Event], goals: Sequence[Goal], filters: Sequence[Filter], rotation: timedelta
) -> list[GoalFigures]:
    """The figures of ``goals`` over ``events`` under ``filters`` (resolved against the
    same goals): the definition every store's answer is held to."""
    dimension = goal_dimension(tuple(goals))
    rows = breakdown(events, dimension, filters, rotation)
    visitors = figures(events, filters, rotation).visitors
    selected = selected_events(events, filters, rotation) if needs_revenue(goals) else []
    return report(goals, rows, visitors, revenue(selected, dimension, filters))
