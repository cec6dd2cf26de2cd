"""Pre-aggregated figures: which part of a range they can answer, and which part only the
events themselves can.

A store may keep figures per project over whole UTC days, in blocks of ``2**level`` days
aligned on the epoch: level 0 is one day, level 1 two days starting on an even day, and so
on up to :data:`MAX_LEVEL`. Any run of whole days is a union of at most about
``2 * MAX_LEVEL`` such blocks (:func:`blocks`), so a year's figures are a handful of rows
per page or referrer however many events it held.

A day's figures are computed from its events once the day is over, and again whenever an
event for it arrives later (events may be up to a day old by default); until then the day
is *stale* and read from the events. :func:`plan` splits a range accordingly: the blocks of
its whole days that are not stale, and the intervals (the partial first and last days, the
stale days) that must be read from the events. Both together cover the range exactly once.

Counts add up across days. Distinct visitors add up across *salt windows*: a visitor's hash
changes with the window, so the unique visitors of a range are counted window by window
and summed (see :class:`~privalytics.domain.ports.EventStore`). With daily windows (the
default) the per-day distinct counts therefore add up exactly; with longer windows they do
not, and stores read distinct visitors from the events.

Everything here is arithmetic on integers: epoch milliseconds and day numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DAY_MS = 86_400_000
# Blocks span up to 2**10 = 1024 days: a ten-year range is a few dozen blocks.
MAX_LEVEL = 10

Block = tuple[int, int]  # (level, index): the days [index * 2**level, (index + 1) * 2**level)
Interval = tuple[int, int]  # [start, end) in epoch milliseconds


def day_of(millis: int) -> int:
    """The number of the UTC day holding the instant ``millis``."""
    return millis // DAY_MS


def blocks(first: int, end: int, max_level: int = MAX_LEVEL) -> list[Block]:
    """The fewest aligned blocks (of at most ``2**max_level`` days) that cover the days
    ``first`` .. ``end - 1`` exactly, in order."""
    found: list[Block] = []
    day = first
    while day < end:
        level = 0
        while level < max_level and day % (2 << level) == 0 and day + (2 << level) <= end:
            level += 1
        found.append((level, day >> level))
        day += 1 << level
    return found


@dataclass(frozen=True, slots=True)
class Plan:
    """How to answer a range: ``raw`` intervals from the events, ``blocks`` from the
    pre-aggregated figures. Together they cover the range exactly once."""

    raw: tuple[Interval, ...]
    blocks: tuple[Block, ...]


def plan(start: int, end: int, stale: Iterable[int] = (), *, max_level: int = MAX_LEVEL) -> Plan:
    """Split the range ``[start, end)`` (epoch milliseconds) into blocks of its whole days
    that are not in ``stale`` and raw intervals for the rest, adjacent intervals merged."""
    if end <= start:
        return Plan(raw=(), blocks=())
    first = -(-start // DAY_MS)  # the first whole day
    last = end // DAY_MS  # the day after the last whole day
    if first >= last:
        return Plan(raw=((start, end),), blocks=())
    raw: list[Interval] = []
    found: list[Block] = []
    if start < first * DAY_MS:
        raw.append((start, first * DAY_MS))
    run = first
    for day in sorted({day for day in stale if first <= day < last}):
        found.extend(blocks(run, day, max_level))
        _append(raw, (day * DAY_MS, (day + 1) * DAY_MS))
        run = day + 1
    found.extend(blocks(run, last, max_level))
    if last * DAY_MS < end:
        _append(raw, (last * DAY_MS, end))
    return Plan(raw=tuple(raw), blocks=tuple(found))


def _append(intervals: list[Interval], interval: Interval) -> None:
    if intervals and intervals[-1][1] == interval[0]:
        intervals[-1] = (intervals[-1][0], interval[1])
    else:
        intervals.append(interval)


# --- the top of a ranking over many parts ------------------------------------------------
#
# A ranking over a range (top pages, referrers, targets) sums each name's count over the
# range's parts: its raw intervals and its blocks. Summing every name of every block reads
# every page of the site once per block. Instead a store may read only the first names of
# each part by count (an index orders a block's rows so), ``depth`` and one more to learn
# whether there are more, take all the names met there as candidates, and sum the
# candidates' counts exactly over every part. A name met nowhere counts at most the lowest
# count read in each part that has more than ``depth`` names (nothing in a part that has
# fewer, all of whose names are candidates): the *bound*. Once the ``limit``-th candidate
# counts more than the bound, no other name can rank before it, and the candidates' top is
# the range's top. Traffic is skewed enough that it almost always is; where it is not, the
# store reads deeper, and in the end every name.

Candidate = tuple[str, int, int]  # (name, count over the whole range, a second figure)


def settled_top(candidates: Iterable[Candidate], most: int, limit: int) -> list[Candidate] | None:
    """The first ``limit`` candidates by count (descending), then name (code-point order),
    if no other name, counting at most ``most``, can be among them; None if one could."""
    ranked = sorted(candidates, key=lambda candidate: (-candidate[1], candidate[0]))
    if most <= 0 or (len(ranked) >= limit and ranked[limit - 1][1] > most):
        return ranked[:limit]
    return None
