"""The overview's sums over projects (domain/reports.py: overview_totals)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from privalytics.domain.models import TimeRange, Totals
from privalytics.domain.reports import overview_totals

BEFORE = TimeRange(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 2, tzinfo=UTC))


counts = st.integers(min_value=0, max_value=10**9)
figures = st.builds(Totals, range=st.just(BEFORE), visits=counts, unique_visitors=counts)


@given(st.lists(st.tuples(figures, st.none() | figures), max_size=8))
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
