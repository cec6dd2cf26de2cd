"""bcrypt for credential secrets, off the event loop."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from privalytics.adapters.bcrypt import DEFAULT_ROUNDS, BcryptSecretHasher
from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.errors import Unauthenticated
from privalytics.domain.services import build_services
from privalytics.testing import ManualClock


@pytest.fixture(scope="module")
def hasher() -> BcryptSecretHasher:
    return BcryptSecretHasher()


def test_the_default_cost_is_10_rounds(hasher: BcryptSecretHasher) -> None:
    assert hasher.rounds == DEFAULT_ROUNDS == 10


async def test_the_right_secret_verifies_and_a_wrong_one_does_not(
    hasher: BcryptSecretHasher,
) -> None:
    secret = secrets.token_bytes(32)
    hashed = await hasher.hash(secret)
    assert hashed.startswith(b"$2b$10$")
    assert secret not in hashed
    assert await hasher.verify(secret, hashed)
    assert not await hasher.verify(secrets.token_bytes(32), hashed)
    assert not await hasher.verify(secret[:-1], hashed)


async def test_the_same_secret_hashes_differently_each_time(hasher: BcryptSecretHasher) -> None:
    secret = b"s" * 32
    one, two = await asyncio.gather(hasher.hash(secret), hasher.hash(secret))
    assert one != two
    assert await hasher.verify(secret, one)
    assert await hasher.verify(secret, two)


@pytest.mark.parametrize(
    "stored", [b"", b"plain$secret", b"$2b$10$short", b"\xff\xfe", b"$2b$99$" + b"a" * 53]
)
async def test_a_stored_value_that_is_not_a_bcrypt_hash_matches_nothing(
    hasher: BcryptSecretHasher, stored: bytes
) -> None:
    assert await hasher.verify(b"secret", stored) is False


async def test_hashing_runs_off_the_event_loop() -> None:
    """While bcrypt runs, the loop keeps serving other tasks."""
    slow = BcryptSecretHasher(rounds=12)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    hashed = await slow.hash(b"secret")
    elapsed = time.perf_counter() - started
    before_verify = ticks
    assert await slow.verify(b"secret", hashed)
    stop.set()
    await task
    # A blocking hash would have let the ticker run once at most.
    assert elapsed > 0.05
    assert before_verify >= 5
    assert ticks - before_verify >= 5


async def test_services_with_bcrypt_check_a_token_then_remember_it(clock: ManualClock) -> None:
    services = build_services(
        events=InMemoryEventStore(),
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=BcryptSecretHasher(rounds=4),
        clock=clock,
    )
    created = await services.admin.create_project("site")
    assert await services.ingestion.authenticate(created.token.token) == created.project
    started = time.perf_counter()
    for _ in range(100):
        await services.ingestion.authenticate(created.token.token)
    assert time.perf_counter() - started < 0.5
    with pytest.raises(Unauthenticated):
        await services.ingestion.authenticate(created.token.token[:-1] + "x")
