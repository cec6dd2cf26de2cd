"""PostgreSQL's events table, partitioned by month (migration 0008, partitions.py): live
events land in their month's table, an event of a month without one waits in the default
partition until maintenance makes its month, and expiry drops whole months as tables while
the rollups keep every figure of the expired days."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from privalytics.adapters.sqlalchemy import SqlStores, migrate, open_stores
from privalytics.adapters.sqlalchemy.partitions import (
    DEFAULT_PARTITION,
    Maintenance,
    month_of,
    name_of,
    partitions,
    shifted,
)
from privalytics.domain.models import Action, TimeRange
from tests.conftest import POSTGRES_URL, require_server
from tests.integration.conftest import create_database, drop_database, fresh_database_name
from tests.integration.test_event_store_contract import event

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


@pytest.fixture
async def stores() -> AsyncIterator[SqlStores]:
    """A PostgreSQL database of the test's own: expiry drops tables."""
    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    name = fresh_database_name()
    url = await create_database(name)
    try:
        await migrate(url)
        opened = open_stores(url)
        try:
            yield opened
        finally:
            await opened.dispose()
    finally:
        await drop_database(name)


async def _where(stores: SqlStores) -> dict[str, int]:
    """How many events each partition holds."""
    async with stores.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1")
        )
        return {str(name): int(count) for name, count in rows.all()}


async def test_events_land_in_the_partition_of_their_month(stores: SqlStores) -> None:
    now_ms = int(NOW.timestamp() * 1000)
    await Maintenance(stores.engine).ensure(now_ms)
    last_month = NOW - timedelta(days=31)
    await stores.events.add([event(at=NOW), event(at=NOW, path="/b"), event(at=last_month)])
    assert await _where(stores) == {
        name_of(month_of(now_ms)): 2,
        name_of(shifted(month_of(now_ms), -1)): 1,
    }
    async with stores.engine.connect() as connection:
        months = set(await partitions(connection))
    # Two months behind and two ahead of now always exist: live traffic never waits.
    assert {shifted(month_of(now_ms), by) for by in range(-2, 3)} <= months


async def test_an_event_of_a_month_without_a_partition_moves_into_its_new_one(
    stores: SqlStores,
) -> None:
    long_ago = datetime(2019, 3, 9, 8, tzinfo=UTC)
    await stores.events.add([event(at=long_ago, visitor="old"), event(at=long_ago, path="/x")])
    assert await _where(stores) == {DEFAULT_PARTITION: 2}
    made = await Maintenance(stores.engine).ensure(int(NOW.timestamp() * 1000))
    assert "events_p201903" in made
    assert await _where(stores) == {"events_p201903": 2}
    # Nothing lost, nothing doubled: the events read back as they were.
    span = TimeRange(start=long_ago - timedelta(hours=1), end=long_ago + timedelta(hours=1))
    counts = await stores.events.count_by_action("p1", span)
    assert counts[Action.VISIT] == 2
    assert await stores.events.unique_visitors("p1", span) == 2


async def test_expiry_drops_whole_months_and_the_rollups_keep_their_figures(
    stores: SqlStores,
) -> None:
    now_ms = int(NOW.timestamp() * 1000)
    await Maintenance(stores.engine).ensure(now_ms)
    # One event a day for 70 days, visitors changing every day, two pages.
    days = [NOW - timedelta(days=back) for back in range(70, 0, -1)]
    await stores.events.add(
        [event(at=day, visitor=f"v{index}", path=f"/{index % 2}") for index, day in enumerate(days)]
    )
    await stores.events.refresh(NOW.replace(hour=0))
    cutoff = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=10)  # mid-November
    expired = TimeRange(start=days[0].replace(hour=0), end=cutoff)
    before = (
        await stores.events.count_by_action("p1", expired),
        await stores.events.unique_visitors("p1", expired),
        await stores.events.top_pages("p1", expired, 10),
    )
    deleted = await stores.events.expire(cutoff)

    # September's events arrived in the default partition; the refresh's maintenance made
    # their month. September and October are wholly before the cutoff: dropped as tables.
    # November's first ten days are deleted, in batches (expiry.py).
    assert deleted == sum(1 for day in days if day < cutoff)
    async with stores.engine.connect() as connection:
        months = set(await partitions(connection))
        left = await connection.scalar(
            text("SELECT count(*) FROM events WHERE ts < :cutoff"),
            {"cutoff": int(cutoff.timestamp() * 1000)},
        )
        kept = await connection.scalar(text("SELECT count(*) FROM events"))
    assert (2026, 9) not in months
    assert (2026, 10) not in months
    assert (2026, 11) in months
    assert left == 0
    assert kept == sum(1 for day in days if day >= cutoff)
    after = (
        await stores.events.count_by_action("p1", expired),
        await stores.events.unique_visitors("p1", expired),
        await stores.events.top_pages("p1", expired, 10),
    )
    assert after == before
