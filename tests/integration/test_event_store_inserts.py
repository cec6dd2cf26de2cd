"""The SQL event store's insert path, over SQLite (its own writer thread) and PostgreSQL:
large calls split into several statements stay one transaction."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from privalytics.adapters.sqlalchemy import SqlStores, migrate, open_stores
from privalytics.domain.models import Action, Event
from tests.integration.conftest import clear, sqlite_url
from tests.integration.test_event_store_contract import DAY, NOON, event, stored_events


def _many(count: int) -> list[Event]:
    return [event(path=f"/{i}", visitor=f"{i:x}") for i in range(count)]


async def test_a_call_larger_than_one_statement_is_stored_whole_and_in_order(
    sql_stores: SqlStores,
) -> None:
    events = _many(2500)
    await sql_stores.events.add(events)
    assert await stored_events(sql_stores.events) == events


async def test_a_bad_event_in_the_last_statement_stores_nothing_of_the_call(
    sql_stores: SqlStores,
) -> None:
    broken = Event(
        project_id="p1",
        action=Action.VISIT,
        path=None,  # type: ignore[arg-type]  # violates NOT NULL
        timestamp=NOON,
        visitor_hash="b" * 16,
    )
    with pytest.raises(Exception, match=r"NOT NULL|not-null|null value"):
        await sql_stores.events.add([*_many(2100), broken])
    assert await sql_stores.events.count_by_action("p1", DAY) == {}
    await sql_stores.events.add([event()])  # the writer recovered
    assert await sql_stores.events.count_by_action("p1", DAY) == {Action.VISIT: 1}


async def test_disposing_the_stores_stops_the_sqlite_writer_thread(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    await migrate(url)
    stores = open_stores(url)
    await stores.events.add([event()])
    assert any(t.name.startswith("privalytics-sqlite") for t in threading.enumerate())
    await stores.dispose()
    assert not any(t.name.startswith("privalytics-sqlite") for t in threading.enumerate())


@pytest.mark.postgres
async def test_postgres_inserts_survive_the_server_closing_the_kept_connection(
    postgres_url: str,
) -> None:
    """A restart (here: the backend terminated) between two calls costs no failed call."""
    await _migrated_postgres(postgres_url)
    stores = open_stores(postgres_url)
    try:
        await stores.events.add([event()])
        async with stores.engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        await asyncio.sleep(0.2)  # the kept connection sees the server hang up
        await stores.events.add([event()])
        assert await stores.events.count_by_action("p1", DAY) == {Action.VISIT: 2}
    finally:
        await stores.dispose()


async def _migrated_postgres(url: str) -> None:
    stores = open_stores(url)
    try:
        await clear(stores.engine)
    finally:
        await stores.dispose()
