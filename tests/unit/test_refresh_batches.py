"""How the rollup refresh groups stale days into transactions (adapters/sqlalchemy/
refresh.py): at most the batch's days and, but for a first day bigger than it alone, at
most the event budget, whatever the batch grew to over smaller days before."""

from __future__ import annotations

from privalytics.adapters.sqlalchemy.refresh import _next_batch

DAYS = [10, 11, 12, 13, 14]
COUNTS = {10: 400, 11: 500, 12: 90_000, 13: 300, 14: 200}


def test_small_days_go_together_up_to_the_event_budget() -> None:
    assert _next_batch(DAYS, COUNTS, 64, 1_000) == [10, 11]


def test_a_day_over_the_budget_goes_alone_even_with_a_large_batch() -> None:
    assert _next_batch(DAYS[2:], COUNTS, 64, 1_000) == [12]


def test_the_batch_bounds_the_days_and_days_without_events_cost_nothing() -> None:
    assert _next_batch(DAYS[3:], COUNTS, 64, 1_000) == [13, 14]
    assert _next_batch(DAYS, COUNTS, 1, 10**9) == [10]
    assert _next_batch([1, 2, 3], {}, 2, 0) == [1, 2]
