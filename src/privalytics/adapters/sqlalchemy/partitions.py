"""PostgreSQL: the events table partitioned by month of ``ts`` (migration 0008).

Each calendar month (UTC) of events is a table of its own, ``events_pYYYYMM``, so that
expiring old events (expiry.py) drops whole months instead of deleting rows one by one
(no dead rows left for VACUUM, no index bloat), and a month's index is a small part of
the whole.
``events_default`` takes an event of a month that has no partition yet (an import of old
data, a clock far off); the next maintenance moves such rows into their month's new
partition.

Maintenance (:func:`ensure_months`) runs with the rollup refresh: it makes the partitions
of the months around now, two behind and two ahead, so that live traffic never reaches
the default partition. Several instances may run it at once: a transaction-level advisory
lock lets one do it at a time, and the others find the work done.

SQLite has no partitions: its events table stays one table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

DEFAULT_PARTITION = "events_default"
MONTHS_BEHIND = 2
MONTHS_AHEAD = 2
# pg_advisory_xact_lock key: "privalytics partitions" (any constant of our own).
PARTITION_LOCK = 0x70_72_69_76_70_61_72_74
# How long maintenance waits for a lock before it gives up until the next refresh.
LOCK_WAIT = "1s"
_LOCK_NOT_AVAILABLE = "55P03"


def month_of(moment_ms: int) -> tuple[int, int]:
    moment = datetime.fromtimestamp(moment_ms / 1000, UTC)
    return moment.year, moment.month


def shifted(month: tuple[int, int], by: int) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 + by
    return index // 12, index % 12 + 1


def bounds(month: tuple[int, int]) -> tuple[int, int]:
    """The month's first millisecond and the next month's first, UTC."""
    start = datetime(month[0], month[1], 1, tzinfo=UTC)
    nxt = shifted(month, 1)
    end = datetime(nxt[0], nxt[1], 1, tzinfo=UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def name_of(month: tuple[int, int]) -> str:
    return f"events_p{month[0]:04d}{month[1]:02d}"


def month_named(name: str) -> tuple[int, int] | None:
    """The month of a partition's name; None for any other table."""
    digits = name.removeprefix("events_p")
    if name == digits or len(digits) != 6 or not digits.isdigit():
        return None
    month = (int(digits[:4]), int(digits[4:]))
    return month if 1 <= month[1] <= 12 else None


async def partitions(connection: AsyncConnection) -> dict[tuple[int, int], str]:
    """The events table's monthly partitions, by month."""
    result = await connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass"
        )
    )
    found = {}
    for (name,) in result:
        month = month_named(name)
        if month is not None:
            found[month] = name
    return found


async def create_month(connection: AsyncConnection, month: tuple[int, int]) -> None:
    """Make the month's partition; rows of that month waiting in the default partition
    move into it (in the caller's transaction)."""
    start, end = bounds(month)
    name = name_of(month)
    # No other insert may reach the default partition while its rows of the month move.
    await connection.execute(text(f"LOCK TABLE {DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE"))
    waiting = await connection.scalar(
        text(f"SELECT count(*) FROM {DEFAULT_PARTITION} WHERE ts >= :start AND ts < :end"),  # noqa: S608
        {"start": start, "end": end},
    )
    if not waiting:
        await connection.execute(
            text(f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ({start}) TO ({end})")
        )
        return
    await connection.execute(text(f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)"))
    await connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION}"  # noqa: S608
            " WHERE ts >= :start AND ts < :end RETURNING *)"
            f" INSERT INTO {name} SELECT * FROM moved"
        ),
        {"start": start, "end": end},
    )
    await connection.execute(
        text(f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ({start}) TO ({end})")
    )


async def ensure_months(connection: AsyncConnection, now_ms: int) -> list[str]:
    """Make the partitions of the months around ``now_ms`` and of every month that has
    rows in the default partition; returns the names made."""
    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITION_LOCK})
    have = await partitions(connection)
    here = month_of(now_ms)
    wanted = {shifted(here, by) for by in range(-MONTHS_BEHIND, MONTHS_AHEAD + 1)}
    # Rows waiting in the default partition: every month from its oldest to its newest.
    oldest, newest = (
        await connection.execute(text(f"SELECT min(ts), max(ts) FROM {DEFAULT_PARTITION}"))  # noqa: S608
    ).one()
    if oldest is not None:
        month, last = month_of(oldest), month_of(newest)
        while month <= last:
            wanted.add(month)
            month = shifted(month, 1)
    made = []
    for month in sorted(wanted - set(have)):
        await create_month(connection, month)
        made.append(name_of(month))
    return made


class Maintenance:
    """:func:`ensure_months` once per month and process: the months around now exist
    from then on (and rows that reached the default partition move at the next start or
    month)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._done: tuple[int, int] | None = None

    async def ensure(self, now_ms: int) -> list[str]:
        """The partitions made; none when a lock it needs is held past ``LOCK_WAIT``
        (a long insert into the default partition, another instance's maintenance): it
        never holds up ingestion or the refresh for longer, and tries again next time."""
        month = month_of(now_ms)
        if self._done == month:
            return []
        try:
            async with self._engine.begin() as connection:
                await connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
                made = await ensure_months(connection, now_ms)
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            return []
        self._done = month
        return made
