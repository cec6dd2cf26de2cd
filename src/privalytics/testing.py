"""Test doubles shipped to users: a clock you set, a fast hasher, services on memory."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from privalytics.adapters.agents import UaParserAgentParser
from privalytics.adapters.bots import CrawlerListBotDetector
from privalytics.adapters.geo import IptoccGeoLocator
from privalytics.adapters.memory import (
    InMemoryBotLogStore,
    InMemoryEventStore,
    InMemoryFunnelStore,
    InMemoryGoalStore,
    InMemoryImportStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
    InMemoryUserStore,
)
from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.ports import AgentParser, BotDetector, GeoLocator, SourceNamer
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


class Lookups(NamedTuple):
    """The lookups that derive an arriving event's fields, as ``build_services`` takes
    them (``build_services(..., **lookups()._asdict())``)."""

    sources: SourceNamer
    agents: AgentParser
    places: GeoLocator


@functools.cache
def lookups() -> Lookups:
    """The real lookups a server uses by default (the public-suffix list and known
    sources, ua-parser, the embedded country table), built once and shared: they hold no
    state but bounded caches of answers, and building them takes a fifth of a second."""
    return Lookups(PublicSuffixSourceNamer(), UaParserAgentParser(), IptoccGeoLocator())


def make_services(
    clock: ManualClock | None = None,
    settings: IngestSettings | None = None,
    *,
    places: GeoLocator | None = None,
    bots: BotDetector | None = None,
) -> Services:
    """Services on the in-memory adapters, a manual clock and the plaintext hasher, with
    the real :func:`lookups` (``places``: another locator, e.g. over a MaxMind DB) and no
    bot filter unless ``bots`` is given (e.g. :func:`bot_detector`)."""
    clock = clock or ManualClock()
    real = lookups()
    events = InMemoryEventStore()
    return build_services(
        events=events,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        settings=settings,
        users=InMemoryUserStore(),
        sources=real.sources,
        agents=real.agents,
        places=places or real.places,
        bots=bots,
        bot_log=InMemoryBotLogStore(),
        goals=InMemoryGoalStore(),
        funnels=InMemoryFunnelStore(),
        imports=InMemoryImportStore(events),
    )


@functools.cache
def bot_detector() -> BotDetector:
    """The bot filter a server uses (``crawler-user-agents`` and our markers), built once
    and shared."""
    return CrawlerListBotDetector()
