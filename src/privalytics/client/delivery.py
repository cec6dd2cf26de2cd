"""Sending a batch, without I/O: what to post next, how long to wait before retrying, and
what became of each event. Both clients drive :class:`Sending`, one with a thread and
``httpx.Client``, the other with a task and ``httpx.AsyncClient``."""

from __future__ import annotations

import contextlib
import random
from collections import deque
from typing import Any

import httpx
import msgspec

from privalytics.client.options import ClientOptions, logger
from privalytics.domain.models import IncomingEvent

BATCH_PATH = "/api/v1/events/batch"
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


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


def _describe(response: httpx.Response | None, error: Exception | None) -> str:
    # The status, or what happened in our words: the body could repeat what was sent, and
    # httpx's texts and class names are not ours to show.
    if response is not None:
        return f"HTTP {response.status_code}"
    if isinstance(error, httpx.TimeoutException):
        return "the server did not answer in time"
    if isinstance(error, httpx.ConnectError):
        return "the server cannot be reached"
    return "the connection failed"


class Sending:
    """One batch's delivery: each part is posted (:meth:`next_body`) and answered
    (:meth:`answer`) until the server took it, refused it, or retrying is no longer worth
    it; a client only moves the bytes and waits the delays it is told."""

    def __init__(self, batch: list[dict[str, Any]], options: ClientOptions) -> None:
        self._delivery = Delivery(batch)
        self._options = options
        self._part: list[dict[str, Any]] | None = None
        self._body = b""
        self._attempt = 0

    @property
    def unsettled(self) -> int:
        """Events of the batch not yet sent or given up."""
        return self._delivery.unsettled

    def next_body(self) -> bytes | None:
        """What to post next: the part under way again, or the next part; None when the
        whole batch is settled."""
        if self._part is None:
            self._part = self._delivery.next_part()
            if self._part is None:
                return None
            self._body = msgspec.json.encode({"events": self._part})
            self._attempt = 0
        return self._body

    def answer(
        self, response: httpx.Response | None, error: Exception | None, *, closing: bool
    ) -> tuple[float, int, int]:
        """Seconds to wait before posting again (0 for at once), and how many events the
        answer settled as sent and as given up. A client ``closing`` gives up a part on a
        connection error rather than wait to retry it."""
        assert self._part is not None
        if response is None or response.status_code >= 300:
            delay = retry_delay(self._attempt, response, self._options)
            if delay is not None and not (closing and error is not None):
                self._attempt += 1
                return delay, 0, 0
        part, self._part = self._part, None
        return 0.0, *self._delivery.settle(part, response, error)
