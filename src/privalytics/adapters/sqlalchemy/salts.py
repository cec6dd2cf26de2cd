"""SqlAlchemySaltStore: the visitor-hashing salts, one row per salt window.

A deleted salt must not be recoverable from the database's files (docs/privacy.md,
"Deleted salts on disk"), and a plain DELETE leaves its bytes behind: in the freed space of
the table's pages and in the write-ahead log, until something happens to overwrite them.

- PostgreSQL: the table is UNLOGGED (migration 0009), so no salt is ever written to the
  WAL, and a purge rewrites it: TRUNCATE gives the table a new, empty file, into which the
  salts that stay are copied back, in the same transaction. At commit PostgreSQL truncates
  the old file to nothing (and unlinks it at the next checkpoint), whatever old snapshot
  another session holds, which VACUUM FULL would have to respect.
- SQLite: the purge deletes with ``secure_delete`` on (the freed bytes are overwritten with
  zeros), then truncates the WAL file, whose older frames still hold the pages as they
  were; if readers keep it from doing so, the next purge tries again.

Every call runs inside ``unavailable_on_failure``, so a database that cannot be reached
(or refuses to write) raises StorageUnavailable.
"""

from __future__ import annotations

import time

from sqlalchemy import ColumnElement, delete, exists, func, insert, not_, or_, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import ping, unavailable_on_failure

_salts = tables.salts
# How long a purge waits: SQLite's checkpoint for readers of older pages, PostgreSQL's
# rewrite for its lock on the table.
_CHECKPOINT_WAIT_MS = 250
_LOCK_WAIT_MS = 2000
# What ``PRAGMA secure_delete`` reads as, and the word that sets it back ("2" would not).
_SECURE_DELETE = {0: "OFF", 1: "ON", 2: "FAST"}


class SqlAlchemySaltStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._insert = sqlite_insert if self._sqlite else postgresql_insert
        # SQLite: a purge deleted salts, but could not truncate the WAL file yet.
        self._wal_owed = False

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
        expired = or_(_salts.c.salt_window < current, _salts.c.salt_window % rotation != 0)
        if self._sqlite:
            return await self._delete_on_sqlite(expired)
        return await self._rewrite_on_postgres(expired)

    async def _delete_on_sqlite(self, expired: ColumnElement[bool]) -> int:
        async with unavailable_on_failure("delete salts"), self.engine.begin() as connection:
            # Per connection; set back, so that the pooled connection's other deletes (of
            # events) do not pay for the extra writes.
            before = (await connection.exec_driver_sql("PRAGMA secure_delete")).scalar_one()
            await connection.exec_driver_sql("PRAGMA secure_delete=ON")
            deleted = (await connection.execute(delete(_salts).where(expired))).rowcount
            setting = _SECURE_DELETE.get(before, "OFF")
            await connection.exec_driver_sql(f"PRAGMA secure_delete={setting}")
        if deleted or self._wal_owed:
            self._wal_owed = not await self._truncate_wal()
        return deleted

    async def _truncate_wal(self) -> bool:
        """Copy the WAL into the database file and truncate it to zero bytes; False when
        readers or writers kept it from completing within busy_timeout."""
        async with unavailable_on_failure("checkpoint"), self.engine.connect() as connection:
            # Outside any transaction (SQLite refuses a checkpoint inside one), so on the
            # driver's connection, which is in autocommit (engine.py).
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None  # a live connection has its aiosqlite one
            # Waiting for readers, the checkpoint holds the write lock, so events would
            # wait as long: a short wait, and the next purge tries again.
            async with driver.execute("PRAGMA busy_timeout") as cursor:
                setting = await cursor.fetchone()
            before = int(setting[0]) if setting else 0
            await driver.execute(f"PRAGMA busy_timeout={_CHECKPOINT_WAIT_MS}")
            try:
                async with driver.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                    row = await cursor.fetchone()
            finally:
                await driver.execute(f"PRAGMA busy_timeout={before}")
        return row is not None and row[0] == 0

    async def _rewrite_on_postgres(self, expired: ColumnElement[bool]) -> int:
        async with unavailable_on_failure("delete salts"), self.engine.connect() as connection:
            # Without a lock first: the usual purge (every few minutes) finds nothing.
            found = await connection.scalar(select(exists().where(expired)))
            await connection.commit()
        if not found:
            return 0
        try:
            return await self._rewrite(expired)
        except DBAPIError as error:
            if not _lock_not_available(error):
                raise
            # A session holds the table (an operator's open transaction?): salts are
            # created meanwhile, and the next purge tries again.
            return 0

    async def _rewrite(self, expired: ColumnElement[bool]) -> int:
        async with unavailable_on_failure("delete salts"), self.engine.begin() as connection:
            # Creating a salt would wait for the lock as long: bounded.
            await connection.execute(text(f"SET LOCAL lock_timeout = {_LOCK_WAIT_MS}"))
            # Before reading what stays: a salt created between that read and the TRUNCATE
            # would be lost, and two processes would hash the window with different salts.
            # Creating a salt waits for this short transaction instead.
            await connection.execute(text("LOCK TABLE salts IN ACCESS EXCLUSIVE MODE"))
            rows = (await connection.execute(select(_salts).where(not_(expired)))).all()
            total = await connection.scalar(select(func.count()).select_from(_salts))
            deleted = int(total or 0) - len(rows)
            if deleted:
                await connection.execute(text("TRUNCATE salts"))
                if rows:
                    await connection.execute(insert(_salts), [row._asdict() for row in rows])
        return deleted

    async def ping(self) -> None:
        await ping(self.engine)


def _lock_not_available(error: DBAPIError) -> bool:
    # SQLAlchemy's asyncpg adapter raises its own class from the driver's, which has the
    # SQLSTATE: 55P03 lock_not_available (lock_timeout).
    origin = error.orig
    for candidate in (origin, getattr(origin, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) == "55P03":
            return True
    return False
