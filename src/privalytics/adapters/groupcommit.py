"""Group commit: many concurrent ``add()`` calls share one transaction.

Each commit of a durable store costs a disk flush (SQLite ``synchronous=FULL``) or a
round trip and a WAL flush (PostgreSQL). Under load, a single writer task takes everything
queued while the previous transaction was committing and stores it in the next one, so
the flushes per second stay bounded while every caller still returns only once its own
events are committed. No wait window: an idle store commits a lone event at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, timedelta

from privalytics.adapters.observer import CommitObserver
from privalytics.domain.dimensions import Dimension
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.filters import Filter
from privalytics.domain.funnels import Step
from privalytics.domain.insight import Figures, Row
from privalytics.domain.models import Action, Bucket, Event, PageStats, Ranked, TimeRange
from privalytics.domain.ports import EventStore

_Waiter = tuple[Sequence[Event], "asyncio.Future[None]"]


class GroupCommitEventStore:
    """An EventStore that batches the ``add()`` calls of concurrent callers.

    Queries go straight to ``inner``. ``add()`` returns once the transaction holding its
    events has committed, or raises what that transaction raised; either all of a call's
    events are stored or none. A transaction holds at most ``max_rows`` events, except
    that one call's events are never split. With a ``deadline`` (seconds), a call waits no
    longer and raises StorageUnavailable: its events are then stored or not, but its
    caller is never told they were.
    """

    def __init__(
        self,
        inner: EventStore,
        *,
        max_rows: int = 5000,
        observer: CommitObserver | None = None,
        deadline: float | None = None,
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self._inner = inner
        self._observer = observer
        self._max_rows = max_rows
        self._queue: deque[_Waiter] = deque()
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self._deadline = deadline

    def observe(self, observer: CommitObserver) -> None:
        """Tell ``observer`` what the writer does from now on."""
        self._observer = observer

    async def add(self, events: Sequence[Event]) -> None:
        if self._closed:
            raise StorageUnavailable("the event writer is closed")
        if not events:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((events, future))
        self._start_writer()
        self._wakeup.set()
        # A caller cancelled while waiting does not learn the outcome; its events are
        # skipped if the writer has not taken them yet, and may be stored otherwise.
        started = time.perf_counter()
        try:
            # wait_for cancels the future at the deadline: the same as a cancelled caller.
            await asyncio.wait_for(future, self._deadline)
        except TimeoutError:
            raise StorageUnavailable(
                "the database is unavailable: could not store the events in time"
            ) from None
        if self._observer is not None:
            self._observer.waited(time.perf_counter() - started)

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            # A fresh Event: the previous one may belong to another (closed) loop.
            self._wakeup = asyncio.Event()
            self._writer = asyncio.get_running_loop().create_task(
                self._write_forever(), name="privalytics-group-commit"
            )

    async def aclose(self) -> None:
        """Store what is queued, then stop the writer; later ``add()`` calls fail."""
        self._closed = True
        self._wakeup.set()
        if self._writer is not None:
            await self._writer
            self._writer = None

    async def _write_forever(self) -> None:
        while True:
            while not self._queue:
                if self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._commit(self._take())

    def _take(self) -> list[_Waiter]:
        """The oldest waiting calls, up to max_rows events (at least one call)."""
        batch: list[_Waiter] = []
        rows = 0
        while self._queue:
            events, future = self._queue[0]
            if future.done():  # cancelled before its turn: never stored
                self._queue.popleft()
                continue
            if batch and rows + len(events) > self._max_rows:
                break
            self._queue.popleft()
            batch.append((events, future))
            rows += len(events)
        if self._observer is not None:
            self._observer.queued(len(self._queue))
        return batch

    async def _commit(self, batch: list[_Waiter]) -> None:
        if not batch:
            return
        try:
            if not await self._store_together(batch):
                # Not the database being away but something in the data: store each call
                # on its own, so one caller's bad events do not fail everyone else's.
                for waiter in batch:
                    await self._commit([waiter])
        finally:
            # Only reached with waiters left when the writer itself is cancelled.
            _fail(batch, StorageUnavailable("the event writer stopped"))

    async def _store_together(self, batch: list[_Waiter]) -> bool:
        """Store the batch in one transaction and settle its waiters; False when it should
        be retried call by call."""
        together = [event for events, _ in batch for event in events]
        started = time.perf_counter()
        try:
            await self._inner.add(together)
        except StorageUnavailable as error:
            _fail(batch, error)
        except Exception as error:
            if len(batch) > 1:
                return False
            _fail(batch, error)
        else:
            if self._observer is not None:
                self._observer.committed(len(together), time.perf_counter() - started)
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
        return True

    # Queries are not batched.

    async def count_by_action(self, project_id: str, span: TimeRange) -> dict[Action, int]:
        return await self._inner.count_by_action(project_id, span)

    async def unique_visitors(self, project_id: str, span: TimeRange) -> int:
        return await self._inner.unique_visitors(project_id, span)

    async def top_pages(self, project_id: str, span: TimeRange, limit: int) -> list[PageStats]:
        return await self._inner.top_pages(project_id, span, limit)

    async def top_referrers(self, project_id: str, span: TimeRange, limit: int) -> list[Ranked]:
        return await self._inner.top_referrers(project_id, span, limit)

    async def top_targets(
        self, project_id: str, span: TimeRange, action: Action, limit: int
    ) -> list[Ranked]:
        return await self._inner.top_targets(project_id, span, action, limit)

    async def average_value(self, project_id: str, span: TimeRange, action: Action) -> float | None:
        return await self._inner.average_value(project_id, span, action)

    async def series(
        self, project_id: str, span: TimeRange, origin: datetime, step: timedelta
    ) -> list[Bucket]:
        return await self._inner.series(project_id, span, origin, step)

    async def figures(self, project_id: str, span: TimeRange, filters: Sequence[Filter]) -> Figures:
        return await self._inner.figures(project_id, span, filters)

    async def breakdown(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
        limit: int | None,
    ) -> list[Row]:
        return await self._inner.breakdown(project_id, span, dimension, filters, limit)

    async def cell_sizes(
        self,
        project_id: str,
        span: TimeRange,
        dimension: Dimension,
        filters: Sequence[Filter],
    ) -> dict[str | None, int]:
        return await self._inner.cell_sizes(project_id, span, dimension, filters)

    async def selected_events(
        self, project_id: str, span: TimeRange, filters: Sequence[Filter]
    ) -> list[Event]:
        return await self._inner.selected_events(project_id, span, filters)

    async def funnel_counts(
        self,
        project_id: str,
        span: TimeRange,
        steps: Sequence[Step],
        filters: Sequence[Filter],
    ) -> list[int]:
        return await self._inner.funnel_counts(project_id, span, steps, filters)

    async def visitor_days(self, project_id: str, span: TimeRange) -> dict[date, set[str]]:
        return await self._inner.visitor_days(project_id, span)

    async def latest(self, project_id: str, span: TimeRange, limit: int) -> list[Event]:
        return await self._inner.latest(project_id, span, limit)

    def stream(self, project_id: str, span: TimeRange, chunk: int) -> AsyncIterator[list[Event]]:
        return self._inner.stream(project_id, span, chunk)

    async def erase(self, project_id: str, span: TimeRange) -> int:
        return await self._inner.erase(project_id, span)

    async def delete_project_events(self, project_id: str) -> int:
        return await self._inner.delete_project_events(project_id)

    async def refresh(self, before: datetime) -> int:
        return await self._inner.refresh(before)

    async def expire(self, before: datetime, *, dry_run: bool = False) -> int:
        return await self._inner.expire(before, dry_run=dry_run)

    async def project_ids(self) -> list[str]:
        return await self._inner.project_ids()

    async def ping(self) -> None:
        await self._inner.ping()


def _fail(batch: list[_Waiter], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
