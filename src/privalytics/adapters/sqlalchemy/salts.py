"""SqlAlchemySaltStore: the visitor-hashing salts, one row per salt window.

Every call runs inside ``unavailable_on_failure``, so a database that cannot be reached
(or refuses to write) raises StorageUnavailable.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import ping, unavailable_on_failure

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
        await ping(self.engine)
