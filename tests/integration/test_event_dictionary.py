"""The dictionary of the compact events table (migration 0006): texts stored once per
project, added in the transaction of the events that bring them, by several instances
at once, and never read as another text."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text, true

from privalytics.adapters.sqlalchemy import SqlStores, open_stores
from privalytics.adapters.sqlalchemy.dictionary import (
    FIXED,
    STORED_COLUMNS,
    Dictionary,
    event_values,
    visitor_number,
    visitor_text,
)
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.adapters.sqlalchemy.tables import TEXT_FIELDS
from privalytics.domain.models import Action, Event
from tests.integration.test_event_store_contract import DAY, NOON, event


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_a_visitor_hash_is_stored_as_its_64_bits_signed_and_read_back(bits: int) -> None:
    hashed = f"{bits:016x}"
    number = visitor_number(hashed)
    assert -(2**63) <= number < 2**63
    assert visitor_text(number) == hashed


def test_an_events_row_holds_every_text_field_in_the_tables_order() -> None:
    """A derived field added to the model (and so to tables.TEXT_FIELDS) must be added to
    the row the writers take too."""
    fields = {name: f"text of {name}" for name in TEXT_FIELDS if name != "path"}
    full = event(path="text of path", **fields)
    assert event_values(full)[FIXED:] == tuple(f"text of {name}" for name in TEXT_FIELDS)
    assert STORED_COLUMNS[FIXED:] == TEXT_FIELDS


def test_the_cache_starts_again_when_it_holds_too_many_texts() -> None:
    cache = Dictionary(max_cached=3)
    cache.learn({"p": 1}, {1: {"a": 1, "b": 2, "c": 3, "d": 4}})
    row = ("p", 0, 0, 0, None, None, "a", *[None] * 16)
    assert cache.encode([row]) == [(1, 0, 0, 0, None, None, 1, *[None] * 16)]
    cache.learn({"q": 2}, {2: {"x": 1}})
    assert cache.encode([row]) is None  # forgotten: resolved again from the database
    assert cache.numbers == {"q": 2}


async def _texts(stores: SqlStores) -> list[tuple[str, str, int]]:
    async with stores.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT n.project_id, t.text, count(*) FROM texts t"
                " JOIN project_numbers n ON n.number = t.project"
                " GROUP BY n.project_id, t.text"
            )
        )
        return sorted((project, name, count) for project, name, count in rows)


async def test_instances_adding_the_same_new_texts_at_once_share_one_id_each(
    sql_url: str,
) -> None:
    """Four instances (stores over engines of their own) store events bringing the same
    new texts at the same time: every event is stored and reads back its own texts, and
    each text is in the dictionary once."""
    instances = [open_stores(sql_url) for _ in range(4)]
    try:
        batches = [
            [
                event(
                    project=f"p{k % 2}",
                    path=f"/page/{(n + k) % 7}",
                    browser=f"Browser {n % 3}",
                    country=f"C{(n * k) % 5}",
                    referrer=f"https://site-{n % 4}.org/",
                    visitor=f"{k:x}{n:x}",
                )
                for n in range(12)
            ]
            for k in range(16)
        ]
        await asyncio.gather(
            *(instances[k % 4].events.add(batch) for k, batch in enumerate(batches))
        )
        async with instances[0].engine.connect() as connection:
            stored = await read_events(connection, true())
        expected = [e for batch in batches for e in batch]
        assert sorted(stored, key=repr) == sorted(expected, key=repr)
        assert all(count == 1 for _, _, count in await _texts(instances[0]))
        # And an instance that learnt its ids from another's texts writes them alike.
        later = event(project="p1", path="/page/3", browser="Browser 1")
        await instances[3].events.add([later])
        assert await instances[1].events.latest("p1", DAY, 1) == [later]
    finally:
        for stores in instances:
            await stores.dispose()


async def test_texts_of_a_failed_insert_are_not_taken_for_stored(sql_stores: SqlStores) -> None:
    """A transaction that failed leaves no text behind, in the database or in the
    cache: the next events bringing the same texts store them."""
    broken = Event(
        project_id="p1",
        action=Action.VISIT,
        path=None,  # type: ignore[arg-type]  # violates NOT NULL
        timestamp=NOON,
        visitor_hash="b" * 16,
    )
    fresh = event(path="/fresh", browser="Fresh", referrer="https://fresh.org/")
    with pytest.raises(Exception, match=r"NOT NULL|not-null|null value"):
        await sql_stores.events.add([fresh, broken])
    assert await _texts(sql_stores) == []
    await sql_stores.events.add([fresh])
    assert await sql_stores.events.latest("p1", DAY, 10) == [fresh]
    assert [t for _, t, _ in await _texts(sql_stores)] == [
        "/fresh",
        "Fresh",
        "https://fresh.org/",
    ]
