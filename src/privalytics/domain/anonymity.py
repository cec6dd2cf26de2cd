"""k-anonymity of breakdowns and filters by the fine dimensions (regions and cities).

A region or city that fewer than ``k`` people share in a range (``min_cell_visitors``,
5 by default) is a *small cell*: naming it next to its figures comes close to naming
them. A cell's size is the most distinct visitors it had within one salt window
(:func:`~privalytics.domain.insight.cell_sizes`), not its visitors summed over the
range's windows: one person who came on five days is five "visitors" of a 30-day range
(a hash stands for one person within one window only), but one person. Two rules keep
small cells unnamed, whatever is asked:

1. **Breakdowns** by a dimension with ``merge_small_cells`` merge every row whose cell
   (under the same filters) is small into one row,
   :data:`~privalytics.domain.geography.OTHER`, so a row shown always stands for ``k``
   people or more, or is "(other)".
2. **Filters** on such a dimension see the range as if every small cell were "(other)":
   a filter is evaluated on the *coarse* value of each session (its own value when its
   cell has ``k`` visitors or more in the range, unfiltered; "(other)" otherwise). So
   ``city==Smalltown`` selects nothing when Smalltown is a small cell, ``city==(other)``
   selects the sessions of every small cell, ``city!=Smalltown`` selects everything, and
   ``city~town`` matches only cells of ``k`` or more (or every small cell, when
   "(other)" contains the text). Without this, ``country`` broken down under
   ``city==Smalltown`` would say where Smalltown's one visitor came from.

How: the cells are the values of the filter's dimension among the range's sessions,
unfiltered, with their sizes. The filter becomes an
"is one of" filter (:attr:`~privalytics.domain.filters.Op.ONE_OF`) naming the values whose
coarse value it matches; when that selects the same values as the filter itself (the
filter names only cells of ``k`` or more), the filter is kept as written. Each range (the
one asked for, the previous one, the last 24 hours) has its own cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from privalytics.domain.filters import Filter, Op
from privalytics.domain.geography import OTHER
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import TimeRange
from privalytics.domain.ports import EventStore


def coarse(value: str | None, small: frozenset[str | None]) -> str | None:
    """The value a session shows in a k-anonymous dimension: "(other)" for a small cell
    (and for a value that already is "(other)", which a merged breakdown cannot tell
    apart), else its own."""
    return OTHER if value == OTHER or value in small else value


def coarsened(flt: Filter, sizes: Mapping[str | None, int], k: int) -> Filter:
    """``flt`` as it applies to a range whose cells (every value of the filter's dimension
    in the range, unfiltered) have ``sizes``."""
    small = frozenset(value for value, size in sizes.items() if size < k)
    chosen = [value for value in sizes if flt.matches(coarse(value, small))]
    if chosen == [value for value in sizes if flt.matches(value)]:
        return flt
    return Filter(dimension=flt.dimension, op=Op.ONE_OF, value="", values=frozenset(chosen))


async def anonymous_filters(
    events: EventStore, project_id: str, span: TimeRange, filters: Sequence[Filter], k: int
) -> tuple[Filter, ...]:
    """``filters`` with every filter on a k-anonymous dimension :func:`coarsened` over the
    project's cells in ``span``."""
    done: list[Filter] = []
    for flt in filters:
        dimension = flt.of
        if not dimension.merge_small_cells or flt.op is Op.ONE_OF:
            done.append(flt)
            continue
        sizes = await events.cell_sizes(project_id, span, dimension, ())
        done.append(coarsened(flt, sizes, k))
    return tuple(done)


def merge_rows(rows: Sequence[Row], sizes: Mapping[str | None, int], k: int) -> list[Row]:
    """``rows`` (ranked) with every row whose cell is small (its size in ``sizes`` below
    ``k``; a value that already is "(other)" too) merged into one "(other)" row, whose
    figures are the sums of theirs, ranked by its visitors among the others (after those
    with as many). It appears only when something was merged."""
    kept: list[Row] = []
    small: list[Row] = []
    for row in rows:
        tiny = sizes.get(row.value, 0) < k or row.value == OTHER
        (small if tiny else kept).append(row)
    if not small:
        return kept
    totals = small[0].figures.totals
    for row in small[1:]:
        totals += row.figures.totals
    visitors = sum(row.figures.visitors for row in small)
    other = Row(value=OTHER, figures=Figures(visitors=visitors, totals=totals))
    at = next((i for i, row in enumerate(kept) if row.figures.visitors < visitors), len(kept))
    kept.insert(at, other)
    return kept
