"""/healthz covers the rate limiter too: events cannot be stored without it."""

from __future__ import annotations

from litestar.testing import TestClient

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.services import build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups


class DownRateLimiter(InMemoryRateLimiter):
    async def ping(self) -> None:
        raise StorageUnavailable("the rate limiter does not answer")


def test_healthz_is_503_when_the_limiter_is_down(clock: ManualClock) -> None:
    services = build_services(
        **lookups()._asdict(),
        events=InMemoryEventStore(),
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=DownRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )
    with TestClient(create_app(services, HttpOptions())) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
