"""Send events from a backend to a privalytics server: sync and async clients on httpx.

Both keep the host application safe first: :meth:`track` never blocks and never raises;
it checks the event with the server's own rules (:mod:`privalytics.domain.validation`)
and puts it in a bounded queue, or returns ``False`` (counting it in ``dropped``) when
the event is malformed (with a warning naming the field) or the queue is full. A
background worker (a thread for :class:`Client`, a task for :class:`AsyncClient`) sends
batches to ``POST /api/v1/events/batch``, retrying connection errors, 429 and 5xx with
exponential backoff and jitter (a server's ``Retry-After`` is honoured). A batch the
server refuses as invalid (400) is sent again without the event the answer names (one
by one when it names none), so that a bad event never costs its neighbours; an event or
batch refused otherwise (another 4xx), or out of ``max_retries``, is given up and
counted in ``failed``. ``close()`` / ``aclose()``
flush what is queued within a timeout (one deadline for all of it); :class:`Client` also
closes itself at exit, within ``AT_EXIT_TIMEOUT`` seconds, and starts a new worker in a
forked child (a pre-forking server's workers), whose copy of the parent's queue it drops:
the parent sends those.

>>> client = Client("https://stats.example.com", "pvt_...")
>>> client.track("visit", "/pricing", visitor_ip=request_ip, user_agent=agent)
True

The visitor's address and agent are hashed by the server into a daily visitor id and
never stored.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import queue
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
import msgspec

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import IncomingEvent
from privalytics.domain.validation import clean_event, typed_event

logger = logging.getLogger("privalytics.client")

BATCH_PATH = "/api/v1/events/batch"
MAX_BATCH = 1000  # the server's limit per request
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
# At interpreter exit a client gets this long to send what is queued: an exiting process
# (a deploy, a CTRL-C) must not hang on an unreachable server.
AT_EXIT_TIMEOUT = 2.0


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """How a client batches and retries; the defaults suit a web backend.

    ``max_queue`` bounds memory: events beyond it are dropped (and counted).
    ``flush_interval``: the longest an event waits for its batch to fill.
    ``backoff`` doubles from its value on each retry, up to ``max_backoff``, with jitter.
    """

    batch_size: int = 100
    flush_interval: float = 1.0
    max_queue: int = 10_000
    max_retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: float = 5.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        if self.max_queue < 1 or self.max_retries < 0:
            raise ValueError("max_queue must be positive and max_retries not negative")
        if min(self.flush_interval, self.backoff, self.max_backoff, self.timeout) <= 0:
            raise ValueError("intervals and timeouts must be positive")


@dataclass
class Counters:
    """What became of the events given to ``track``: ``sent`` (stored by the server),
    ``dropped`` (never queued: malformed, queue full or client closed) and ``failed``
    (queued, then given up: refused by the server or out of retries)."""

    sent: int = 0
    dropped: int = 0
    failed: int = 0


def make_event(
    action: str,
    path: str,
    *,
    referrer: str | None = None,
    target: str | None = None,
    value: float | None = None,
    props: Mapping[str, str] | None = None,
    visitor_ip: str | None = None,
    user_agent: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """One event as the batch endpoint reads it, stamped now unless ``timestamp`` is given
    (so that a retried event keeps the moment it happened)."""
    event: dict[str, Any] = {
        "action": action,
        "path": path,
        "timestamp": (timestamp or datetime.now(UTC)).isoformat(),
    }
    optional = {
        "referrer": referrer,
        "target": target,
        "value": value,
        "props": dict(props) if props else None,
        "visitor_ip": visitor_ip,
        "user_agent": user_agent,
    }
    event.update({key: item for key, item in optional.items() if item is not None})
    return event


def checked_event(action: str, path: str, **fields: Any) -> dict[str, Any]:
    """:func:`make_event` for an event the server accepts; :class:`InvalidInput` (naming
    the field, never repeating its value) for one it would refuse. The rules are the
    server's own, but for the age of a ``timestamp``, the server's setting: a timestamp
    without a timezone is UTC, as in the domain."""
    incoming = typed_event({"action": action, "path": path, **fields})
    # No age bound here: the server's PRIVALYTICS_MAX_EVENT_AGE_HOURS is its own.
    clean = clean_event(incoming, datetime.now(UTC), None)
    return make_event(action, path, **{**fields, "timestamp": clean.timestamp})


def _refuse(error: InvalidInput) -> None:
    # The field and the domain's message, which never repeats a value (an address, an
    # agent, a path): only what the developer needs to fix the call.
    logger.warning("privalytics: dropped an event the server would refuse: %s", error)


def retry_delay(
    attempt: int, response: httpx.Response | None, options: ClientOptions
) -> float | None:
    """Seconds to wait before retrying after ``attempt`` failed (0-based); None when the
    batch must be given up (refused as invalid, or out of retries)."""
    if response is not None and response.status_code not in RETRYABLE:
        return None
    if attempt >= options.max_retries:
        return None
    delay = min(options.max_backoff, options.backoff * 2.0**attempt)
    delay *= 0.5 + random.random() / 2  # noqa: S311 (jitter, not a secret)
    if response is not None:
        with contextlib.suppress(ValueError):
            retry_after: str = response.headers.get("retry-after", "0")
            delay = max(delay, float(retry_after))
    return min(delay, options.max_backoff)


class _Refusal(msgspec.Struct):
    """What of a 400 answer's body tells which event was refused."""

    index: int | None = None
    field: str | None = None


class Delivery:
    """What to send next of one batch, given the server's answers. A part refused as
    invalid (400) is sent again without the event the answer names, or one event at a
    time when it names none; anything else ends a part: sent, or given up."""

    def __init__(self, batch: list[dict[str, Any]]) -> None:
        self._parts: deque[list[dict[str, Any]]] = deque([batch])
        # Events not yet sent or given up.
        self.unsettled = len(batch)

    def next_part(self) -> list[dict[str, Any]] | None:
        return self._parts.popleft() if self._parts else None

    def settle(
        self, part: list[dict[str, Any]], response: httpx.Response | None, error: Exception | None
    ) -> tuple[int, int]:
        """How many events of ``part``, after its last attempt, were sent and given up."""
        if response is not None and response.status_code < 300:
            return self._settled(len(part), 0)
        if response is not None and response.status_code == 400 and len(part) > 1:
            refused = _refused(response, len(part))
            if refused is None:
                self._parts.extendleft([event] for event in reversed(part))
                return 0, 0
            index, field = refused
            logger.warning(
                "privalytics: the server refused one event (HTTP 400%s); sending the other %d",
                f", field {field}" if field else "",
                len(part) - 1,
            )
            self._parts.appendleft(part[:index] + part[index + 1 :])
            return self._settled(0, 1)
        logger.warning(
            "privalytics: gave up on %d events (%s)", len(part), _describe(response, error)
        )
        return self._settled(0, len(part))

    def _settled(self, sent: int, failed: int) -> tuple[int, int]:
        self.unsettled -= sent + failed
        return sent, failed


def _refused(response: httpx.Response, size: int) -> tuple[int, str | None] | None:
    """The index of the event a 400 answer names, and its field if it is an event's."""
    try:
        refusal = msgspec.json.decode(response.content, type=_Refusal)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if refusal.index is None or not 0 <= refusal.index < size:
        return None
    # A field name the answer repeats is logged only when it is one of an event's.
    field = refusal.field if refusal.field in _EVENT_FIELDS else None
    return refusal.index, field


_EVENT_FIELDS = frozenset(field.name for field in msgspec.structs.fields(IncomingEvent))


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


def _describe(response: httpx.Response | None, error: Exception | None) -> str:
    # Status or error type only: the body could repeat what was sent.
    if response is not None:
        return f"HTTP {response.status_code}"
    return type(error).__name__


class Client:
    """A thread-backed client for synchronous (or any) Python code."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        options: ClientOptions | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        self.counters = Counters()
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
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            timeout=self.options.timeout,
            transport=self._transport,
        )
        self._idle = threading.Condition()
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name="privalytics-client", daemon=True)
        if not self._closed.is_set():
            self._thread.start()

    def track(self, action: str, path: str, **fields: Any) -> bool:
        """Queue one event (see :func:`make_event` for ``fields``); never blocks or raises.
        False when it was dropped: the server would refuse it (logged with the field), the
        client is closed or its queue is full."""
        try:
            if self._closed.is_set():
                self.counters.dropped += 1
                return False
            event = checked_event(action, path, **fields)
            with self._idle:
                self._queue.put_nowait(event)
                self._in_flight += 1
            return True
        except queue.Full:
            with self._idle:
                self.counters.dropped += 1
            return False
        except Exception as exc:  # a malformed field must not reach the host application
            if isinstance(exc, InvalidInput):
                _refuse(exc)
            with self._idle:
                self.counters.dropped += 1
            return False

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
        delivery = Delivery(batch)
        while (part := delivery.next_part()) is not None:
            sent, failed = delivery.settle(part, *self._post(part))
            with self._idle:
                self.counters.sent += sent
                self.counters.failed += failed
                self._in_flight -= sent + failed
                self._idle.notify_all()

    def _post(self, part: list[dict[str, Any]]) -> tuple[httpx.Response | None, Exception | None]:
        """The last answer (or error) to sending ``part``, retried while worth it."""
        body = msgspec.json.encode({"events": part})
        attempt = 0
        while True:
            response: httpx.Response | None = None
            error: Exception | None = None
            try:
                response = self._http.post(BATCH_PATH, content=body)
                if response.status_code < 300:
                    return response, None
            except Exception as exc:
                error = exc
            delay = retry_delay(attempt, response, self.options)
            if delay is None or (self._closed.is_set() and error is not None):
                return response, error
            attempt += 1
            self._closed.wait(delay)


class AsyncClient:
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
        self.options = options or ClientOptions()
        self.counters = Counters()
        self._pending: deque[dict[str, Any]] = deque()
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=self.options.timeout,
            transport=transport,
        )
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._in_flight = 0
        self._closed = False
        self._urgent = False  # flushing: send without waiting for batches to fill

    def track(self, action: str, path: str, **fields: Any) -> bool:
        """Queue one event (see :func:`make_event`); never blocks or raises. False when it
        was dropped: closed, queue full, or no running event loop."""
        try:
            # _in_flight counts the pending events and the batch being sent.
            if self._closed or self._in_flight >= self.options.max_queue:
                self.counters.dropped += 1
                return False
            event = checked_event(action, path, **fields)
            self._ensure_worker()
            self._pending.append(event)
            self._in_flight += 1
            assert self._wake is not None
            assert self._idle is not None
            self._idle.clear()
            if len(self._pending) >= self.options.batch_size:
                self._wake.set()
            return True
        except Exception as exc:
            if isinstance(exc, InvalidInput):
                _refuse(exc)
            self.counters.dropped += 1
            return False

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
                batch = [self._pending.popleft() for _ in range(count)]
                delivery = Delivery(batch)
                try:
                    while (part := delivery.next_part()) is not None:
                        sent, failed = delivery.settle(part, *await self._post(part))
                        self.counters.sent += sent
                        self.counters.failed += failed
                        self._in_flight -= sent + failed
                except Exception:  # pragma: no cover - the task must survive anything
                    self.counters.failed += delivery.unsettled
                    self._in_flight -= delivery.unsettled
                if not self._in_flight:
                    self._idle.set()

    async def _post(
        self, part: list[dict[str, Any]]
    ) -> tuple[httpx.Response | None, Exception | None]:
        """The last answer (or error) to sending ``part``, retried while worth it."""
        body = msgspec.json.encode({"events": part})
        attempt = 0
        while True:
            response: httpx.Response | None = None
            error: Exception | None = None
            try:
                response = await self._http.post(BATCH_PATH, content=body)
                if response.status_code < 300:
                    return response, None
            except Exception as exc:
                error = exc
            delay = retry_delay(attempt, response, self.options)
            if delay is None or (self._closed and error is not None):
                return response, error
            attempt += 1
            await asyncio.sleep(delay)
