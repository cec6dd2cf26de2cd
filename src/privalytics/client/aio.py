"""The asyncio :class:`AsyncClient`: ``track`` is a plain call, sending runs in a task."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from types import TracebackType
from typing import Any, Self

import httpx

from privalytics.client.delivery import BATCH_PATH, Sending
from privalytics.client.options import ClientOptions, Tracking, auth_headers


class AsyncClient(Tracking):
    """An asyncio client: ``track`` is a plain (non-async) call, sending runs in a task
    started on first use inside a running event loop."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        options: ClientOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(options)
        self._pending: deque[dict[str, Any]] = deque()
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers=auth_headers(token),
            timeout=self.options.timeout,
            transport=transport,
        )
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._in_flight = 0
        self._closed = False
        self._urgent = False  # flushing: send without waiting for batches to fill

    def _accepting(self) -> bool:
        # _in_flight counts the pending events and the batch being sent.
        return not self._closed and self._in_flight < self.options.max_queue

    def _queue_event(self, event: dict[str, Any]) -> None:
        self._ensure_worker()  # RuntimeError without a running event loop: dropped
        self._pending.append(event)
        self._in_flight += 1
        assert self._wake is not None
        assert self._idle is not None
        self._idle.clear()
        if len(self._pending) >= self.options.batch_size:
            self._wake.set()

    def _drop(self) -> None:
        self.counters.dropped += 1

    def _ensure_worker(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._idle = asyncio.Event()
            self._idle.set()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def flush(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109 (a bound, like Client's)
        """Wait until every queued event was sent or given up; False on timeout."""
        if self._idle is None or self._wake is None or not self._in_flight:
            return True
        self._urgent = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Send what is queued (for at most ``timeout`` seconds), then stop."""
        if not self._closed:
            await self.flush(timeout)
            self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # What a timed-out flush left behind is lost: the pending events and a batch whose
        # sending was cancelled.
        self.counters.failed += self._in_flight
        self._in_flight = 0
        self._pending.clear()
        if self._idle is not None:
            self._idle.set()
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self) -> None:
        assert self._wake is not None
        assert self._idle is not None
        while True:
            if not self._pending:
                self._urgent = False
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            elif len(self._pending) < self.options.batch_size and not self._urgent:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.options.flush_interval)
            count = min(len(self._pending), self.options.batch_size)
            if count:
                await self._send([self._pending.popleft() for _ in range(count)])
                if not self._in_flight:
                    self._idle.set()

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        sending = Sending(batch, self.options)
        try:
            while (body := sending.next_body()) is not None:
                response: httpx.Response | None = None
                error: Exception | None = None
                try:
                    response = await self._http.post(BATCH_PATH, content=body)
                except Exception as exc:
                    error = exc
                delay, sent, failed = sending.answer(response, error, closing=self._closed)
                self.counters.sent += sent
                self.counters.failed += failed
                self._in_flight -= sent + failed
                if delay:
                    await asyncio.sleep(delay)
        except Exception:  # pragma: no cover - the task must survive anything
            self.counters.failed += sending.unsettled
            self._in_flight -= sending.unsettled
