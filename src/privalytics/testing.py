"""Test doubles shipped to users: a clock you set, a fast hasher, services on memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
    InMemoryUserStore,
)
from privalytics.domain.services import IngestSettings, Services, build_services


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        self._now += timedelta(seconds=seconds, **delta)


class PlaintextSecretHasher:
    """For tests only: keeps secrets recoverable. Never use it with real credentials."""

    async def hash(self, secret: bytes) -> bytes:
        return b"plain$" + secret

    async def verify(self, secret: bytes, hashed: bytes) -> bool:
        return hashed == b"plain$" + secret


def make_services(
    clock: ManualClock | None = None, settings: IngestSettings | None = None
) -> Services:
    """Services on the in-memory adapters, a manual clock and the plaintext hasher."""
    clock = clock or ManualClock()
    return build_services(
        events=InMemoryEventStore(),
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        settings=settings,
        users=InMemoryUserStore(),
    )
