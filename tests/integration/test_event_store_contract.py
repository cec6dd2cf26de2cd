"""The EventStore contract, over memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, true

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.adapters.sqlalchemy import SqlAlchemyEventStore, SqlStores
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.adapters.sqlalchemy.tables import events as events_table
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import Action, Bucket, Event, PageStats, TimeRange
from privalytics.domain.ports import EventStore
from tests.integration.conftest import assert_discreet

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = TimeRange(start=NOON - timedelta(hours=12), end=NOON + timedelta(hours=12))
HOUR = timedelta(hours=1)


def hashed(visitor: str) -> str:
    """A visitor hash (16 hex digits, as domain/hashing.py makes) for a short name."""
    if all(c in "0123456789abcdef" for c in visitor):
        return visitor.ljust(16, "0")
    return visitor.encode().hex()[:16].ljust(16, "0")


def event(
    *,
    at: datetime = NOON,
    project: str = "p1",
    action: Action = Action.VISIT,
    path: str = "/",
    visitor: str = "a",
    **fields: Any,
) -> Event:
    return Event(
        project_id=project,
        action=action,
        path=path,
        timestamp=at,
        visitor_hash=hashed(visitor),
        **fields,
    )


async def stored_events(store: EventStore) -> list[Event]:
    """What the store holds, read back directly (the port has no query for it)."""
    if isinstance(store, InMemoryEventStore):
        return list(store.events)
    assert isinstance(store, SqlAlchemyEventStore)
    async with store.engine.connect() as connection:
        return await read_events(connection, true())


async def test_an_empty_store_reports_nothing(event_store: EventStore) -> None:
    assert await event_store.count_by_action("p1", DAY) == {}
    assert await event_store.unique_visitors("p1", DAY) == 0
    assert await event_store.top_pages("p1", DAY, 10) == []
    assert await event_store.series("p1", DAY, DAY.start, HOUR) == []
    assert await event_store.delete_project_events("p1") == 0


async def test_adding_no_events_stores_nothing(event_store: EventStore) -> None:
    await event_store.add([])
    assert await event_store.count_by_action("p1", DAY) == {}


async def test_counts_events_per_action_leaving_out_actions_without_events(
    event_store: EventStore,
) -> None:
    await event_store.add(
        [
            event(action=Action.VISIT),
            event(action=Action.VISIT, path="/b"),
            event(action=Action.CLICK),
            event(action=Action.DOWNLOAD, value=3.5),
        ]
    )
    assert await event_store.count_by_action("p1", DAY) == {
        Action.VISIT: 2,
        Action.CLICK: 1,
        Action.DOWNLOAD: 1,
    }


async def test_ranges_include_their_start_and_exclude_their_end(event_store: EventStore) -> None:
    span = TimeRange(start=NOON, end=NOON + timedelta(hours=1))
    await event_store.add(
        [
            event(at=NOON - timedelta(milliseconds=1), visitor="before"),
            event(at=NOON, visitor="start"),
            event(at=span.end - timedelta(milliseconds=1), visitor="last"),
            event(at=span.end, visitor="end"),
        ]
    )
    assert await event_store.count_by_action("p1", span) == {Action.VISIT: 2}
    assert await event_store.unique_visitors("p1", span) == 2
    assert await event_store.top_pages("p1", span, 10) == [
        PageStats(path="/", visits=2, unique_visitors=2)
    ]
    assert await event_store.series("p1", span, span.start, HOUR) == [
        Bucket(start=NOON, visits=2, unique_visitors=2)
    ]


async def test_queries_see_only_their_own_project(event_store: EventStore) -> None:
    await event_store.add(
        [
            event(project="p1", visitor="a"),
            event(project="p2", visitor="b", path="/other"),
            event(project="p2", visitor="c", action=Action.CLICK),
        ]
    )
    assert await event_store.count_by_action("p1", DAY) == {Action.VISIT: 1}
    assert await event_store.unique_visitors("p1", DAY) == 1
    assert await event_store.top_pages("p1", DAY, 10) == [
        PageStats(path="/", visits=1, unique_visitors=1)
    ]
    assert await event_store.series("p1", DAY, DAY.start, HOUR) == [
        Bucket(start=NOON, visits=1, unique_visitors=1)
    ]
    assert await event_store.count_by_action("p3", DAY) == {}


async def test_unique_visitors_counts_distinct_hashes_over_every_action(
    event_store: EventStore,
) -> None:
    await event_store.add(
        [
            event(visitor="a"),
            event(visitor="a", action=Action.CLICK),
            event(visitor="b", action=Action.SCROLL),
            event(visitor="c", action=Action.SHARE),
            event(visitor="c"),
        ]
    )
    assert await event_store.unique_visitors("p1", DAY) == 3


async def test_top_pages_rank_by_visits_then_path_counting_only_visits(
    event_store: EventStore,
) -> None:
    await event_store.add(
        [
            *[event(path="/popular", visitor=v) for v in ("a", "b", "a")],
            event(path="/b", visitor="a"),
            event(path="/a", visitor="b"),
            event(path="/B", visitor="c"),
            *[event(path="/clicked", action=Action.CLICK, visitor=v) for v in "abcde"],
        ]
    )
    assert await event_store.top_pages("p1", DAY, 10) == [
        PageStats(path="/popular", visits=3, unique_visitors=2),
        # Ties by path in code-point order, whatever the database's collation.
        PageStats(path="/B", visits=1, unique_visitors=1),
        PageStats(path="/a", visits=1, unique_visitors=1),
        PageStats(path="/b", visits=1, unique_visitors=1),
    ]


async def test_top_pages_returns_at_most_limit_pages(event_store: EventStore) -> None:
    await event_store.add([event(path=f"/{n}") for n in range(5)] + [event(path="/3")])
    top = await event_store.top_pages("p1", DAY, 2)
    assert top == [
        PageStats(path="/3", visits=2, unique_visitors=1),
        PageStats(path="/0", visits=1, unique_visitors=1),
    ]
    assert await event_store.top_pages("p1", DAY, 0) == []


async def test_hourly_series_counts_visits_and_visitors_of_any_event_by_hour(
    event_store: EventStore,
) -> None:
    await event_store.add(
        [
            event(at=NOON + timedelta(minutes=1), visitor="a"),
            event(at=NOON + timedelta(minutes=59, seconds=59.999), visitor="a"),
            event(at=NOON + timedelta(minutes=30), visitor="b"),
            # 13:00 has only a click: no visit, one visitor.
            event(at=NOON + timedelta(hours=1, minutes=5), action=Action.CLICK),
            event(at=NOON + timedelta(hours=2), visitor="c"),
            event(at=NOON - timedelta(hours=3, minutes=-10), visitor="d"),
        ]
    )
    buckets = await event_store.series("p1", DAY, DAY.start, HOUR)
    assert buckets == [
        Bucket(start=NOON - timedelta(hours=3), visits=1, unique_visitors=1),
        Bucket(start=NOON, visits=3, unique_visitors=2),
        Bucket(start=NOON + timedelta(hours=1), visits=0, unique_visitors=1),
        Bucket(start=NOON + timedelta(hours=2), visits=1, unique_visitors=1),
    ]
    assert all(b.start.tzinfo is not None and b.start.utcoffset() == timedelta(0) for b in buckets)


async def test_delete_project_events_returns_how_many_and_spares_other_projects(
    event_store: EventStore,
) -> None:
    await event_store.add(
        [event(project="p1"), event(project="p1", action=Action.CLICK), event(project="p2")]
    )
    assert await event_store.delete_project_events("p1") == 2
    assert await event_store.delete_project_events("p1") == 0
    assert await event_store.count_by_action("p1", DAY) == {}
    assert await event_store.count_by_action("p2", DAY) == {Action.VISIT: 1}


async def test_project_ids_are_the_distinct_projects_with_events_in_order(
    event_store: EventStore,
) -> None:
    assert await event_store.project_ids() == []
    await event_store.add(
        [event(project=p) for p in ("p2", "p1", "p2", "a-first", "p1")]
        + [event(project="z-last", at=NOON - timedelta(days=400))]
    )
    assert await event_store.project_ids() == ["a-first", "p1", "p2", "z-last"]
    await event_store.delete_project_events("p1")
    assert await event_store.project_ids() == ["a-first", "p2", "z-last"]


async def test_every_field_round_trips(event_store: EventStore) -> None:
    full = event(
        action=Action.DOWNLOAD,
        path="/files/ré sumé.pdf",
        referrer="https://example.org/links?q=1",
        target="https://cdn.example.org/x.pdf",
        value=-1234.5678,
        props={"plan": "pro", "émoji": "🦆", "empty": ""},
        at=NOON + timedelta(milliseconds=123),
    )
    bare = event(action=Action.VISIT, path="/", visitor="b")
    await event_store.add([full, bare])
    assert await stored_events(event_store) == [full, bare]


# Every derived field set (domain/models.py's Derived), texts shared between fields, and a
# visitor whose 64 bits read as a negative integer.
DERIVED = {
    "source": "Google",
    "referrer": "https://www.google.com/",
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "spring sale",
    "utm_term": "running shoes",
    "utm_content": "Google",
    "browser": "Firefox",
    "browser_version": "133.0",
    "os": "Linux",
    "os_version": "6.1",
    "device": "desktop",
    "country": "DE",
    "region": "DE-BE",
    "city": "Berlin",
}


async def test_every_derived_field_round_trips_through_the_reads(event_store: EventStore) -> None:
    full = event(visitor="f" * 16, target="Berlin", **DERIVED)
    other = event(project="p2", path="/x", **{**DERIVED, "country": "FR", "city": None})
    later = event(at=NOON + HOUR, path="/y", browser="Chrome", props={"k": "v"})
    await event_store.add([full, other, later])
    assert await stored_events(event_store) == [full, other, later]
    assert await event_store.latest("p1", DAY, 10) == [later, full]
    assert await event_store.latest("p2", DAY, 10) == [other]
    if isinstance(event_store, SqlAlchemyEventStore):
        assert await event_store._events_in("p1", DAY) == [full, later]


async def test_a_project_deleted_and_written_again_reads_its_new_texts(
    event_store: EventStore,
) -> None:
    """Its texts go with its events; new ones are not read as the old ones."""
    await event_store.add([event(path="/old", browser="Firefox")])
    await event_store.delete_project_events("p1")
    renewed = event(path="/new", browser="Chrome", country="Firefox")
    await event_store.add([renewed, event(path="/old")])
    assert await event_store.latest("p1", DAY, 10) == [event(path="/old"), renewed]
    assert await event_store.top_pages("p1", DAY, 10) == [
        PageStats(path="/new", visits=1, unique_visitors=1),
        PageStats(path="/old", visits=1, unique_visitors=1),
    ]


async def test_timestamps_come_back_as_aware_utc(event_store: EventStore) -> None:
    await event_store.add([event(at=datetime(2026, 3, 1, 13, 30, tzinfo=UTC))])
    (stored,) = await stored_events(event_store)
    assert stored.timestamp == datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    assert stored.timestamp.utcoffset() == timedelta(0)


async def test_ping_answers(event_store: EventStore) -> None:
    await event_store.ping()


# SQL only: storage format and atomicity.


async def test_sql_stores_timestamps_truncated_to_the_millisecond(sql_stores: SqlStores) -> None:
    at = NOON + timedelta(microseconds=1_999)
    await sql_stores.events.add([event(at=at)])
    (stored,) = await stored_events(sql_stores.events)
    assert stored.timestamp == NOON + timedelta(milliseconds=1)
    async with sql_stores.engine.connect() as connection:
        row = (await connection.execute(select(events_table))).mappings().one()
    assert row["ts"] == int(NOON.timestamp()) * 1000 + 1
    # Empty props are stored as NULL, not "{}".
    assert row["props"] is None


async def test_sql_ranges_with_sub_millisecond_bounds_compare_the_stored_millisecond(
    sql_stores: SqlStores,
) -> None:
    await sql_stores.events.add([event(at=NOON + timedelta(microseconds=700))])
    # Stored as NOON exactly: inside [NOON, NOON + 0.5 ms), outside [NOON + 0.5 ms, ...).
    first = TimeRange(start=NOON, end=NOON + timedelta(microseconds=500))
    later = TimeRange(start=NOON + timedelta(microseconds=500), end=NOON + timedelta(hours=1))
    assert await sql_stores.events.count_by_action("p1", first) == {Action.VISIT: 1}
    assert await sql_stores.events.count_by_action("p1", later) == {}


async def test_sql_add_stores_all_events_or_none(sql_stores: SqlStores) -> None:
    broken = Event(
        project_id="p1",
        action=Action.VISIT,
        path=None,  # type: ignore[arg-type]  # violates NOT NULL
        timestamp=NOON,
        visitor_hash="b" * 16,
    )
    with pytest.raises(Exception, match=r"NOT NULL|not-null|null value"):
        await sql_stores.events.add([event(), event(), broken])
    assert await sql_stores.events.count_by_action("p1", DAY) == {}


# Unavailable backends.

_QUERIES: list[Callable[[EventStore], Coroutine[Any, Any, object]]] = [
    lambda store: store.add([event()]),
    lambda store: store.count_by_action("p1", DAY),
    lambda store: store.unique_visitors("p1", DAY),
    lambda store: store.top_pages("p1", DAY, 10),
    lambda store: store.top_referrers("p1", DAY, 10),
    lambda store: store.top_targets("p1", DAY, Action.CLICK, 10),
    lambda store: store.average_value("p1", DAY, Action.SCROLL),
    lambda store: store.series("p1", DAY, DAY.start, HOUR),
    lambda store: store.series("p1", DAY, DAY.start, 24 * HOUR),
    lambda store: store.latest("p1", DAY, 10),
    lambda store: store.delete_project_events("p1"),
    lambda store: store.project_ids(),
    lambda store: store.ping(),
]


@pytest.mark.parametrize("call", _QUERIES)
async def test_unreachable_postgres_raises_storage_unavailable_without_the_url(
    unreachable_stores: SqlStores, call: Callable[[EventStore], Coroutine[Any, Any, object]]
) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await call(unreachable_stores.events)
    assert_discreet(raised.value)


@pytest.mark.parametrize("call", _QUERIES)
async def test_sqlite_file_in_a_vanished_folder_raises_storage_unavailable(
    vanished_sqlite_stores: SqlStores, call: Callable[[EventStore], Coroutine[Any, Any, object]]
) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await call(vanished_sqlite_stores.events)
    assert_discreet(raised.value)
