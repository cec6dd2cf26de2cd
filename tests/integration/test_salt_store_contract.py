"""The SaltStore contract, over memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from privalytics.adapters.sqlalchemy import SqlStores, migrate, open_stores
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.ports import SaltStore
from tests.integration.conftest import _server_dsn, assert_discreet, clear, sqlite_url

WINDOW = 20_500
HOUR = 3600
DAY = 24 * HOUR


async def test_the_first_candidate_is_stored_and_later_ones_are_ignored(
    salt_store: SaltStore,
) -> None:
    assert await salt_store.get_or_create(WINDOW, b"first") == b"first"
    assert await salt_store.get_or_create(WINDOW, b"second") == b"first"


async def test_each_window_has_its_own_salt(salt_store: SaltStore) -> None:
    assert await salt_store.get_or_create(WINDOW, b"a") == b"a"
    assert await salt_store.get_or_create(WINDOW + 1, b"b") == b"b"
    assert await salt_store.get_or_create(WINDOW, b"c") == b"a"


async def test_salts_are_binary_and_windows_may_be_large(salt_store: SaltStore) -> None:
    salt = bytes(range(256)) * 2
    assert await salt_store.get_or_create(2**40, salt) == salt
    assert await salt_store.get_or_create(2**40, b"x") == salt


async def test_delete_expired_removes_earlier_and_other_rotations_windows_and_counts_them(
    salt_store: SaltStore,
) -> None:
    current = WINDOW * DAY
    earlier = (current - 2 * DAY, current - DAY, WINDOW)
    other_rotation = (current + HOUR, current + DAY + 1)
    kept = (current, current + DAY, current + 7 * DAY)
    for start in (*earlier, *other_rotation, *kept):
        await salt_store.get_or_create(start, f"salt-{start}".encode())
    assert await salt_store.delete_expired(current, DAY) == 5
    assert await salt_store.delete_expired(current, DAY) == 0
    # The kept windows keep their salts; the deleted ones take a new candidate.
    for start in kept:
        assert await salt_store.get_or_create(start, b"new") == f"salt-{start}".encode()
    for start in (*earlier, *other_rotation):
        assert await salt_store.get_or_create(start, b"new") == b"new"


async def test_delete_expired_under_a_weekly_rotation_removes_this_weeks_daily_salts(
    salt_store: SaltStore,
) -> None:
    week = 7 * DAY
    current = 2922 * week
    for start in (current, current + DAY, current + 2 * DAY):
        await salt_store.get_or_create(start, b"daily")
    assert await salt_store.delete_expired(current, week) == 2
    assert await salt_store.get_or_create(current, b"new") == b"daily"


async def test_racing_callers_all_get_the_one_stored_salt(salt_store: SaltStore) -> None:
    candidates = [f"candidate-{n}".encode() for n in range(40)]
    results = await asyncio.gather(*(salt_store.get_or_create(WINDOW, c) for c in candidates))
    assert len(set(results)) == 1
    assert results[0] in candidates


async def test_two_engines_racing_agree_on_one_salt(sql_url: str) -> None:
    """Two engines stand in for two processes: exactly one candidate wins."""
    first, second = open_stores(sql_url), open_stores(sql_url)
    try:
        for window in range(WINDOW, WINDOW + 5):
            calls = [
                stores.salts.get_or_create(window, f"{n}-{window}".encode())
                for n in range(12)
                for stores in (first, second)
            ]
            results = await asyncio.gather(*calls)
            assert len(set(results)) == 1, f"window {window}: {len(set(results))} salts"
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_purge_racing_the_creation_of_the_new_windows_salt_keeps_it(
    sql_url: str,
) -> None:
    """One process purges (on PostgreSQL: rewrites the table) while another creates the
    new window's salt: the created salt is the one stored afterwards."""
    first, second = open_stores(sql_url), open_stores(sql_url)
    try:
        for day in range(1, 17):
            current = (WINDOW + day) * DAY
            await first.salts.get_or_create(current - DAY, b"yesterday")
            racers = [second.salts.get_or_create(current, f"new-{day}".encode())]
            racers.append(first.salts.delete_expired(current, DAY))
            if day % 2:
                racers.reverse()
            results = await asyncio.gather(*racers)
            created = results[0] if day % 2 == 0 else results[1]
            assert await first.salts.get_or_create(current, b"other") == created
            assert await second.salts.get_or_create(current, b"other") == created
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_purge_keeps_every_salt_of_the_current_and_later_windows_byte_for_byte(
    sql_stores: SqlStores,
) -> None:
    """On PostgreSQL the purge copies the remaining salts into a new table file."""
    current = WINDOW * DAY
    kept = {start: bytes([n]) * 32 for n, start in enumerate((current, current + DAY), 1)}
    for start, salt in kept.items():
        await sql_stores.salts.get_or_create(start, salt)
    await sql_stores.salts.get_or_create(current - DAY, b"\x00" * 32)
    assert await sql_stores.salts.delete_expired(current, DAY) == 1
    for start, salt in kept.items():
        assert await sql_stores.salts.get_or_create(start, b"new") == salt


async def test_sql_salt_store_pings(sql_stores: SqlStores) -> None:
    await sql_stores.salts.ping()


async def test_unreachable_postgres_raises_storage_unavailable_without_the_url(
    unreachable_stores: SqlStores,
) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await unreachable_stores.salts.get_or_create(WINDOW, b"salt")
    assert_discreet(raised.value)
    with pytest.raises(StorageUnavailable):
        await unreachable_stores.salts.delete_expired(WINDOW, DAY)
    with pytest.raises(StorageUnavailable):
        await unreachable_stores.salts.ping()


async def test_vanished_sqlite_folder_raises_storage_unavailable(
    vanished_sqlite_stores: SqlStores,
) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await vanished_sqlite_stores.salts.get_or_create(WINDOW, b"salt")
    assert_discreet(raised.value)
    with pytest.raises(StorageUnavailable):
        await vanished_sqlite_stores.salts.delete_expired(WINDOW, DAY)


@pytest.mark.parametrize("setting", ["OFF", "FAST", "ON"])
async def test_a_sqlite_purge_sets_the_connections_secure_delete_back(
    tmp_path: Path, setting: str
) -> None:
    """Only the salts' delete pays for zeroing freed bytes, not the pooled connection's
    later deletes of events (or less, when the build zeroes by default)."""
    url = sqlite_url(tmp_path)
    await migrate(url)
    stores = open_stores(url)
    try:
        async with stores.engine.connect() as connection:
            await connection.exec_driver_sql(f"PRAGMA secure_delete={setting}")
            expected = (await connection.exec_driver_sql("PRAGMA secure_delete")).scalar_one()
        await stores.salts.get_or_create(WINDOW, b"old")
        assert await stores.salts.delete_expired(WINDOW + DAY, DAY) == 1
        async with stores.engine.connect() as connection:
            after = (await connection.exec_driver_sql("PRAGMA secure_delete")).scalar_one()
        assert after == expected
    finally:
        await stores.dispose()


@pytest.mark.postgres
async def test_a_postgresql_purge_gives_up_on_a_table_another_session_holds(
    postgres_url: str,
) -> None:
    """An open transaction that read the salts (an operator's session) must not hang the
    purge, nor the salt creations that would queue behind its lock: the purge deletes
    nothing this time, and the next one does."""
    stores = open_stores(postgres_url)
    try:
        await clear(stores.engine)
        await stores.salts.get_or_create(WINDOW * DAY, b"old")
        holder = await asyncpg.connect(_server_dsn(make_url(postgres_url).database or ""))
        try:
            transaction = holder.transaction()
            await transaction.start()
            await holder.fetch("SELECT salt_window FROM salts")
            purge = stores.salts.delete_expired((WINDOW + 1) * DAY, DAY)
            assert await asyncio.wait_for(purge, timeout=20) == 0
            assert await stores.salts.get_or_create((WINDOW + 1) * DAY, b"new") == b"new"
            await transaction.rollback()
        finally:
            await holder.close()
        assert await stores.salts.delete_expired((WINDOW + 1) * DAY, DAY) == 1
    finally:
        await stores.dispose()
