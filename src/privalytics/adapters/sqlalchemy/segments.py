"""Day segments: a closed day's sessions, column by column, for the filtered reports.

When the refresh recomputes a day's rollups (refresh.py), it also sessionizes the day's
events with the domain's own :func:`~privalytics.domain.sessions.sessionize` and stores,
per field, one array over the day's sessions (or, for the page, over its page views):

- ``visitor``: the visitor's number within the day (the hash itself is not kept: under
  daily salts a hash stands for one visitor within its day only);
- ``views``, ``bounced``, ``duration`` (whole milliseconds, exact since stored times are):
  the session's page views, whether it bounced, and its length;
- one field per session dimension (source, country, entry page, ...): the dictionary id
  (``texts``) of the session's value, -1 for none;
- ``pv_session``, ``pv_page``: per page view, its session's index and its path's id.

Each array is one row of ``day_segments`` (a format byte, then the array, zlib-compressed).
A session never crosses a UTC midnight (domain/sessions.py), so a range's sessions are the
union of its days' sessions, and the reader (filtered.py) combines whole days from here
with the rest of the range from the events exactly.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.dayfigures import Figures, dimension_figures, texts_of
from privalytics.adapters.sqlalchemy.planning import events_in, number_of
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.domain.dimensions import DIMENSIONS, Scope
from privalytics.domain.insight import session_value
from privalytics.domain.rollups import DAY_MS
from privalytics.domain.sessions import Session, sessionize

_segments = tables.day_segments
_texts = tables.texts

# The first byte of every stored array: how the rest is written (zlib of the raw array).
FORMAT = 1
# An id that names no text: the session has no value in that dimension.
MISSING = -1
# The session dimensions, each stored as a field of the same name.
SESSION_DIMENSIONS: tuple[str, ...] = tuple(
    name for name, d in DIMENSIONS.items() if d.scope is Scope.SESSION
)
# The type of each field's array.
DTYPES: dict[str, npt.DTypeLike] = {
    "visitor": np.int32,
    "views": np.int32,
    "bounced": np.bool_,
    "duration": np.int64,
    "pv_session": np.int32,
    "pv_page": np.int32,
    **dict.fromkeys(SESSION_DIMENSIONS, np.int32),
}
# Fields over page views rather than sessions.
PAGE_VIEW_FIELDS = ("pv_session", "pv_page")
_CHUNK = 500
_MILLISECOND = timedelta(milliseconds=1)

Array = npt.NDArray[Any]


def encode(values: Array) -> bytes:
    return bytes((FORMAT,)) + zlib.compress(np.ascontiguousarray(values).tobytes(), 1)


def decode(field: str, data: bytes) -> Array:
    if not data or data[0] != FORMAT:
        raise ValueError(f"day segment {field}: unknown format")
    return np.frombuffer(zlib.decompress(data[1:]), dtype=DTYPES[field])


def day_texts(sessions: Sequence[Session]) -> set[str]:
    """Every text the fields of ``sessions`` name."""
    texts: set[str] = set()
    for session in sessions:
        texts.update(session.paths)
        for name in SESSION_DIMENSIONS:
            value = session_value(DIMENSIONS[name], session)
            if value is not None:
                texts.add(value)
    return texts


def day_columns(sessions: Sequence[Session], ids: dict[str, int]) -> dict[str, Array]:
    """The fields of one day's sessions (of one project); ``ids``: the id of every text."""
    numbers: dict[str, int] = {}
    visitor = [numbers.setdefault(s.visitor_hash, len(numbers)) for s in sessions]
    pv_session: list[int] = []
    pv_page: list[int] = []
    for index, session in enumerate(sessions):
        pv_session.extend(index for _ in session.paths)
        pv_page.extend(ids[path] for path in session.paths)
    columns: dict[str, Array] = {
        "visitor": np.array(visitor, dtype=np.int32),
        "views": np.array([s.pageviews for s in sessions], dtype=np.int32),
        "bounced": np.array([s.bounced for s in sessions], dtype=np.bool_),
        "duration": np.array([(s.end - s.start) // _MILLISECOND for s in sessions], dtype=np.int64),
        "pv_session": np.array(pv_session, dtype=np.int32),
        "pv_page": np.array(pv_page, dtype=np.int32),
    }
    for name in SESSION_DIMENSIONS:
        dimension = DIMENSIONS[name]
        values = (session_value(dimension, s) for s in sessions)
        columns[name] = np.array([MISSING if v is None else ids[v] for v in values], dtype=np.int32)
    return columns


async def text_ids(
    connection: AsyncConnection, project_id: str, texts: Iterable[str]
) -> dict[str, int]:
    """The dictionary ids of ``texts`` in the project's dictionary."""
    listed = sorted(set(texts))
    found: dict[str, int] = {}
    for start in range(0, len(listed), _CHUNK):
        rows = await connection.execute(
            select(_texts.c.text, _texts.c.id).where(
                (_texts.c.project == number_of(project_id))
                & _texts.c.text.in_(listed[start : start + _CHUNK])
            )
        )
        found.update((text, i) for text, i in rows.all())
    return found


async def id_texts(
    connection: AsyncConnection, project_id: str, ids: Iterable[int]
) -> dict[int, str]:
    """The texts of dictionary ids of the project (-1 is no text and is left out)."""
    listed = sorted({int(i) for i in ids if i != MISSING})
    found: dict[int, str] = {}
    for start in range(0, len(listed), _CHUNK):
        rows = await connection.execute(
            select(_texts.c.id, _texts.c.text).where(
                (_texts.c.project == number_of(project_id))
                & _texts.c.id.in_(listed[start : start + _CHUNK])
            )
        )
        found.update((i, text) for i, text in rows.all())
    return found


async def write_segments(
    connection: AsyncConnection, project_id: str, days: Sequence[int]
) -> dict[tuple[int, int, int], Figures]:
    """Replace the segments of ``days`` (closed days being refreshed, in the caller's
    transaction) with those of their events now, and return the days' rows of
    ``rollup_dimensions`` ((day, dimension code, value id) -> figures, dayfigures.py):
    one reading and sessionizing of a day's events serves both."""
    figures: dict[tuple[int, int, int], Figures] = {}
    if not days:
        return figures
    await connection.execute(
        delete(_segments).where(
            (_segments.c.project_id == project_id) & _segments.c.day.in_(list(days))
        )
    )
    rows: list[dict[str, object]] = []
    for day in days:
        events = await read_events(
            connection, events_in(project_id, (day * DAY_MS, (day + 1) * DAY_MS))
        )
        if not events:
            continue
        sessions = sessionize(events)
        ids = await text_ids(connection, project_id, day_texts(sessions) | texts_of(sessions))
        columns = day_columns(sessions, ids)
        rows.extend(
            {"project_id": project_id, "field": field, "day": day, "data": encode(values)}
            for field, values in columns.items()
        )
        figures.update(
            ((day, *key), values) for key, values in dimension_figures(sessions, ids).items()
        )
    if rows:
        await connection.execute(_segments.insert(), rows)
    return figures


async def delete_segments(
    connection: AsyncConnection, project_id: str | None = None, before_day: int | None = None
) -> None:
    """Forget the segments of a project, or of every day before ``before_day``."""
    where: ColumnElement[bool] = _segments.c.day.is_not(None)
    if project_id is not None:
        where = where & (_segments.c.project_id == project_id)
    if before_day is not None:
        where = where & (_segments.c.day < before_day)
    await connection.execute(delete(_segments).where(where))
