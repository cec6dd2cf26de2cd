"""Forged tokens for a real, public token id never refuse the real secret, are throttled
per client address, and after the first cost no read of the token store: over memory,
SQLite and PostgreSQL, on a process that has never seen the real token (a restart)."""

from __future__ import annotations

from typing import Any

import pytest

from privalytics.adapters.memory import InMemoryRateLimiter, InMemoryUserStore
from privalytics.domain.errors import RateLimited, Unauthenticated
from privalytics.domain.models import Action, ClientInfo, IncomingEvent, TokenRecord
from privalytics.domain.ports import TokenStore
from privalytics.domain.services import Services, build_services
from privalytics.domain.throttle import FAILED_AUTH
from privalytics.domain.tokens import SECRET_BYTES, TOKEN_PREFIX, Credential, parse
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests.integration.conftest import Backend

VISIT = [IncomingEvent(action=Action.VISIT, path="/")]
ATTACKER = ClientInfo(ip="203.0.113.66", user_agent="flood")
SENDER = ClientInfo(ip="198.51.100.7", user_agent="real")


class CountingTokenStore:
    """The backend's own token store, counting the token reads it serves."""

    def __init__(self, inner: TokenStore) -> None:
        self.inner = inner
        self.token_reads = 0

    async def get_token(self, token_id: str) -> TokenRecord | None:
        self.token_reads += 1
        return await self.inner.get_token(token_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def a_process(backend: Backend, tokens: TokenStore, clock: ManualClock) -> Services:
    """One server process: its own memory (caches, limiter), the backend's stores."""
    return build_services(
        events=backend.events,
        tokens=tokens,
        salts=backend.salts,
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        users=InMemoryUserStore(),
        **lookups()._asdict(),
    )


def forged(token: str, n: int) -> str:
    credential = parse(token, TOKEN_PREFIX)
    assert credential is not None
    secret = (n + 1).to_bytes(SECRET_BYTES, "big")
    return Credential(prefix=TOKEN_PREFIX, id=credential.id, secret=secret).text


async def outcome(services: Services, token: str, client: ClientInfo) -> str:
    try:
        await services.ingestion.record(token, VISIT, client)
    except Unauthenticated:
        return "401"
    except RateLimited:
        return "429"
    return "202"


@pytest.mark.parametrize("distinct", [True, False])
async def test_after_a_restart_a_forged_flood_leaves_the_real_token_working(
    backend: Backend, distinct: bool
) -> None:
    clock = ManualClock()
    before = a_process(backend, backend.tokens, clock)
    created = await before.admin.create_project("site")
    token = created.token.token
    assert await outcome(before, token, SENDER) == "202"

    store = CountingTokenStore(backend.tokens)
    restarted = a_process(backend, store, clock)  # type: ignore[arg-type]
    flood = [forged(token, n if distinct else 0) for n in range(FAILED_AUTH.burst + 40)]
    answers = [await outcome(restarted, text, ATTACKER) for text in flood]
    # Refused, then throttled for that address, never anything else.
    assert answers == ["401"] * FAILED_AUTH.burst + ["429"] * 40
    # The token id's record was read once: no forgery after the first reached the store.
    assert store.token_reads == 1
    # The real sender, at another address, gets through at once, and stays through.
    assert await outcome(restarted, token, SENDER) == "202"
    assert await outcome(restarted, forged(token, 999), ATTACKER) == "429"
    assert await outcome(restarted, token, SENDER) == "202"
    assert store.token_reads == 1


async def test_fewer_forgeries_than_the_burst_then_the_real_token_from_the_same_address(
    backend: Backend,
) -> None:
    clock = ManualClock()
    created = await a_process(backend, backend.tokens, clock).admin.create_project("site")
    restarted = a_process(backend, backend.tokens, clock)
    token = created.token.token
    for n in range(FAILED_AUTH.burst - 1):
        assert await outcome(restarted, forged(token, n), SENDER) == "401"
    assert await outcome(restarted, token, SENDER) == "202"
    # Known as good now: the address's spent budget does not touch it.
    assert await outcome(restarted, forged(token, 500), SENDER) == "401"
    assert await outcome(restarted, forged(token, 501), SENDER) == "429"
    assert await outcome(restarted, token, SENDER) == "202"


async def test_the_throttle_refills_with_time(backend: Backend) -> None:
    clock = ManualClock()
    created = await a_process(backend, backend.tokens, clock).admin.create_project("site")
    services = a_process(backend, backend.tokens, clock)
    token = created.token.token
    for n in range(FAILED_AUTH.burst):
        await outcome(services, forged(token, n), ATTACKER)
    assert await outcome(services, forged(token, 1000), ATTACKER) == "429"
    clock.advance(FAILED_AUTH.interval)
    assert await outcome(services, forged(token, 1001), ATTACKER) == "401"
    assert await outcome(services, forged(token, 1002), ATTACKER) == "429"
