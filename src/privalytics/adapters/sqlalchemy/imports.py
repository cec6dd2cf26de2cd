"""SqlAlchemyImportStore: the imports registry (migration 0019), and an imported file's
events stored with its registry line in one transaction.

The events go through the insert path of live events (:mod:`.dictionary`'s resolution of
texts, then the same statements), inside one transaction of the engine opened for the
import: on SQLite, the trigger of migration 0004 marks their days stale as for any
insert; on PostgreSQL, the writer's statement (:data:`.pgwriter._INSERT`) inserts them and
marks their days, and a day whose mark another process committed meanwhile is marked again
after the commit, as the writer does. The texts the import resolved enter the event
store's dictionary only once the transaction has committed.

The transaction holds SQLite's write lock for as long as the import stores (about a
second per 100,000 events): live events wait that long (at most the busy timeout, then
503). PostgreSQL's inserts and the import's do not block each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, and_, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.dictionary import (
    Dictionary,
    Known,
    Values,
    event_values,
    resolve_postgres,
    resolve_sqlite,
)
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.events import SqlAlchemyEventStore
from privalytics.adapters.sqlalchemy.pgwriter import _INSERT, _MARK_AGAIN, _columns
from privalytics.adapters.sqlalchemy.planning import stale_marks
from privalytics.adapters.sqlalchemy.sqlitewriter import (
    _CHUNK,
    HAS_STALE_TRIGGER,
    OLD_SCHEMA,
    _flat,
    _insert_sql,
)
from privalytics.adapters.sqlalchemy.tables import from_micros, from_millis, to_micros, to_millis
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import Event, ImportRecord, TimeRange

_imports = tables.imports


def _record(row: Any) -> ImportRecord:
    return ImportRecord(
        id=row.id,
        project_id=row.project_id,
        sha256=row.sha256,
        format=row.format,
        first=None if row.first_ts is None else from_millis(row.first_ts),
        last=None if row.last_ts is None else from_millis(row.last_ts),
        events=int(row.events),
        imported_at=from_micros(row.imported_at),
    )


class SqlAlchemyImportStore:
    """The imports of the event store's database (sharing its engine and dictionary)."""

    def __init__(self, events: SqlAlchemyEventStore) -> None:
        self._events = events
        self._engine = events.engine
        self._postgres = self._engine.dialect.name == "postgresql"

    async def import_events(
        self, record: ImportRecord, batches: AsyncIterable[Sequence[Event]]
    ) -> ImportRecord | None:
        insert = postgresql_insert if self._postgres else sqlite_insert
        local = Dictionary()
        unheld: set[tuple[str, int]] = set()
        count = 0
        async with unavailable_on_failure("import events"), self._engine.begin() as connection:
            added = await connection.execute(
                insert(_imports)
                .values(
                    id=record.id,
                    project_id=record.project_id,
                    sha256=record.sha256,
                    format=record.format,
                    first_ts=None if record.first is None else to_millis(record.first),
                    last_ts=None if record.last is None else to_millis(record.last),
                    events=0,
                    imported_at=to_micros(record.imported_at),
                )
                .on_conflict_do_nothing(index_elements=["project_id", "sha256"])
            )
            if added.rowcount != 1:
                return None
            if not self._postgres and (
                (await connection.execute(text(HAS_STALE_TRIGGER))).first() is None
            ):
                raise StorageUnavailable(OLD_SCHEMA)
            async for batch in batches:
                if not batch:
                    continue
                values = [event_values(event) for event in batch]
                if self._postgres:
                    unheld.update(await _insert_postgres(connection, values, local))
                else:
                    local.learn(*await connection.run_sync(_insert_sqlite, values, local))
                count += len(batch)
            await connection.execute(
                update(_imports).where(_imports.c.id == record.id).values(events=count)
            )
        # Committed: what it resolved names texts now.
        self._events.learn(local.numbers, local.ids)
        if unheld:
            marks = sorted(unheld)
            async with unavailable_on_failure("import events"), self._engine.begin() as again:
                driver = (await again.get_raw_connection()).driver_connection
                assert driver is not None
                await driver.execute(
                    _MARK_AGAIN, [mark[0] for mark in marks], [mark[1] for mark in marks]
                )
        return msgspec.structs.replace(record, events=count)

    async def find_import(self, project_id: str, sha256: str) -> ImportRecord | None:
        query = select(_imports).where(
            _imports.c.project_id == project_id, _imports.c.sha256 == sha256
        )
        async with unavailable_on_failure("read imports"), self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _record(row)

    async def list_imports(self, project_id: str) -> list[ImportRecord]:
        query = (
            select(_imports)
            .where(_imports.c.project_id == project_id)
            .order_by(_imports.c.imported_at, _imports.c.id)
        )
        async with unavailable_on_failure("read imports"), self._engine.connect() as connection:
            return [_record(row) for row in await connection.execute(query)]

    async def imported_within(self, project_id: str, span: TimeRange) -> bool:
        query = (
            select(_imports.c.id)
            .where(
                and_(
                    _imports.c.project_id == project_id,
                    _imports.c.events > 0,
                    _imports.c.first_ts < to_millis(span.end),
                    _imports.c.last_ts >= to_millis(span.start),
                )
            )
            .limit(1)
        )
        async with unavailable_on_failure("read imports"), self._engine.connect() as connection:
            return (await connection.execute(query)).first() is not None

    async def delete_project_imports(self, project_id: str) -> int:
        query = delete(_imports).where(_imports.c.project_id == project_id)
        async with unavailable_on_failure("delete imports"), self._engine.begin() as connection:
            return int((await connection.execute(query)).rowcount)


async def _insert_postgres(
    connection: AsyncConnection, values: Sequence[tuple[Any, ...]], local: Dictionary
) -> list[tuple[str, int]]:
    """The writer's statement inside this transaction: the rows and their days' marks;
    returns the days to mark again once committed."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    stored, numbers, ids = await resolve_postgres(driver, values, local)
    local.learn(numbers, ids)
    projects, days = zip(*stale_marks(values), strict=True)
    rows = await driver.fetch(_INSERT, *_columns(stored), list(projects), list(days))
    return [(row[0], row[1]) for row in rows]


def _insert_sqlite(
    sync: Connection, values: Sequence[Values], local: Dictionary
) -> tuple[dict[str, int], dict[int, Known]]:
    """The writer thread's statements (sqlitewriter.py: multi-row inserts of 1,000 rows)
    inside this transaction; the trigger of migration 0004 marks the days stale. Returns
    what was resolved."""

    def execute(sql: str, parameters: Sequence[object]) -> list[Any]:
        result = sync.exec_driver_sql(sql, tuple(parameters))
        return list(result.fetchall()) if result.returns_rows else []

    stored, numbers, ids = resolve_sqlite(execute, values, local)
    for start in range(0, len(stored), _CHUNK):
        chunk = stored[start : start + _CHUNK]
        sync.exec_driver_sql(_insert_sql(len(chunk)), tuple(_flat(chunk)))
    return numbers, ids
