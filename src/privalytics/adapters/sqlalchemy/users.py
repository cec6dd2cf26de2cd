"""SqlAlchemyUserStore: dashboard users in the ``users`` table."""

from __future__ import annotations

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.tables import from_micros, to_micros
from privalytics.domain.models import User

_users = tables.users


def _user(row: RowMapping) -> User:
    return User(
        username=row["username"],
        password_hash=bytes(row["password_hash"]),
        created_at=from_micros(row["created_at"]),
    )


class SqlAlchemyUserStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_user(self, user: User) -> bool:
        row = {
            "username": user.username,
            "password_hash": user.password_hash,
            "created_at": to_micros(user.created_at),
        }
        try:
            async with unavailable_on_failure("store a user"), self.engine.begin() as connection:
                await connection.execute(_users.insert(), [row])
        except IntegrityError:
            return False
        return True

    async def get_user(self, username: str) -> User | None:
        query = select(_users).where(_users.c.username == username)
        async with unavailable_on_failure("read a user"), self.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _user(row)

    async def set_password(self, username: str, password_hash: bytes) -> bool:
        statement = (
            update(_users).where(_users.c.username == username).values(password_hash=password_hash)
        )
        async with unavailable_on_failure("update a user"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def list_users(self) -> list[User]:
        query = select(_users).order_by(_users.c.username)
        async with unavailable_on_failure("list users"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_user(row) for row in rows]

    async def delete_user(self, username: str) -> bool:
        statement = delete(_users).where(_users.c.username == username)
        async with unavailable_on_failure("delete a user"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1
