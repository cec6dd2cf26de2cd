"""What the two clients share before sending: their options, their counters, the events
they make and check with the server's own rules, and ``track`` itself."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from privalytics.domain.errors import InvalidInput
from privalytics.domain.validation import clean_event, typed_event

# One logger for the whole client package: its name is documented (docs/server-side.md).
logger = logging.getLogger("privalytics.client")

MAX_BATCH = 1000  # the server's limit per request


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
    screen_width: int | None = None,
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
        "screen_width": screen_width,
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


# The client's own user agent: what the server's bot filter reads for an event that names
# no visitor's agent (``user_agent``). It is in no list of bots, so such an event (one the
# application vouches for, e.g. a sign-up recorded by a job) is stored; httpx's default
# agent would be filtered as a bot, as curl's is. Events that name their visitor's agent
# are classified by it (docs/server-side.md).
CLIENT_AGENT = "privalytics-client/1"


def auth_headers(token: str) -> dict[str, str]:
    """The headers of every request a client sends."""
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "User-Agent": CLIENT_AGENT,
    }


class Tracking(ABC):
    """``track`` for both clients: check the event, queue it or count it dropped. A client
    says whether it takes events (:meth:`_accepting`), how it queues one
    (:meth:`_queue_event`, which raises when it cannot) and how it counts a drop
    (:meth:`_drop`)."""

    def __init__(self, options: ClientOptions | None) -> None:
        self.options = options or ClientOptions()
        self.counters = Counters()

    def track(self, action: str, path: str, **fields: Any) -> bool:
        """Queue one event (see :func:`make_event` for ``fields``); never blocks or raises.
        False when it was dropped: the server would refuse it (logged with the field), the
        client is closed or its queue is full (or, for :class:`AsyncClient`, no event loop
        is running)."""
        try:
            if not self._accepting():
                self._drop()
                return False
            self._queue_event(checked_event(action, path, **fields))
            return True
        except Exception as exc:  # a malformed field must not reach the host application
            if isinstance(exc, InvalidInput):
                # The field and the domain's message, which never repeats a value (an
                # address, an agent, a path): only what the developer needs to fix the call.
                logger.warning("privalytics: dropped an event the server would refuse: %s", exc)
            self._drop()
            return False

    @abstractmethod
    def _accepting(self) -> bool: ...

    @abstractmethod
    def _queue_event(self, event: dict[str, Any]) -> None: ...

    @abstractmethod
    def _drop(self) -> None: ...
