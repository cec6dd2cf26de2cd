"""The top of a ranking from the first names of each part: when it settles, it is the top
over every name (domain/rollups.py)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from privalytics.domain.rollups import settled_top
from tests import strategies


@given(strategies.ranking_parts, st.integers(1, 8), st.integers(1, 8), st.data())
def test_a_settled_top_is_the_top_over_every_name(
    parts: list[dict[str, int]], depth: int, limit: int, data: st.DataObject
) -> None:
    depth = max(depth, limit)  # as the stores read
    totals: Counter[str] = Counter()
    for part in parts:
        totals.update(part)
    everything = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
    candidates: set[str] = set()
    most = 0
    for part in parts:
        # The part's first names by count, one more than depth to learn whether it has
        # more, ties in any order (as an index gives them).
        names = data.draw(st.permutations(sorted(part)))
        first = sorted(names, key=lambda name: -part[name])[: depth + 1]
        candidates.update(first)
        if len(first) > depth:
            most += part[first[-1]]
    top = settled_top([(name, totals[name], 0) for name in candidates], most, limit)
    if top is not None:
        assert [(name, count) for name, count, _ in top] == everything
    if all(len(part) <= depth for part in parts):
        # Every name was read: nothing else can rank.
        assert top is not None


def test_a_name_read_in_no_part_could_still_rank() -> None:
    # /a and /c were read (5 each); /b, read nowhere, may count up to 5 + 5.
    assert settled_top([("/a", 5, 0), ("/c", 5, 0)], 10, 1) is None
    # A tie with the bound is not settled either: a name read nowhere could tie and sort
    # first by name.
    assert settled_top([("/a", 10, 0), ("/c", 5, 0)], 10, 1) is None
    assert settled_top([("/a", 11, 0), ("/c", 5, 0)], 10, 1) == [("/a", 11, 0)]
    # Ties among candidates break by name.
    assert settled_top([("/c", 7, 1), ("/a", 7, 2)], 0, 2) == [("/a", 7, 2), ("/c", 7, 1)]


def test_fewer_candidates_than_the_limit_settle_only_if_nothing_else_counts() -> None:
    # One candidate, two wanted: a name read nowhere, counting up to 1, could be second.
    assert settled_top([("/b", 1, 0)], 1, 2) is None
    assert settled_top([("/b", 1, 0)], 0, 2) == [("/b", 1, 0)]
    # Exactly as many candidates as wanted, the last above the bound: settled.
    assert settled_top([("/a", 5, 0), ("/b", 4, 0)], 3, 2) == [("/a", 5, 0), ("/b", 4, 0)]
