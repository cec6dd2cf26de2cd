"""Admin keys can be listed (never their secrets) and revoked."""

from __future__ import annotations

import pytest

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.errors import NotFound, Unauthenticated
from privalytics.domain.services import IngestSettings, Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups

TTL = 30.0


def process(tokens: InMemoryTokenStore, clock: ManualClock) -> Services:
    return build_services(
        **lookups()._asdict(),
        events=InMemoryEventStore(),
        tokens=tokens,
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        settings=IngestSettings(cache_ttl=TTL),
    )


@pytest.fixture
def tokens() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def one(tokens: InMemoryTokenStore, clock: ManualClock) -> Services:
    return process(tokens, clock)


async def test_keys_are_listed_oldest_first_without_secrets(
    one: Services, clock: ManualClock
) -> None:
    first = await one.admin.create_admin_key()
    clock.advance(1)
    second = await one.admin.create_admin_key()
    listed = await one.admin.list_admin_keys()
    assert [k.id for k in listed] == [first.split("_")[1], second.split("_")[1]]
    assert all(k.revoked_at is None for k in listed)
    assert not any(hasattr(k, "secret_hash") for k in listed)


async def test_a_revoked_key_is_refused_at_once_here_and_within_ttl_elsewhere(
    one: Services, tokens: InMemoryTokenStore, clock: ManualClock
) -> None:
    two = process(tokens, clock)
    key = await one.admin.create_admin_key()
    other = await one.admin.create_admin_key()
    key_id = key.split("_")[1]
    assert await two.admin.check_admin_key(key) == key_id
    revoked = await one.admin.revoke_admin_key(key_id)
    assert revoked.revoked_at == clock.now()
    with pytest.raises(Unauthenticated):
        await one.admin.check_admin_key(key)
    clock.advance(TTL)
    with pytest.raises(Unauthenticated):
        await two.admin.check_admin_key(key)
    assert await two.admin.check_admin_key(other) == other.split("_")[1]
    states = {k.id: k.revoked_at for k in await one.admin.list_admin_keys()}
    assert states == {key_id: revoked.revoked_at, other.split("_")[1]: None}


async def test_revoking_twice_keeps_the_first_time(one: Services, clock: ManualClock) -> None:
    key_id = (await one.admin.create_admin_key()).split("_")[1]
    first = await one.admin.revoke_admin_key(key_id)
    clock.advance(10)
    assert (await one.admin.revoke_admin_key(key_id)).revoked_at == first.revoked_at


async def test_revoking_an_unknown_key_is_not_found(one: Services) -> None:
    with pytest.raises(NotFound):
        await one.admin.revoke_admin_key("0" * 16)
