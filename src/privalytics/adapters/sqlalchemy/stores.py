"""The SQL stores: EventStore, TokenStore and SaltStore over SQLAlchemy Core.

The stores share one AsyncEngine. Every call runs inside ``unavailable_on_failure``, so a
database that cannot be reached (or refuses to write) raises StorageUnavailable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import (
    RowMapping,
    case,
    delete,
    distinct,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import (
    names_a_plain_file,
    storage_failure,
    unavailable_on_failure,
)
from privalytics.adapters.sqlalchemy.pgwriter import AsyncpgEventWriter
from privalytics.adapters.sqlalchemy.planning import events_in, interval_of, stale_marks
from privalytics.adapters.sqlalchemy.refresh import RollupWriter
from privalytics.adapters.sqlalchemy.rollups import RollupReader
from privalytics.adapters.sqlalchemy.sqlitewriter import (
    HAS_STALE_TRIGGER,
    OLD_SCHEMA,
    SqliteEventWriter,
)
from privalytics.adapters.sqlalchemy.tables import from_micros, from_millis, to_micros, to_millis
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import (
    Action,
    AdminKeyRecord,
    Bucket,
    Event,
    PageStats,
    Project,
    RateLimit,
    TimeRange,
    TokenRecord,
)
from privalytics.domain.reports import HOUR

_HOUR_MS = HOUR // timedelta(milliseconds=1)


def _optional_micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def _optional_datetime(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


async def _ping(engine: AsyncEngine) -> None:
    async with unavailable_on_failure("reach it"), engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# --- events ----------------------------------------------------------------------------

_events = tables.events


_EVENT_COLUMNS = (
    "project_id",
    "action",
    "path",
    "ts",
    "visitor_hash",
    "referrer",
    "target",
    "value",
    "props",
)


def event_values(event: Event) -> tuple[Any, ...]:
    """An event's column values, in the order of ``_EVENT_COLUMNS``."""
    return (
        event.project_id,
        event.action.value,
        event.path,
        to_millis(event.timestamp),
        event.visitor_hash,
        event.referrer,
        event.target,
        event.value,
        msgspec.json.encode(event.props).decode() if event.props else None,
    )


def event_from_row(row: RowMapping) -> Event:
    """The Event a stored row holds (its timestamp at millisecond precision)."""
    props = row["props"]
    return Event(
        project_id=row["project_id"],
        action=Action(row["action"]),
        path=row["path"],
        timestamp=from_millis(row["ts"]),
        visitor_hash=row["visitor_hash"],
        referrer=row["referrer"],
        target=row["target"],
        value=row["value"],
        props=msgspec.json.decode(props, type=dict[str, str]) if props else {},
    )


class SqlAlchemyEventStore:
    """Events in one table; timestamps stored at millisecond precision (truncated).

    ``rollups``: the engine's one reader of the rollups (``open_stores`` builds it), from
    which counts over whole days come where they are up to date.
    """

    def __init__(self, engine: AsyncEngine, rollups: RollupReader) -> None:
        self.engine = engine
        self.rollups = rollups
        self._refresher = RollupWriter(engine)
        # The hot insert bypasses SQLAlchemy's statement layer (sqlitewriter.py,
        # pgwriter.py); a SQLite database that a second connection cannot open (":memory:",
        # a "file:" URI) keeps the plain SQLAlchemy insert.
        self._writer: SqliteEventWriter | AsyncpgEventWriter | None = None
        self._trigger_seen = False
        if engine.dialect.name == "postgresql":
            self._writer = AsyncpgEventWriter(engine)
        elif names_a_plain_file(engine.url):
            writer = SqliteEventWriter(os.path.abspath(engine.url.database or ""))
            # Closes with the engine too, so that disposing the engine releases everything.
            sa_event.listen(engine.sync_engine, "engine_disposed", lambda _engine: writer.close())
            self._writer = writer

    @property
    def commits_together(self) -> bool:
        """Whether concurrent ``add()`` calls already share transactions here (the SQLite
        writer thread groups them), so that a group commit in front would only queue them
        one transaction at a time."""
        return isinstance(self._writer, SqliteEventWriter)

    async def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        values = [event_values(event) for event in events]
        # What unavailable_on_failure does, without a context manager on the hot path.
        try:
            if isinstance(self._writer, AsyncpgEventWriter):
                # The days these events fall on: their rollups are stale until recomputed,
                # which the same statement records.
                await self._writer.insert(values, stale_marks(values))
            elif self._writer is not None:
                # SQLite: a trigger marks the days stale in the same statement (migration
                # 0004).
                await self._writer.insert(values)
            else:
                rows = [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in values]
                async with self.engine.begin() as connection:
                    if not self._trigger_seen:  # as the writer checks (sqlitewriter.py)
                        if (await connection.execute(text(HAS_STALE_TRIGGER))).first() is None:
                            raise StorageUnavailable(OLD_SCHEMA)
                        self._trigger_seen = True
                    await connection.execute(_events.insert(), rows)
        except Exception as error:
            failure = storage_failure(error, "store events")
            if failure is error:
                raise
            raise failure from None

    async def aclose(self) -> None:
        """Release the insert path's own connection (before the engine is disposed)."""
        if self._writer is not None:
            await self._writer.aclose()

    async def count_by_action(self, project_id: str, span: TimeRange) -> dict[Action, int]:
        return await self.rollups.count_by_action(project_id, interval_of(span))

    async def unique_visitors(self, project_id: str, span: TimeRange) -> int:
        return await self.rollups.unique_visitors(project_id, interval_of(span))

    async def top_pages(self, project_id: str, span: TimeRange, limit: int) -> list[PageStats]:
        if limit <= 0:
            return []
        return await self.rollups.top_pages(project_id, interval_of(span), limit)

    async def refresh(self, before: datetime) -> int:
        return await self._refresher.refresh(before)

    async def hourly(self, project_id: str, span: TimeRange) -> list[Bucket]:
        # Hours counted from the hour holding span.start: never negative, so integer
        # division floors the same way on every backend.
        base = to_millis(span.start) // _HOUR_MS * _HOUR_MS
        # Visits, and the distinct visitors of every event (docs/privacy.md).
        hours = (
            select(
                ((_events.c.ts - base) // _HOUR_MS).label("hour"),
                _events.c.visitor_hash,
                _events.c.action,
            )
            .where(events_in(project_id, interval_of(span)))
            .subquery()
        )
        query = (
            select(
                hours.c.hour,
                func.count(case((hours.c.action == Action.VISIT.value, 1))),
                func.count(distinct(hours.c.visitor_hash)),
            )
            .group_by(hours.c.hour)
            .order_by(hours.c.hour)
        )
        async with unavailable_on_failure("count visits"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            Bucket(start=from_millis(base + hour * _HOUR_MS), visits=n, unique_visitors=u)
            for hour, n, u in rows
        ]

    async def delete_project_events(self, project_id: str) -> int:
        statement = delete(_events).where(_events.c.project_id == project_id)
        async with unavailable_on_failure("delete events"), self.engine.begin() as connection:
            deleted = (await connection.execute(statement)).rowcount
            for table in (tables.rollup_stale, *tables.ROLLUPS):
                await connection.execute(delete(table).where(table.c.project_id == project_id))
            return deleted

    async def project_ids(self) -> list[str]:
        # A loose index scan: one index seek per project, not a read of every event (both
        # engines find MIN(project_id) > x in ix_events_project_id_ts).
        query = text(
            "WITH RECURSIVE ids(project_id) AS ("
            " SELECT MIN(project_id) FROM events"
            " UNION ALL"
            " SELECT (SELECT MIN(e.project_id) FROM events e WHERE e.project_id > ids.project_id)"
            " FROM ids WHERE ids.project_id IS NOT NULL"
            ") SELECT project_id FROM ids WHERE project_id IS NOT NULL"
        )
        async with unavailable_on_failure("list projects"), self.engine.connect() as connection:
            return list((await connection.execute(query)).scalars())

    async def ping(self) -> None:
        await _ping(self.engine)


# --- projects, tokens, admin keys ------------------------------------------------------

_projects = tables.projects
_tokens = tables.tokens
_admin_keys = tables.admin_keys


def _project_row(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "rate_limit_events": project.rate_limit.events,
        "rate_limit_period": project.rate_limit.period_seconds,
        "allowed_origins": msgspec.json.encode(project.allowed_origins).decode(),
        "created_at": to_micros(project.created_at),
    }


def _project(row: RowMapping) -> Project:
    return Project(
        id=row["id"],
        name=row["name"],
        rate_limit=RateLimit(
            events=row["rate_limit_events"], period_seconds=row["rate_limit_period"]
        ),
        allowed_origins=msgspec.json.decode(row["allowed_origins"], type=tuple[str, ...]),
        created_at=from_micros(row["created_at"]),
    )


def _token_row(token: TokenRecord) -> dict[str, Any]:
    return {
        "id": token.id,
        "project_id": token.project_id,
        "secret_hash": token.secret_hash,
        "created_at": to_micros(token.created_at),
        "revoked_at": _optional_micros(token.revoked_at),
    }


def _token(row: RowMapping) -> TokenRecord:
    return TokenRecord(
        id=row["id"],
        project_id=row["project_id"],
        secret_hash=bytes(row["secret_hash"]),
        created_at=from_micros(row["created_at"]),
        revoked_at=_optional_datetime(row["revoked_at"]),
    )


def _admin_key(row: RowMapping) -> AdminKeyRecord:
    return AdminKeyRecord(
        id=row["id"],
        secret_hash=bytes(row["secret_hash"]),
        created_at=from_micros(row["created_at"]),
        revoked_at=_optional_datetime(row["revoked_at"]),
    )


class SqlAlchemyTokenStore:
    """Projects, their tokens (deleted with their project) and the admin keys."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_project(self, project: Project, token: TokenRecord) -> None:
        async with unavailable_on_failure("store a project"), self.engine.begin() as connection:
            await connection.execute(_projects.insert(), [_project_row(project)])
            await connection.execute(_tokens.insert(), [_token_row(token)])

    async def get_project(self, project_id: str) -> Project | None:
        query = select(_projects).where(_projects.c.id == project_id)
        async with unavailable_on_failure("read a project"), self.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _project(row)

    async def list_projects(self) -> list[Project]:
        query = select(_projects).order_by(_projects.c.created_at, _projects.c.id)
        async with unavailable_on_failure("list projects"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_project(row) for row in rows]

    async def update_project(self, project: Project) -> bool:
        values = _project_row(project)
        del values["id"]
        statement = update(_projects).where(_projects.c.id == project.id).values(values)
        async with unavailable_on_failure("update a project"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def delete_project(self, project_id: str) -> bool:
        # The tokens go with it: ON DELETE CASCADE (SQLite: foreign_keys=ON per connection).
        statement = delete(_projects).where(_projects.c.id == project_id)
        async with unavailable_on_failure("delete a project"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def add_token(self, token: TokenRecord) -> None:
        async with unavailable_on_failure("store a token"), self.engine.begin() as connection:
            await connection.execute(_tokens.insert(), [_token_row(token)])

    async def get_token(self, token_id: str) -> TokenRecord | None:
        query = select(_tokens).where(_tokens.c.id == token_id)
        async with unavailable_on_failure("read a token"), self.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _token(row)

    async def list_tokens(self, project_id: str) -> list[TokenRecord]:
        query = (
            select(_tokens)
            .where(_tokens.c.project_id == project_id)
            .order_by(_tokens.c.created_at, _tokens.c.id)
        )
        async with unavailable_on_failure("list tokens"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_token(row) for row in rows]

    async def revoke_token(self, token_id: str, at: datetime, *, keep_last: bool = False) -> bool:
        live = (_tokens.c.id == token_id) & _tokens.c.revoked_at.is_(None)
        if keep_last:
            other = _tokens.alias("other")
            live &= (
                select(other.c.id)
                .where(
                    (other.c.project_id == _tokens.c.project_id)
                    & (other.c.id != _tokens.c.id)
                    & other.c.revoked_at.is_(None)
                )
                .exists()
            )
        statement = update(_tokens).where(live).values(revoked_at=to_micros(at))
        async with unavailable_on_failure("revoke a token"), self.engine.begin() as connection:
            if keep_last and self.engine.dialect.name == "postgresql":
                # Read committed: the update's look at the other tokens is of the moment it
                # began, so two at once could each see the other's token live. Revokes of
                # one project's tokens take turns on its row; the update then begins after
                # the other's commit. (SQLite runs one writing statement at a time.)
                project = select(_tokens.c.project_id).where(_tokens.c.id == token_id)
                await connection.execute(
                    select(_projects.c.id)
                    .where(_projects.c.id == project.scalar_subquery())
                    .with_for_update()
                )
            return (await connection.execute(statement)).rowcount == 1

    async def rotate_token(self, token: TokenRecord, at: datetime) -> list[str]:
        revoke = (
            update(_tokens)
            .where((_tokens.c.project_id == token.project_id) & _tokens.c.revoked_at.is_(None))
            .values(revoked_at=to_micros(at))
            .returning(_tokens.c.id)
        )
        async with unavailable_on_failure("rotate tokens"), self.engine.begin() as connection:
            revoked = list((await connection.execute(revoke)).scalars())
            await connection.execute(_tokens.insert(), [_token_row(token)])
        return sorted(revoked)

    async def add_admin_key(self, key: AdminKeyRecord) -> None:
        row = {
            "id": key.id,
            "secret_hash": key.secret_hash,
            "created_at": to_micros(key.created_at),
            "revoked_at": _optional_micros(key.revoked_at),
        }
        async with unavailable_on_failure("store an admin key"), self.engine.begin() as connection:
            await connection.execute(_admin_keys.insert(), [row])

    async def get_admin_key(self, key_id: str) -> AdminKeyRecord | None:
        query = select(_admin_keys).where(_admin_keys.c.id == key_id)
        async with unavailable_on_failure("read an admin key"), self.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _admin_key(row)

    async def list_admin_keys(self) -> list[AdminKeyRecord]:
        query = select(_admin_keys).order_by(_admin_keys.c.created_at, _admin_keys.c.id)
        async with unavailable_on_failure("list admin keys"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_admin_key(row) for row in rows]

    async def revoke_admin_key(self, key_id: str, at: datetime) -> bool:
        statement = (
            update(_admin_keys)
            .where((_admin_keys.c.id == key_id) & _admin_keys.c.revoked_at.is_(None))
            .values(revoked_at=to_micros(at))
        )
        async with unavailable_on_failure("revoke an admin key"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def ping(self) -> None:
        await _ping(self.engine)


# --- salts -----------------------------------------------------------------------------

_salts = tables.salts


class SqlAlchemySaltStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert

    async def get_or_create(self, start: int, candidate: bytes) -> bytes:
        # Insert-if-absent, then read: whichever process inserted first, every racer reads
        # its row. The INSERT comes first so that SQLite takes the write lock (waiting
        # busy_timeout) before reading, and PostgreSQL's read sees the committed winner.
        statement = (
            self._insert(_salts)
            .values(salt_window=start, salt=candidate, created_at=time.time_ns() // 1000)
            .on_conflict_do_nothing(index_elements=[_salts.c.salt_window])
        )
        query = select(_salts.c.salt).where(_salts.c.salt_window == start)
        async with unavailable_on_failure("store a salt"), self.engine.begin() as connection:
            await connection.execute(statement)
            stored = (await connection.execute(query)).scalar_one()
        return bytes(stored)

    async def delete_expired(self, current: int, rotation: int) -> int:
        statement = delete(_salts).where(
            or_(_salts.c.salt_window < current, _salts.c.salt_window % rotation != 0)
        )
        async with unavailable_on_failure("delete salts"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount

    async def ping(self) -> None:
        await _ping(self.engine)
