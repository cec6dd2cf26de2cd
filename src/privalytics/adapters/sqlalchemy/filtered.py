"""Filtered reports over day segments and events, combined exactly.

A range is split into the closed days whose segments are up to date (written by the
refresh, and not made stale since by a late event) and the rest: the partial first and
last days, today, stale days and days not segmented yet. The first part is computed from
the segments with numpy (segmentquery.py), the rest from the events with the domain's
reference computation (domain/insight.py); a session never crosses a UTC midnight and,
under daily salts, a visitor hash stands for a visitor within one day, so the two parts
add up (distinct visitors included) to the reference over the whole range.

Salt windows other than a day make a visitor span days: then everything is read from the
events, as before the segments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import segmentquery as sq
from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.planning import events_in, interval_of, runs
from privalytics.adapters.sqlalchemy.segments import (
    MISSING,
    PAGE_VIEW_FIELDS,
    decode,
    id_texts,
    text_ids,
)
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.domain import insight
from privalytics.domain.dimensions import Dimension, Scope
from privalytics.domain.filters import Filter, Op
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import Event, TimeRange
from privalytics.domain.rollups import DAY_MS, Interval
from privalytics.domain.sessions import SessionTotals

_segments = tables.day_segments
_stale = tables.rollup_stale
_SESSION_FIELDS = ("visitor", "views", "bounced", "duration")
_DAILY = timedelta(days=1)

_T = TypeVar("_T")


async def _off_loop(compute: Callable[..., _T], *args: object) -> _T:
    return await asyncio.to_thread(compute, *args)


class Part:
    """One range's two parts: its segmented days (as loaded) and the rest's events."""

    def __init__(self, segments: sq.Segments | None, events: list[Event]) -> None:
        self.segments = segments
        self.events = events


class SegmentReader:
    """Filtered figures, breakdowns and cell sizes over segments and events."""

    def __init__(self, engine: AsyncEngine, window: timedelta) -> None:
        self.engine = engine
        self.window = window

    async def figures(self, project_id: str, span: TimeRange, filters: Sequence[Filter]) -> Figures:
        async with unavailable_on_failure("read segments"), self.engine.connect() as c:
            part = await self._part(c, project_id, span, filters, None)
            found = await _off_loop(insight.figures, part.events, filters, self.window)
            if part.segments is None:
                return found
            chosen = await self._select(c, project_id, part.segments, filters)
        visitors, sessions, pageviews, bounces, duration = await _off_loop(
            sq.totals, part.segments, chosen
        )
        return Figures(
            visitors=found.visitors + visitors,
            totals=found.totals
            + SessionTotals(
                sessions=sessions,
                pageviews=pageviews,
                bounces=bounces,
                duration=timedelta(milliseconds=duration),
            ),
        )

    async def breakdown(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
    ) -> list[Row]:
        async with unavailable_on_failure("read segments"), self.engine.connect() as c:
            part = await self._part(c, project_id, span, filters, dimension)
            rows = await _off_loop(insight.breakdown, part.events, dimension, filters, self.window)
            if part.segments is None:
                return rows
            chosen = await self._select(c, project_id, part.segments, filters)
            groups = await _off_loop(sq.breakdown, part.segments, chosen, dimension.name)
            texts = await id_texts(c, project_id, groups.ids.tolist())
        merged = {row.value: row.figures for row in rows}
        for value, visitors, sessions, pageviews, bounces, duration in zip(
            groups.ids.tolist(),
            groups.visitors.tolist(),
            groups.sessions.tolist(),
            groups.pageviews.tolist(),
            groups.bounces.tolist(),
            groups.duration.tolist(),
            strict=True,
        ):
            text = None if value == MISSING else texts[value]
            figures = Figures(
                visitors=visitors,
                totals=SessionTotals(
                    sessions=sessions,
                    pageviews=pageviews,
                    bounces=bounces,
                    duration=timedelta(milliseconds=duration),
                ),
            )
            held = merged.get(text)
            merged[text] = (
                figures
                if held is None
                else Figures(
                    visitors=held.visitors + figures.visitors, totals=held.totals + figures.totals
                )
            )
        found = [Row(value=value, figures=figures) for value, figures in merged.items()]
        return sorted(found, key=_rank)

    async def cell_sizes(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
    ) -> dict[str | None, int]:
        async with unavailable_on_failure("read segments"), self.engine.connect() as c:
            part = await self._part(c, project_id, span, filters, dimension)
            sizes = await _off_loop(
                insight.cell_sizes, part.events, dimension, filters, self.window
            )
            if part.segments is None:
                return sizes
            chosen = await self._select(c, project_id, part.segments, filters)
            ids, largest = await _off_loop(sq.cell_sizes, part.segments, chosen, dimension.name)
            texts = await id_texts(c, project_id, ids.tolist())
        for value, size in zip(ids.tolist(), largest.tolist(), strict=True):
            text = None if value == MISSING else texts[value]
            sizes[text] = max(sizes.get(text, 0), size)
        return sizes

    async def _part(
        self,
        connection: AsyncConnection,
        project_id: str,
        span: TimeRange,
        filters: Sequence[Filter],
        dimension: Dimension | None,
    ) -> Part:
        """The range's segmented days (loaded with the fields the question needs) and the
        events of the rest."""
        start, end = interval_of(span)
        first, last = -(-start // DAY_MS), end // DAY_MS
        fields = {*_SESSION_FIELDS, *(f.dimension for f in filters)}
        if dimension is not None:
            fields.add(dimension.name)
        if "page" in fields:
            fields.discard("page")
            fields.update(PAGE_VIEW_FIELDS)
        blobs: dict[int, dict[str, bytes]] = {}
        if self.window == _DAILY and first < last:
            stale = set(
                (
                    await connection.execute(
                        select(_stale.c.day).where(
                            (_stale.c.project_id == project_id)
                            & (_stale.c.day >= first)
                            & (_stale.c.day < last)
                        )
                    )
                ).scalars()
            )
            rows = await connection.execute(
                select(_segments.c.day, _segments.c.field, _segments.c.data).where(
                    (_segments.c.project_id == project_id)
                    & _segments.c.field.in_(sorted(fields))
                    & (_segments.c.day >= first)
                    & (_segments.c.day < last)
                )
            )
            for day, name, data in rows.all():
                if day not in stale:
                    blobs.setdefault(day, {})[name] = data
        # A day lacking a field (a dimension added since it was written) is read from
        # its events.
        days = sorted(day for day, held in blobs.items() if len(held) == len(fields))
        rest = _rest((start, end), days)
        events: list[Event] = []
        if rest:
            where = or_(*(events_in(project_id, interval) for interval in rest))
            events = await read_events(connection, where)
        if not days:
            return Part(None, events)
        segments = await _off_loop(_load, [blobs[day] for day in days], fields)
        return Part(segments, events)

    async def _select(
        self,
        connection: AsyncConnection,
        project_id: str,
        segments: sq.Segments,
        filters: Sequence[Filter],
    ) -> sq.Selection:
        session_masks: list[Any] = []
        page_masks: list[Any] | None = None
        for f in filters:
            if f.scope is Scope.EVENT:
                assert segments.pv_page is not None
                page_masks = page_masks or []
                page_masks.append(await _mask(connection, project_id, f, segments.pv_page))
            else:
                codes = segments.dimensions[f.dimension]
                session_masks.append(await _mask(connection, project_id, f, codes))
        return await _off_loop(sq.select, segments, session_masks, page_masks)


async def _mask(
    connection: AsyncConnection, project_id: str, f: Filter, codes: sq.Array
) -> sq.Array:
    """Which of the ids ``codes`` the filter selects (as :meth:`Filter.matches` would
    their texts: a text has one id in a project's dictionary)."""
    if f.op in (Op.IS, Op.IS_NOT):
        if f.value:
            wanted = (await text_ids(connection, project_id, [f.value])).get(f.value)
            equal: sq.Array = codes == (MISSING - 1 if wanted is None else wanted)
        else:
            equal = codes == MISSING
        return equal if f.op is Op.IS else ~equal
    if f.op is Op.ONE_OF:
        named = [v for v in f.values if v is not None]
        ids = list((await text_ids(connection, project_id, named)).values())
        if None in f.values:
            ids.append(MISSING)
        return np.isin(codes, np.array(ids, dtype=np.int64))
    present = np.unique(codes)
    texts = await id_texts(connection, project_id, present.tolist())
    matched = np.array(
        [f.matches(None if i == MISSING else texts[i]) for i in present.tolist()],
        dtype=np.bool_,
    )
    if not present.size:
        return np.zeros(codes.size, dtype=np.bool_)
    chosen: sq.Array = matched[np.searchsorted(present, codes)]
    return chosen


def _rest(interval: Interval, days: Sequence[int]) -> list[Interval]:
    """``interval`` without the whole ``days`` (sorted, inside it)."""
    found: list[Interval] = []
    at = interval[0]
    for first, end in runs(days):
        if first * DAY_MS > at:
            found.append((at, first * DAY_MS))
        at = end * DAY_MS
    if at < interval[1]:
        found.append((at, interval[1]))
    return found


def _load(days: list[dict[str, bytes]], fields: set[str]) -> sq.Segments:
    """The segments of ``days`` (in order) end to end."""
    arrays = {name: [decode(name, held[name]) for held in days] for name in fields}
    counts = np.array([a.size for a in arrays["visitor"]], dtype=np.int64)
    visitors = np.array([int(a.max()) + 1 if a.size else 0 for a in arrays["visitor"]])
    visitor_offsets = np.concatenate(([0], np.cumsum(visitors)[:-1])).astype(np.int64)
    session_offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    visitor = np.concatenate(
        [a.astype(np.int64) + o for a, o in zip(arrays["visitor"], visitor_offsets, strict=True)]
    )
    pv_session = pv_page = None
    if "pv_session" in arrays:
        pv_session = np.concatenate(
            [
                a.astype(np.int64) + o
                for a, o in zip(arrays["pv_session"], session_offsets, strict=True)
            ]
        )
        pv_page = np.concatenate(arrays["pv_page"])
    skip = {*_SESSION_FIELDS, *PAGE_VIEW_FIELDS}
    return sq.Segments(
        visitor=visitor,
        views=np.concatenate(arrays["views"]),
        bounced=np.concatenate(arrays["bounced"]),
        duration=np.concatenate(arrays["duration"]),
        pv_session=pv_session,
        pv_page=pv_page,
        visitor_offsets=visitor_offsets,
        visitors=int(visitors.sum()),
        dimensions={
            name: np.concatenate(values) for name, values in arrays.items() if name not in skip
        },
    )


def _rank(row: Row) -> tuple[int, int, bool, str]:
    """As domain/insight.py ranks rows."""
    figures = row.figures
    return (-figures.visitors, -figures.totals.pageviews, row.value is None, row.value or "")
