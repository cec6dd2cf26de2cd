"""Prometheus metrics: what the server accepted and refused, and where its time goes.

Nothing here names a project, a visitor, an address or an agent: every series is a count or
a duration of the whole server, labelled at most by a reason out of a fixed list.

One process keeps its metrics in memory. With several workers, ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before they start (prometheus-client's
multiprocess mode), each worker writes its values there, and ``/metrics``, answered by any
one of them, adds up every worker's (docs/deployment.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from privalytics.domain.models import RateDecision
from privalytics.domain.ports import RateLimiter
from privalytics.domain.ratelimit import Policy

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"

# Why an ingestion request was refused, by the status it was answered with (docs/http-api.md
# lists what each status means on these routes).
REASONS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "unknown_site",
    405: "method_not_allowed",
    408: "timeout",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}
OTHER_REASON = "other"

# Seconds: from a tenth of a millisecond (an in-memory limiter) to the statement deadline.
LATENCY_BUCKETS: tuple[float, ...] = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01)
LATENCY_BUCKETS += (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Events per transaction: one alone up to the group commit's 5,000.
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 5000)

Send = Callable[[Any], Awaitable[None]]


def multiprocess() -> bool:
    """Whether this process writes its values for several workers to add up."""
    return bool(os.environ.get(MULTIPROCESS_DIRECTORY))


class Metrics:
    """The server's metrics, in a registry of their own (an embedding application keeps
    prometheus-client's default registry to itself)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.ingest_answered = Counter(
            "privalytics_ingest_requests",
            "Ingestion requests (own API, Plausible and Umami routes) answered 202.",
            registry=registry,
        )
        self.ingest_refused = Counter(
            "privalytics_ingest_refused",
            "Ingestion requests refused, by reason (rate_limited is the 429s).",
            ["reason"],
            registry=registry,
        )
        self.events_stored = Counter(
            "privalytics_events_stored",
            "Events committed to the event store.",
            registry=registry,
        )
        self.commit_events = Histogram(
            "privalytics_commit_events",
            "Events per group-commit transaction.",
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "privalytics_commit_seconds",
            "Duration of a group-commit transaction (storage latency).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.commit_wait_seconds = Histogram(
            "privalytics_commit_wait_seconds",
            "How long a request waited for the transaction that stored its events.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_requests = Gauge(
            "privalytics_commit_queue_requests",
            "Requests waiting for the next transaction, as the event writer last saw.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.limiter_seconds = Histogram(
            "privalytics_limiter_seconds",
            "Duration of one rate-limit decision.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        for reason in (*REASONS.values(), OTHER_REASON):
            self.ingest_refused.labels(reason)  # every reason shows, at 0 until it happens

    # -- what the event writers report (adapters/observer.py's CommitObserver) --

    def committed(self, events: int, seconds: float) -> None:
        self.events_stored.inc(events)
        self.commit_events.observe(events)
        self.commit_seconds.observe(seconds)

    def waited(self, seconds: float) -> None:
        self.commit_wait_seconds.observe(seconds)

    def queued(self, requests: int) -> None:
        self.queue_requests.set(requests)

    # -- what the HTTP adapter reports --

    def answered(self, status: int) -> None:
        """An ingestion request was answered with ``status``."""
        if status < 300:
            self.ingest_answered.inc()
        else:
            self.ingest_refused.labels(REASONS.get(status, OTHER_REASON)).inc()

    def watch(self, send: Send) -> Send:
        """``send``, noting the status of the answer it starts."""

        async def watched(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.answered(message["status"])
            await send(message)

        return watched

    def exposition(self) -> tuple[bytes, str]:
        """The text format and its content type: this process's values, or every worker's
        added up in multiprocess mode."""
        if multiprocess():
            registry = CollectorRegistry()
            _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class TimedRateLimiter:
    """A :class:`RateLimiter` whose decisions are timed into ``metrics``."""

    def __init__(self, inner: RateLimiter, metrics: Metrics) -> None:
        self._inner = inner
        self._observe = metrics.limiter_seconds.observe

    async def acquire(self, key: str, policy: Policy, cost: int = 1) -> RateDecision:
        started = time.perf_counter()
        try:
            return await self._inner.acquire(key, policy, cost)
        finally:
            self._observe(time.perf_counter() - started)

    async def reset(self, key: str) -> None:
        await self._inner.reset(key)

    async def ping(self) -> None:
        await self._inner.ping()
