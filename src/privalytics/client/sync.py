"""The thread-backed :class:`Client`, for synchronous (or any) Python code."""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx

from privalytics.client.delivery import BATCH_PATH, Sending
from privalytics.client.options import ClientOptions, Tracking, auth_headers, logger

# At interpreter exit a client gets this long to send what is queued: an exiting process
# (a deploy, a CTRL-C) must not hang on an unreachable server.
AT_EXIT_TIMEOUT = 2.0


def _close_at_exit(client: weakref.ref[Client]) -> Callable[[], None]:
    def close() -> None:
        alive = client()
        if alive is not None:
            alive.close(min(AT_EXIT_TIMEOUT, alive.options.timeout))

    return close


# The live clients, restarted in a forked child: a thread does not survive fork().
_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _restart_after_fork() -> None:
    for client in list(_clients):
        with contextlib.suppress(Exception):
            client._start()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_restart_after_fork)


class Client(Tracking):
    """A thread-backed client for synchronous (or any) Python code."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        options: ClientOptions | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(options)
        self._url = url.rstrip("/")
        self._token = token
        self._transport = transport
        self._start()
        # At exit, send what is queued; a weak reference, so the client can still be freed.
        self._at_exit = _close_at_exit(weakref.ref(self))
        atexit.register(self._at_exit)
        _clients.add(self)

    def _start(self) -> None:
        """A new queue, HTTP client and worker thread: at creation, and in a forked child,
        where the parent's locks may be held by a thread that is not there, its connections
        are the parent's (left open: closing could end the parent's TLS sessions), and its
        queued events are the parent's to send."""
        closed = getattr(self, "_closed", None)
        self._closed = threading.Event()
        if closed is not None and closed.is_set():
            self._closed.set()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(self.options.max_queue)
        self._http = httpx.Client(
            base_url=self._url,
            headers=auth_headers(self._token),
            timeout=self.options.timeout,
            transport=self._transport,
        )
        self._idle = threading.Condition()
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name="privalytics-client", daemon=True)
        if not self._closed.is_set():
            self._thread.start()

    def _accepting(self) -> bool:
        return not self._closed.is_set()

    def _queue_event(self, event: dict[str, Any]) -> None:
        with self._idle:
            self._queue.put_nowait(event)  # queue.Full: dropped
            self._in_flight += 1

    def _drop(self) -> None:
        with self._idle:
            self.counters.dropped += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was sent or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued, then stop: all within ``timeout`` seconds (a request still
        running then is left to the daemon thread, and its events are not counted)."""
        deadline = time.monotonic() + timeout
        if not self._closed.is_set():
            self.flush(timeout)
            self._closed.set()
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join(max(deadline - time.monotonic(), 0))
        if not self._thread.is_alive():
            self._http.close()
        atexit.unregister(self._at_exit)
        _clients.discard(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _next_batch(self) -> list[dict[str, Any]] | None:
        """Up to batch_size events, waiting at most flush_interval after the first; None
        once closed and empty."""
        try:
            first = self._queue.get(timeout=self.options.flush_interval)
        except queue.Empty:
            return [] if not self._closed.is_set() else None
        if first is None:
            return [] if not self._queue.empty() else None
        batch = [first]
        deadline = time.monotonic() + self.options.flush_interval
        while len(batch) < self.options.batch_size:
            left = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=max(left, 0)) if left > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is None:
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while True:
            try:
                batch = self._next_batch()
            except Exception:  # pragma: no cover - the loop must survive anything
                logger.debug("privalytics: client loop error", exc_info=False)
                continue
            if batch is None:
                return
            if batch:
                self._send(batch)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        sending = Sending(batch, self.options)
        while (body := sending.next_body()) is not None:
            response: httpx.Response | None = None
            error: Exception | None = None
            try:
                response = self._http.post(BATCH_PATH, content=body)
            except Exception as exc:
                error = exc
            delay, sent, failed = sending.answer(response, error, closing=self._closed.is_set())
            if sent or failed:
                with self._idle:
                    self.counters.sent += sent
                    self.counters.failed += failed
                    self._in_flight -= sent + failed
                    self._idle.notify_all()
            if delay:
                self._closed.wait(delay)
