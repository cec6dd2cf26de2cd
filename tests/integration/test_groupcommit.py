"""GroupCommitEventStore: concurrent add() calls share transactions, and a call returns
only once its events are committed (or raises, with none of them stored)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from privalytics.adapters.groupcommit import GroupCommitEventStore
from privalytics.adapters.sqlalchemy import SqlStores, open_stores
from privalytics.domain.errors import InvalidInput, StorageUnavailable
from privalytics.domain.models import Action, Bucket, Event, PageStats, TimeRange
from privalytics.domain.ports import EventStore
from tests.integration.conftest import clear

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = TimeRange(start=NOON - timedelta(hours=12), end=NOON + timedelta(hours=12))


def events(n: int, *, path: str = "/", project: str = "p1") -> list[Event]:
    return [
        Event(
            project_id=project,
            action=Action.VISIT,
            path=path,
            timestamp=NOON + timedelta(seconds=i),
            visitor_hash=f"{i:016x}",
        )
        for i in range(n)
    ]


class RecordingEventStore:
    """A real EventStore in front of another: records each transaction's size, and can be
    switched off like a database going away. ``adding`` is set once a transaction has
    begun; while ``gate`` is given and not set, transactions wait for it before storing."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.transactions: list[int] = []
        self.down = False
        self.adding = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def add(self, events: Sequence[Event]) -> None:
        self.adding.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise StorageUnavailable("the database is unavailable")
        await self.inner.add(events)
        self.transactions.append(len(events))

    async def count_by_action(self, project_id: str, span: TimeRange) -> dict[Action, int]:
        return await self.inner.count_by_action(project_id, span)

    async def unique_visitors(self, project_id: str, span: TimeRange) -> int:
        return await self.inner.unique_visitors(project_id, span)

    async def top_pages(self, project_id: str, span: TimeRange, limit: int) -> list[PageStats]:
        return await self.inner.top_pages(project_id, span, limit)

    async def series(
        self, project_id: str, span: TimeRange, origin: datetime, step: timedelta
    ) -> list[Bucket]:
        return await self.inner.series(project_id, span, origin, step)

    async def delete_project_events(self, project_id: str) -> int:
        return await self.inner.delete_project_events(project_id)

    async def ping(self) -> None:
        await self.inner.ping()


async def visits(store: EventStore, project: str = "p1") -> int:
    return (await store.count_by_action(project, DAY)).get(Action.VISIT, 0)


async def test_concurrent_adds_share_transactions_and_all_are_stored(
    event_store: EventStore,
) -> None:
    recording = RecordingEventStore(event_store)
    store = GroupCommitEventStore(recording)
    try:
        await asyncio.gather(*(store.add(events(2)) for _ in range(100)))
    finally:
        await store.aclose()
    assert sum(recording.transactions) == 200
    assert len(recording.transactions) < 10
    assert await visits(event_store) == 200


async def test_an_add_that_returned_is_already_committed(sql_stores: SqlStores) -> None:
    store = GroupCommitEventStore(sql_stores.events)
    try:
        for n in range(1, 4):
            await store.add(events(5))
            # Read through the inner store's engine: the group's transaction is committed.
            assert await visits(sql_stores.events) == 5 * n
    finally:
        await store.aclose()


async def test_a_transaction_holds_at_most_max_rows_events(event_store: EventStore) -> None:
    recording = RecordingEventStore(event_store)
    store = GroupCommitEventStore(recording, max_rows=10)
    try:
        await asyncio.gather(*(store.add(events(3)) for _ in range(30)))
    finally:
        await store.aclose()
    assert max(recording.transactions) <= 10
    assert sum(recording.transactions) == 90
    assert await visits(event_store) == 90


async def test_one_call_larger_than_max_rows_is_stored_whole(event_store: EventStore) -> None:
    recording = RecordingEventStore(event_store)
    store = GroupCommitEventStore(recording, max_rows=10)
    try:
        await asyncio.gather(store.add(events(1)), store.add(events(25)), store.add(events(1)))
    finally:
        await store.aclose()
    assert 25 in recording.transactions
    assert await visits(event_store) == 27


async def test_a_failed_transaction_fails_every_caller_in_it(event_store: EventStore) -> None:
    recording = RecordingEventStore(event_store)
    store = GroupCommitEventStore(recording)
    recording.down = True
    try:
        results = await asyncio.gather(
            *(store.add(events(1)) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(result, StorageUnavailable) for result in results)
        assert await visits(event_store) == 0
        # Back up: the writer carries on.
        recording.down = False
        await store.add(events(3))
    finally:
        await store.aclose()
    assert await visits(event_store) == 3


async def test_an_unreachable_database_fails_every_caller(unreachable_stores: SqlStores) -> None:
    store = GroupCommitEventStore(unreachable_stores.events)
    try:
        results = await asyncio.gather(
            *(store.add(events(1)) for _ in range(5)), return_exceptions=True
        )
    finally:
        await store.aclose()
    assert all(isinstance(result, StorageUnavailable) for result in results)


async def test_bad_events_fail_only_their_own_caller(sql_stores: SqlStores) -> None:
    """A batch failing on one caller's data is retried call by call: the others are
    stored, and the failing caller's events are not (nothing half-written)."""
    broken = Event(
        project_id="p1",
        action=Action.VISIT,
        path=None,  # type: ignore[arg-type]  # violates NOT NULL
        timestamp=NOON,
        visitor_hash="f" * 16,
    )
    store = GroupCommitEventStore(sql_stores.events)
    try:
        results = await asyncio.gather(
            *(store.add(events(2)) for _ in range(5)),
            store.add([*events(3, project="bad"), broken]),
            *(store.add(events(2)) for _ in range(5)),
            return_exceptions=True,
        )
    finally:
        await store.aclose()
    failures = [result for result in results if isinstance(result, BaseException)]
    assert len(failures) == 1
    assert results[5] is failures[0]
    assert await visits(sql_stores.events) == 20
    assert await visits(sql_stores.events, "bad") == 0


@pytest.mark.postgres
async def test_a_value_postgresql_refuses_is_invalid_input_of_its_caller_alone(
    postgres_url: str,
) -> None:
    """A path too large for an index row (the domain bounds it; a store may be given one
    anyway) is the caller's error, not an unknown one, and fails no other caller."""
    stores = open_stores(postgres_url)
    store = GroupCommitEventStore(stores.events)
    try:
        await clear(stores.engine)
        # Varied characters: PostgreSQL compresses a repetitive key below its limit.
        cjk = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2040))
        too_large = events(1, path="/" + cjk, project="bad")
        results = await asyncio.gather(
            *(store.add(events(2)) for _ in range(3)),
            store.add(too_large),
            *(store.add(events(2)) for _ in range(3)),
            return_exceptions=True,
        )
        assert isinstance(results[3], InvalidInput)
        assert cjk[:3] not in str(results[3])
        assert results[3].__cause__ is None
        assert [r for r in results if isinstance(r, BaseException)] == [results[3]]
        assert await visits(stores.events) == 12
        assert await visits(stores.events, "bad") == 0
    finally:
        await store.aclose()
        await stores.dispose()


async def test_aclose_stores_what_is_queued_then_refuses_more(event_store: EventStore) -> None:
    store = GroupCommitEventStore(event_store)
    pending = [asyncio.create_task(store.add(events(1))) for _ in range(10)]
    await asyncio.sleep(0)
    await store.aclose()
    await asyncio.gather(*pending)
    assert await visits(event_store) == 10
    with pytest.raises(StorageUnavailable):
        await store.add(events(1))


async def test_a_caller_cancelled_before_its_turn_is_not_stored(event_store: EventStore) -> None:
    recording = RecordingEventStore(event_store)
    store = GroupCommitEventStore(recording)
    recording.gate = asyncio.Event()
    try:
        first = asyncio.create_task(store.add(events(1, path="/first")))
        async with asyncio.timeout(10):
            await recording.adding.wait()  # the writer is committing `first`
        cancelled = asyncio.create_task(store.add(events(1, path="/cancelled")))
        # One turn of the loop: the new task runs to its wait, queued behind `first`.
        await asyncio.sleep(0)
        cancelled.cancel()
        recording.gate.set()
        await first
        await store.add(events(1, path="/last"))
    finally:
        await store.aclose()
    pages = {page.path for page in await event_store.top_pages("p1", DAY, 10)}
    assert pages == {"/first", "/last"}
    assert recording.transactions == [1, 1]


async def test_queries_are_answered_by_the_inner_store(event_store: EventStore) -> None:
    await event_store.add(events(2) + events(1, project="p2"))
    store = GroupCommitEventStore(event_store)
    assert await store.count_by_action("p1", DAY) == {Action.VISIT: 2}
    assert await store.unique_visitors("p1", DAY) == 2
    assert await store.top_pages("p1", DAY, 1) == [PageStats(path="/", visits=2, unique_visitors=2)]
    hour = timedelta(hours=1)
    assert await store.series("p1", DAY, DAY.start, hour) == [
        Bucket(start=NOON, visits=2, unique_visitors=2)
    ]
    assert await store.latest("p1", DAY, 10) == (await event_store.latest("p1", DAY, 10))
    assert [e.timestamp for e in await store.latest("p1", DAY, 1)] == [NOON + timedelta(seconds=1)]
    assert await store.top_referrers("p1", DAY, 10) == []
    assert await store.top_targets("p1", DAY, Action.CLICK, 10) == []
    assert await store.average_value("p1", DAY, Action.SCROLL) is None
    assert await store.delete_project_events("p2") == 1
    await store.ping()
    await store.aclose()


async def test_max_rows_must_be_positive(event_store: EventStore) -> None:
    with pytest.raises(ValueError, match="max_rows"):
        GroupCommitEventStore(event_store, max_rows=0)
