"""The project page's Goals panel: each goal with its conversions, a link that filters the
page by it, and the settings page's list of goals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from privalytics.adapters.http.dashboard.panels import Address
from privalytics.adapters.http.dashboard.views import bar
from privalytics.domain.conversions import GoalFigures
from privalytics.domain.filters import Filter, Op
from privalytics.domain.goals import Goal, GoalKind


@dataclass(frozen=True)
class GoalRow:
    label: str
    visitors: int
    conversions: int
    # "12.5%", or a dash without visitors in the range.
    rate: str
    # "EUR 120.00" per currency; empty for page and scroll goals.
    revenue: str
    width: int
    href: str | None


def definition(goal: Goal) -> str:
    """A goal's definition in words."""
    if goal.kind is GoalKind.EVENT:
        return f"Custom event {goal.event}"
    if goal.kind is GoalKind.SCROLL:
        return f"Scroll {goal.depth}% on {goal.page}"
    return f"Page view of {goal.page}"


def goal_rows(address: Address, goals: Sequence[GoalFigures]) -> list[GoalRow]:
    """The goals, most converting visitors first, each a link filtering by it."""
    largest = max((g.visitors for g in goals), default=0)
    ranked = sorted(goals, key=lambda g: (-g.visitors, -g.conversions, g.goal.name))
    rows = []
    for figures in ranked:
        wanted = Filter(dimension="goal", op=Op.IS, value=figures.goal.name)
        rate = figures.conversion_rate
        rows.append(
            GoalRow(
                label=figures.goal.name,
                visitors=figures.visitors,
                conversions=figures.conversions,
                rate="\u2013" if rate is None else f"{rate:g}%",
                revenue=", ".join(f"{r.currency} {r.total:,.2f}" for r in figures.revenue),
                width=bar(figures.visitors, largest),
                href=address.href(add=wanted) if address.can_add(wanted) else None,
            )
        )
    return rows
