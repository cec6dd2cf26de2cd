"""The overview's sums over projects (domain/reports.py: overview_totals)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from privalytics.domain.models import Totals
from privalytics.domain.reports import overview_totals
from tests import strategies


@given(st.lists(strategies.figures, max_size=8))
def test_visits_visitors_and_previous_visits_add_up_across_projects(
    projects: list[tuple[Totals, Totals | None]],
) -> None:
    """Unique visitors add up too: a visitor's hash includes the project, so a person on
    two sites is a visitor of each; a project without a previous range adds nothing."""
    totals = overview_totals(projects)
    assert totals.visits == sum(now.visits for now, _ in projects)
    assert totals.unique_visitors == sum(now.unique_visitors for now, _ in projects)
    assert totals.previous_visits == sum(before.visits for _, before in projects if before)


def test_no_project_is_all_zeros() -> None:
    totals = overview_totals([])
    assert (totals.visits, totals.unique_visitors, totals.previous_visits) == (0, 0, 0)
