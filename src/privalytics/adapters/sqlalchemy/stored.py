"""Events read back from the compact table (migration 0006): the rows, then the texts of
their ids, one query per project and chunk of ids (not a join per text field and row)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.dictionary import ACTIONS, visitor_text
from privalytics.adapters.sqlalchemy.tables import TEXT_FIELDS, from_millis
from privalytics.domain.models import Event

_events = tables.events
_numbers = tables.project_numbers
_texts = tables.texts
_CHUNK = 500  # ids per IN list
_FIRST_TEXT = 5  # position of the first text id in a row of ``_events``
_LAST_TEXT = _FIRST_TEXT + len(TEXT_FIELDS)


async def read_events(
    connection: AsyncConnection,
    where: ColumnElement[bool],
    *,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[Event]:
    """The events ``where`` selects, as stored (every derived field included), in the
    order they were stored (``newest_first``: by time, newest first)."""
    query = (
        select(_events, _numbers.c.project_id)
        .join(_numbers, _numbers.c.number == _events.c.project)
        .where(where)
    )
    if newest_first:
        query = query.order_by(_events.c.ts.desc(), _events.c.id.desc())
    else:
        query = query.order_by(_events.c.id)
    if limit is not None:
        query = query.limit(limit)
    return await _decoded(connection, (await connection.execute(query)).all())


async def read_page(
    connection: AsyncConnection,
    where: ColumnElement[bool],
    after: tuple[int, int] | None,
    limit: int,
) -> tuple[list[Event], tuple[int, int] | None]:
    """The first ``limit`` events ``where`` selects after the (time, id) ``after``, oldest
    first, and the (time, id) of the last one (None when there are no more): pages of an
    export, each an index range scan however deep into the table it is."""
    if after is not None:
        ts, row_id = after
        where = where & ((_events.c.ts > ts) | ((_events.c.ts == ts) & (_events.c.id > row_id)))
    query = (
        select(_events, _numbers.c.project_id)
        .join(_numbers, _numbers.c.number == _events.c.project)
        .where(where)
        .order_by(_events.c.ts, _events.c.id)
        .limit(limit)
    )
    rows = (await connection.execute(query)).all()
    last = (rows[-1][2], rows[-1][0]) if len(rows) == limit else None
    return await _decoded(connection, rows), last


async def _decoded(connection: AsyncConnection, rows: Sequence[Any]) -> list[Event]:
    """The rows' events, their texts looked up once per project and chunk of ids."""
    wanted: dict[int, set[int]] = {}
    for row in rows:
        ids = wanted.setdefault(row[1], set())
        ids.update(i for i in row[_FIRST_TEXT:_LAST_TEXT] if i is not None)
    texts: dict[tuple[int, int], str] = {}
    for number, ids in wanted.items():
        listed = sorted(ids)
        for start in range(0, len(listed), _CHUNK):
            chunk = listed[start : start + _CHUNK]
            found = await connection.execute(
                select(_texts.c.id, _texts.c.text).where(
                    (_texts.c.project == number) & _texts.c.id.in_(chunk)
                )
            )
            texts.update(((number, i), text) for i, text in found.all())
    return [_event(row, texts) for row in rows]


def _event(row: Any, texts: dict[tuple[int, int], str]) -> Event:
    number = row[1]
    fields: dict[str, Any] = {
        name: None if i is None else texts.get((number, i))
        for name, i in zip(TEXT_FIELDS, row[_FIRST_TEXT:_LAST_TEXT], strict=True)
    }
    props = row[_LAST_TEXT + 1]
    return Event(
        project_id=row[-1],
        action=ACTIONS[row[4]],
        timestamp=from_millis(row[2]),
        visitor_hash=visitor_text(row[3]),
        value=row[_LAST_TEXT],
        props=msgspec.json.decode(props, type=dict[str, str]) if props else {},
        **fields,
    )
