"""How a range splits into rollup blocks and raw intervals: exactly once, aligned, few."""

from __future__ import annotations

from hypothesis import event, given
from hypothesis import strategies as st

from privalytics.domain.rollups import (
    DAY_MS,
    MAX_LEVEL,
    Block,
    blocks,
    plan,
)
from tests.strategies import plan_days as DAYS  # noqa: N812
from tests.strategies import ranges_with_stale_days


def block_days(block: Block) -> tuple[int, int]:
    """The first day of ``block`` and the day after its last (domain/rollups.py)."""
    level, index = block
    return index << level, (index + 1) << level


def covered_days(found: list[tuple[int, int]]) -> list[int]:
    days: list[int] = []
    for block in found:
        first, end = block_days(block)
        days.extend(range(first, end))
    return days


@given(DAYS, st.integers(min_value=0, max_value=4000))
def test_blocks_cover_a_run_of_days_exactly_once_in_order(first: int, length: int) -> None:
    found = blocks(first, first + length)
    assert covered_days(found) == list(range(first, first + length))
    for level, _ in found:
        assert 0 <= level <= MAX_LEVEL


@given(DAYS, st.integers(min_value=0, max_value=4000))
def test_a_run_of_days_takes_few_blocks(first: int, length: int) -> None:
    # Up the levels to the largest block, then down: at most two blocks per level, plus
    # as many top-level blocks as fit.
    top = 1 << MAX_LEVEL
    assert len(blocks(first, first + length)) <= 2 * (MAX_LEVEL + 1) + length // top


def test_a_year_from_a_month_boundary_is_a_dozen_blocks() -> None:
    # 2025-12-01 .. 2026-12-01
    assert len(blocks(20_423, 20_788)) <= 12


@given(DAYS, st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=3))
def test_blocks_below_a_level_cap_stay_below_it(first: int, length: int, cap: int) -> None:
    found = blocks(first, first + length, cap)
    assert all(level <= cap for level, _ in found)
    assert covered_days(found) == list(range(first, first + length))


@given(ranges_with_stale_days())
def test_a_plan_covers_the_range_exactly_once_and_reads_no_stale_day_from_blocks(
    drawn: tuple[int, int, set[int]],
) -> None:
    start, length, stale = drawn
    end = start + length
    found = plan(start, end, stale)
    pieces = sorted(
        [*found.raw, *((a * DAY_MS, b * DAY_MS) for a, b in map(block_days, found.blocks))]
    )
    # The pieces tile [start, end): each starts where the previous one ended.
    position = start
    for a, b in pieces:
        assert a == position
        assert a < b
        position = b
    assert position == (end if length else start)
    rolled = covered_days(list(found.blocks))
    assert not stale & set(rolled)
    # Every whole day of the range that is not stale comes from a block: the events are
    # read only where they must be.
    whole = set(range(-(-start // DAY_MS), end // DAY_MS))
    assert set(rolled) == whole - stale
    # Blocks hold whole days only; raw intervals never touch each other (they are merged).
    assert all(a < b for (_, a), (b, _) in zip(found.raw, found.raw[1:], strict=False))
    event("a stale whole day inside" if stale & whole else "no stale whole day inside")


def test_a_range_within_one_day_is_raw() -> None:
    start = 20_500 * DAY_MS + 5
    assert plan(start, start + DAY_MS - 10).raw == ((start, start + DAY_MS - 10),)
    assert plan(start, start + DAY_MS - 10).blocks == ()


def test_thirty_days_ending_mid_day_read_at_most_a_day_of_events() -> None:
    end = 20_530 * DAY_MS + 14 * 3_600_000
    found = plan(end - 30 * DAY_MS, end)
    assert sum(b - a for a, b in found.raw) == DAY_MS
    assert len(found.blocks) <= 8


def test_a_stale_day_next_to_the_partial_last_day_joins_its_raw_interval() -> None:
    end = 20_530 * DAY_MS + 3_600_000
    found = plan(end - 10 * DAY_MS, end, {20_529})
    assert found.raw[-1] == (20_529 * DAY_MS, end)
