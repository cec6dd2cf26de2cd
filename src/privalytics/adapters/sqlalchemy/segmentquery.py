"""The figures of day segments (segments.py) under filters, computed with numpy.

Works on the segments of many days put end to end (:class:`Segments`): a filter becomes a
boolean mask over the sessions (or, for the page, over the page views), and every figure
is a count or sum over the selected sessions, grouped by a dimension's ids where a
breakdown asks for it. The definitions are the domain's (domain/insight.py): a session is
counted when the filters select it, with its selected page views; its visitor is the
day's visitor number (under daily salts a visitor is a hash within one day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Segments:
    """The sessions of several days, end to end."""

    # Per session: the visitor's number over all the days (distinct per day), the page
    # views, whether it bounced, the length in ms, and the day's position in ``days``.
    visitor: Array
    views: Array
    bounced: Array
    duration: Array
    # Per page view (loaded when a page is filtered or broken down by): the session's index
    # over all the days and the path's id.
    pv_session: Array | None
    pv_page: Array | None
    # The first visitor number of each day, and how many there are in all.
    visitor_offsets: Array
    visitors: int
    # Session dimension name -> the id of each session's value (-1: none).
    dimensions: dict[str, Array] = field(default_factory=dict)

    @property
    def sessions(self) -> int:
        return int(self.views.size)


@dataclass(frozen=True, slots=True)
class Selection:
    """What filters select: a mask over the sessions, and the page views each counts."""

    sessions: Array
    views: Array
    # Over the page views (when loaded): the selected ones.
    page_views: Array | None


@dataclass(frozen=True, slots=True)
class Groups:
    """Per value id of a breakdown: its figures (the totals' duration in ms)."""

    ids: Array
    visitors: Array
    sessions: Array
    pageviews: Array
    bounces: Array
    duration: Array


def select(
    segments: Segments, session_masks: list[Array], page_masks: list[Array] | None
) -> Selection:
    """The sessions every session mask selects; with ``page_masks`` (a page filter), the
    page views all of them select, and the sessions that hold one."""
    chosen = np.ones(segments.sessions, dtype=np.bool_)
    for mask in session_masks:
        chosen &= mask
    if segments.pv_session is None:
        return Selection(chosen, segments.views, None)
    viewed = chosen[segments.pv_session]
    if page_masks is None:
        return Selection(chosen, segments.views, viewed)
    for mask in page_masks:
        viewed &= mask
    views = np.bincount(segments.pv_session[viewed], minlength=segments.sessions)
    return Selection(chosen & (views > 0), views, viewed)


def _distinct(visitors: Array, total: int) -> int:
    seen = np.zeros(total, dtype=np.bool_)
    seen[visitors] = True
    return int(np.count_nonzero(seen))


def totals(segments: Segments, chosen: Selection) -> tuple[int, int, int, int, int]:
    """(visitors, sessions, page views, bounces, duration in ms) of the selection."""
    mask = chosen.sessions
    return (
        _distinct(segments.visitor[mask], segments.visitors),
        int(np.count_nonzero(mask)),
        int(chosen.views[mask].sum(dtype=np.int64)),
        int(np.count_nonzero(segments.bounced[mask])),
        int(segments.duration[mask].sum(dtype=np.int64)),
    )


def _sums(index: Array, weights: Array, size: int) -> Array:
    """Integer sums of ``weights`` per ``index`` (exact: no floats)."""
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, index, weights)
    return out


def _grouped(
    segments: Segments,
    values: Array,
    sessions: Array,
    counts: Array,
) -> tuple[Array, Array, Groups]:
    """Figures per value of (value id, session index, page views counted) triples, each
    session at most once per value; also each group's index and each triple's group."""
    ids, group = np.unique(values, return_inverse=True)
    group = group.reshape(-1)
    size = ids.size
    keys = group.astype(np.int64) * segments.visitors + segments.visitor[sessions]
    distinct = np.unique(keys)
    result = Groups(
        ids=ids,
        visitors=np.bincount(distinct // segments.visitors, minlength=size),
        sessions=np.bincount(group, minlength=size),
        pageviews=_sums(group, counts, size),
        bounces=np.bincount(group, weights=segments.bounced[sessions], minlength=size).astype(
            np.int64
        ),
        duration=_sums(group, segments.duration[sessions], size),
    )
    return distinct, group, result


def _page_triples(segments: Segments, chosen: Selection) -> tuple[Array, Array, Array]:
    """(page id, session, selected views of it in the session) for every page a selected
    session viewed (among its selected page views)."""
    assert segments.pv_session is not None
    assert segments.pv_page is not None
    assert chosen.page_views is not None
    viewed = chosen.page_views
    sessions = segments.pv_session[viewed].astype(np.int64)
    pairs, counts = np.unique(
        segments.pv_page[viewed].astype(np.int64) * max(segments.sessions, 1) + sessions,
        return_counts=True,
    )
    width = max(segments.sessions, 1)
    return pairs // width, pairs % width, counts


def _triples(segments: Segments, chosen: Selection, dimension: str) -> tuple[Array, Array, Array]:
    if dimension == "page":
        return _page_triples(segments, chosen)
    sessions = np.flatnonzero(chosen.sessions)
    return segments.dimensions[dimension][sessions], sessions, chosen.views[sessions]


def breakdown(segments: Segments, chosen: Selection, dimension: str) -> Groups:
    """The figures of each value of ``dimension`` ("page" or a session dimension)."""
    values, sessions, counts = _triples(segments, chosen, dimension)
    return _grouped(segments, values, sessions, counts)[2]


def cell_sizes(segments: Segments, chosen: Selection, dimension: str) -> tuple[Array, Array]:
    """Per value id of ``dimension``: the most distinct visitors it had on one day."""
    values, sessions, counts = _triples(segments, chosen, dimension)
    distinct, _, groups = _grouped(segments, values, sessions, counts)
    group = distinct // segments.visitors
    day = np.searchsorted(segments.visitor_offsets, distinct % segments.visitors, side="right")
    cells, sizes = np.unique(group * (segments.visitor_offsets.size + 1) + day, return_counts=True)
    largest = np.zeros(groups.ids.size, dtype=np.int64)
    np.maximum.at(largest, cells // (segments.visitor_offsets.size + 1), sizes)
    return groups.ids, largest
