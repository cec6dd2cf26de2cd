"""k-anonymity of breakdowns and filters by the fine dimensions (regions and cities).

A region or city that fewer than ``k`` visitors share in a range (``min_cell_visitors``,
5 by default) is a *small cell*: naming it next to its figures comes close to naming
its visitors. Two rules keep small cells unnamed, whatever is asked:

1. **Breakdowns** by a dimension with ``merge_small_cells`` merge every row of fewer than
   ``k`` visitors into one row, :data:`~privalytics.domain.geography.OTHER` (see
   :func:`~privalytics.domain.geography.merge_small`), after any filter, so a row shown
   always has ``k`` visitors or more, or is "(other)".
2. **Filters** on such a dimension see the range as if every small cell were "(other)":
   a filter is evaluated on the *coarse* value of each session (its own value when its
   cell has ``k`` visitors or more in the range, unfiltered; "(other)" otherwise). So
   ``city==Smalltown`` selects nothing when Smalltown is a small cell, ``city==(other)``
   selects the sessions of every small cell, ``city!=Smalltown`` selects everything, and
   ``city~town`` matches only cells of ``k`` or more (or every small cell, when
   "(other)" contains the text). Without this, ``country`` broken down under
   ``city==Smalltown`` would say where Smalltown's one visitor came from.

How: the cells are the rows of the unfiltered breakdown of the range by the filter's
dimension, which lists every value a session of the range has. The filter becomes an
"is one of" filter (:attr:`~privalytics.domain.filters.Op.ONE_OF`) naming the values whose
coarse value it matches; when that selects the same values as the filter itself (the
filter names only cells of ``k`` or more), the filter is kept as written. Each range (the
one asked for, the previous one, the last 24 hours) has its own cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.filters import Filter, Op
from privalytics.domain.geography import OTHER, merge_small
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import TimeRange
from privalytics.domain.ports import EventStore


def coarse(value: str | None, small: frozenset[str | None]) -> str | None:
    """The value a session shows in a k-anonymous dimension: "(other)" for a small cell
    (and for a value that already is "(other)", which a merged breakdown cannot tell
    apart), else its own."""
    return OTHER if value == OTHER or value in small else value


def coarsened(flt: Filter, cells: Sequence[Row], k: int) -> Filter:
    """``flt`` as it applies to a range whose cells (every value of the filter's dimension
    in the range, unfiltered) are ``cells``."""
    small = frozenset(row.value for row in cells if row.figures.visitors < k)
    values = [row.value for row in cells]
    chosen = [value for value in values if flt.matches(coarse(value, small))]
    if chosen == [value for value in values if flt.matches(value)]:
        return flt
    ordered = sorted(chosen, key=lambda value: (value is not None, value or ""))
    return Filter(dimension=flt.dimension, op=Op.ONE_OF, value="", values=tuple(ordered))


async def anonymous_filters(
    events: EventStore, project_id: str, span: TimeRange, filters: Sequence[Filter], k: int
) -> tuple[Filter, ...]:
    """``filters`` with every filter on a k-anonymous dimension :func:`coarsened` over the
    project's cells in ``span``."""
    done: list[Filter] = []
    for flt in filters:
        dimension = DIMENSIONS[flt.dimension]
        if not dimension.merge_small_cells or flt.op is Op.ONE_OF:
            done.append(flt)
            continue
        cells = await events.breakdown(project_id, span, dimension, (), None)
        done.append(coarsened(flt, cells, k))
    return tuple(done)


@dataclass(frozen=True, slots=True)
class _Cell:
    """A breakdown row as a :class:`~privalytics.domain.geography.Cell`."""

    row: Row

    @property
    def value(self) -> str | None:
        return self.row.value

    @property
    def visitors(self) -> int:
        return self.row.figures.visitors

    def merged(self, others: Sequence[_Cell], value: str) -> _Cell:
        rows = [self.row, *(other.row for other in others)]
        totals = rows[0].figures.totals
        for row in rows[1:]:
            totals += row.figures.totals
        figures = Figures(visitors=sum(row.figures.visitors for row in rows), totals=totals)
        return _Cell(Row(value=value, figures=figures))


def merge_rows(rows: Sequence[Row], k: int) -> list[Row]:
    """``rows`` (ranked) with every row of fewer than ``k`` visitors merged into one
    "(other)" row, ranked by its visitors among the others."""
    return [cell.row for cell in merge_small((_Cell(row) for row in rows), k)]
