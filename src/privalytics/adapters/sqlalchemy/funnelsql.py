"""Unfiltered funnels from the events that do a step, read as a few integers each.

A funnel counts, per visitor and salt window, the steps done in order
(:func:`privalytics.domain.funnels.funnel_counts`); an event that does no step changes
nothing, so only the events that do one are read: page views of the paths a page step's
pattern matches and custom events of a step's name (ids looked up once per read,
:func:`.goalsql.texts_matching`), with their visitor, time, action, path and name ids.
Each visitor's events are ordered as :data:`privalytics.domain.sessions.event_order`
orders them: by time, action and path (whose texts the look-up gave); events equal in
those do the same steps (a page step depends on the action and path only) unless they
are custom events of different names, and only such rare ties read their events whole
to be ordered in full. The counting is the domain's
(:func:`privalytics.domain.funnels.counts_of_runs`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.goalsql import texts_matching
from privalytics.adapters.sqlalchemy.planning import code, events_in, number_of
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.domain.funnels import Step, counts_of_runs
from privalytics.domain.models import Action
from privalytics.domain.rollups import Interval
from privalytics.domain.sessions import event_order

_events = tables.events
_VISIT, _CUSTOM = code(Action.VISIT), code(Action.CUSTOM)
# Action.VISIT comes before Action.CUSTOM in event_order (the enum's order).
_ACTION_RANK = {_VISIT: 0, _CUSTOM: 1}


def _ids_in(column: Any, ids: Sequence[int]) -> Any:
    # Rendered as literals: a pattern may match more paths than a statement may bind.
    return column.in_(bindparam(None, list(ids), expanding=True, literal_execute=True))


async def funnel_counts(
    connection: AsyncConnection,
    project_id: str,
    span: Interval,
    steps: Sequence[Step],
    window: timedelta,
) -> list[int]:
    """Per step, the visitors (per salt window of length ``window``) who did steps 1 to
    it in order among the project's events in ``span``."""
    number = number_of(project_id)
    paths: dict[int, int] = defaultdict(int)  # path id -> steps' bits (page views)
    names: dict[int, int] = defaultdict(int)  # name id -> steps' bits (custom events)
    texts: dict[int, str] = {}
    for index, step in enumerate(steps):
        if step.page is not None:
            found = await texts_matching(connection, number, step.page, pattern=True)
            for id_ in found:
                paths[id_] |= 1 << index
        else:
            assert step.event is not None
            found = await texts_matching(connection, number, step.event, pattern=False)
            for id_ in found:
                names[id_] |= 1 << index
        texts.update(found)
    if not paths and not names:
        return [0] * len(steps)
    e = _events.c
    doing = []
    if paths:
        doing.append((e.action == _VISIT) & _ids_in(e.path, sorted(paths)))
    if names:
        doing.append((e.action == _CUSTOM) & _ids_in(e.name, sorted(names)))
    condition = doing[0] if len(doing) == 1 else doing[0] | doing[1]
    query = select(e.visitor, e.ts, e.action, e.path, e.name, e.id).where(
        events_in(project_id, span) & condition
    )
    rows = list((await connection.execute(query)).all())
    # The path's text orders page views; a custom event's path may be any page.
    unknown = {row[3] for row in rows if row[3] not in texts}
    if unknown:
        t = tables.texts.c
        looked = await connection.execute(
            select(t.id, t.text).where((t.project == number) & _ids_in(t.id, sorted(unknown)))
        )
        texts.update(dict(looked.all()))
    width = window // timedelta(milliseconds=1)

    def mask(row: Any) -> int:
        return paths.get(row[3], 0) if row[2] == _VISIT else names.get(row[4], 0)

    def key(row: Any) -> tuple[Any, ...]:
        return (row[1] // width, row[0], row[1], _ACTION_RANK[row[2]], texts[row[3]])

    rows.sort(key=key)
    runs: list[list[int]] = []
    tied: list[tuple[int, list[Any]]] = []  # (run number, rows) to order in full
    for _, run_rows in groupby(rows, key=lambda r: key(r)[:2]):
        run: list[int] = []
        for _, same in groupby(run_rows, key=key):
            group = list(same)
            if len({mask(row) for row in group}) > 1:
                tied.append((len(runs), group))
                run.append(-len(tied))  # a placeholder, replaced below
            else:
                run.extend(mask(row) for row in group)
        runs.append(run)
    for number_in_tied, (run_number, group) in enumerate(tied, start=1):
        events = await read_events(connection, _ids_in(e.id, [row[5] for row in group]))
        by_id = {row[5]: mask(row) for row in group}
        ids = [row[5] for row in group]
        # read_events gives storage order (by id): pair each event with its row's bits.
        ordered = sorted(
            zip(events, sorted(ids), strict=True), key=lambda pair: event_order(pair[0])
        )
        run = runs[run_number]
        at = run.index(-number_in_tied)
        run[at : at + 1] = [by_id[id_] for _, id_ in ordered]
    return counts_of_runs(runs, len(steps))
