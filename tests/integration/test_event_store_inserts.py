"""The SQL event store's insert path, over SQLite (its own writer thread) and PostgreSQL:
large calls split into several statements stay one transaction."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from privalytics.adapters.sqlalchemy import SqlStores, migrate, open_stores
from privalytics.domain.models import Action, Event
from tests.integration.conftest import sqlite_url
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
        visitor_hash="b" * 32,
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
