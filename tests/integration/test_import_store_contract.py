"""The ImportStore contract, over memory, a SQLite file and PostgreSQL: an import's events
and its registry line are stored together or not at all, once per project and file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from privalytics.adapters.memory import InMemoryEventStore, InMemoryImportStore
from privalytics.domain.models import (
    Action,
    Event,
    ImportRecord,
    Project,
    RateLimit,
    TimeRange,
    TokenRecord,
)
from privalytics.domain.ports import ImportStore
from tests.integration.conftest import Backend

DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def imports(backend: Backend) -> ImportStore:
    if backend.sql is not None:
        return backend.sql.imports
    assert isinstance(backend.events, InMemoryEventStore)
    return InMemoryImportStore(backend.events)


async def _project(backend: Backend, project_id: str) -> None:
    now = datetime.now(UTC)
    await backend.tokens.add_project(
        Project(id=project_id, name="p", rate_limit=RateLimit(events=10, period_seconds=60),
                created_at=now),
        TokenRecord(id=project_id[:8] + "t" * 8, project_id=project_id, secret_hash=b"x",
                    created_at=now),
    )  # fmt: skip


def _record(project_id: str, sha: str = "a" * 64) -> ImportRecord:
    return ImportRecord(
        id=f"imp_{sha[:16]}",
        project_id=project_id,
        sha256=sha,
        format="access-log",
        first=DAY + timedelta(hours=1),
        last=DAY + timedelta(days=1, hours=2),
        events=0,
        imported_at=datetime(2026, 12, 6, 5, 0, tzinfo=UTC),
    )


def _events(project_id: str, count: int) -> list[Event]:
    return [
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path=f"/p/{n % 7}",
            timestamp=DAY + timedelta(hours=1, minutes=n),
            visitor_hash=f"{n + 1:016x}",
            browser="Firefox",
        )
        for n in range(count)
    ]


async def _batches(events: list[Event], size: int) -> AsyncIterator[Sequence[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


async def _count(backend: Backend, project_id: str) -> int:
    span = TimeRange(start=DAY - timedelta(days=1), end=DAY + timedelta(days=3))
    counts = await backend.events.count_by_action(project_id, span)
    return sum(counts.values())


async def test_an_import_stores_its_events_and_its_line_once(
    backend: Backend, imports: ImportStore
) -> None:
    project_id = "1" * 16
    await _project(backend, project_id)
    record = _record(project_id)
    stored = await imports.import_events(record, _batches(_events(project_id, 25), 10))
    assert stored == msgspec.structs.replace(record, events=25)
    assert await _count(backend, project_id) == 25
    assert await imports.find_import(project_id, record.sha256) == stored
    assert await imports.list_imports(project_id) == [stored]

    async def never() -> AsyncIterator[Sequence[Event]]:
        raise AssertionError("a file imported already is not read")
        yield []

    assert await imports.import_events(_record(project_id), never()) is None
    assert await _count(backend, project_id) == 25
    # Another project may import the same file.
    other = "2" * 16
    await _project(backend, other)
    again = msgspec.structs.replace(_record(other), id="imp_other")
    assert await imports.import_events(again, _batches(_events(other, 3), 10))
    assert await imports.find_import(project_id, "b" * 64) is None


async def test_a_failing_batch_stores_nothing(backend: Backend, imports: ImportStore) -> None:
    project_id = "3" * 16
    await _project(backend, project_id)

    async def broken() -> AsyncIterator[Sequence[Event]]:
        yield _events(project_id, 10)
        raise RuntimeError("the file changed under the import")

    with pytest.raises(RuntimeError):
        await imports.import_events(_record(project_id), broken())
    assert await _count(backend, project_id) == 0
    assert await imports.find_import(project_id, "a" * 64) is None
    assert await imports.list_imports(project_id) == []


async def test_a_range_overlapping_an_import_says_so(
    backend: Backend, imports: ImportStore
) -> None:
    project_id = "4" * 16
    await _project(backend, project_id)
    await imports.import_events(_record(project_id), _batches(_events(project_id, 2), 10))

    def span(start: timedelta, end: timedelta) -> TimeRange:
        return TimeRange(start=DAY + start, end=DAY + end)

    assert await imports.imported_within(project_id, span(timedelta(0), timedelta(days=1)))
    assert await imports.imported_within(project_id, span(timedelta(days=1), timedelta(days=2)))
    # first is 01:00 of DAY, last 02:00 of the next day: both ends count.
    assert await imports.imported_within(project_id, span(timedelta(hours=26), timedelta(hours=27)))
    assert not await imports.imported_within(project_id, span(timedelta(0), timedelta(hours=1)))
    assert not await imports.imported_within(
        project_id, span(timedelta(hours=26, seconds=1), timedelta(days=5))
    )
    assert not await imports.imported_within("5" * 16, span(timedelta(0), timedelta(days=1)))
    assert await imports.delete_project_imports(project_id) == 1
    assert await imports.list_imports(project_id) == []
