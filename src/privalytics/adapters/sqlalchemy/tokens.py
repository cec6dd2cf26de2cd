"""SqlAlchemyTokenStore: projects, their tokens and the admin keys.

Every call runs inside ``unavailable_on_failure``, so a database that cannot be reached
(or refuses to write) raises StorageUnavailable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import RowMapping, delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import ping, unavailable_on_failure
from privalytics.adapters.sqlalchemy.tables import from_micros, to_micros
from privalytics.domain.models import (
    AdminKeyRecord,
    Project,
    RateLimit,
    TokenKind,
    TokenRecord,
)


def _optional_micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def _optional_datetime(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


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
        "kind": token.kind.value,
    }


def _token(row: RowMapping) -> TokenRecord:
    return TokenRecord(
        id=row["id"],
        project_id=row["project_id"],
        secret_hash=bytes(row["secret_hash"]),
        created_at=from_micros(row["created_at"]),
        revoked_at=_optional_datetime(row["revoked_at"]),
        kind=TokenKind(row["kind"]),
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

    async def _insert_token(self, connection: AsyncConnection, token: TokenRecord) -> bool:
        """Insert ``token`` if its project exists; False otherwise. Inside the caller's
        transaction, which a concurrent delete of the project cannot cross."""
        if self.engine.dialect.name == "postgresql":
            # Take the project's row: a delete under way is waited for (then no row comes
            # back), and a delete that starts now waits for this transaction, whose token
            # it then removes with the project. Without it, the insert's foreign-key check
            # fails against a delete committed in between.
            held = select(_projects.c.id).where(_projects.c.id == token.project_id)
            found = (await connection.execute(held.with_for_update(key_share=True))).first()
            if found is None:
                return False
        # SQLite: one statement that writes takes the write lock before it reads, so the
        # project it finds cannot go before the token is in.
        row = _token_row(token)
        source = select(*(literal(value, _tokens.c[name].type) for name, value in row.items()))
        project_exists = select(_projects.c.id).where(_projects.c.id == token.project_id).exists()
        insert = _tokens.insert().from_select(list(row), source.where(project_exists))
        return (await connection.execute(insert)).rowcount == 1

    async def add_token(self, token: TokenRecord) -> bool:
        async with unavailable_on_failure("store a token"), self.engine.begin() as connection:
            return await self._insert_token(connection, token)

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

    async def rotate_token(self, token: TokenRecord, at: datetime) -> list[str] | None:
        revoke = (
            update(_tokens)
            .where(
                (_tokens.c.project_id == token.project_id)
                & (_tokens.c.kind == token.kind.value)
                & _tokens.c.revoked_at.is_(None)
                & (_tokens.c.id != token.id)
            )
            .values(revoked_at=to_micros(at))
            .returning(_tokens.c.id)
        )
        async with unavailable_on_failure("rotate tokens"), self.engine.begin() as connection:
            if not await self._insert_token(connection, token):
                return None
            revoked = list((await connection.execute(revoke)).scalars())
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
        await ping(self.engine)
