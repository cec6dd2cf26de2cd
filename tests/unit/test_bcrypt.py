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
from privalytics.domain.tokens import TOKEN_PREFIX, Credential, id_of
from privalytics.testing import ManualClock, lookups


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


class CountingHasher:
    """The real bcrypt hasher, counting the checks it is asked for."""

    def __init__(self, inner: BcryptSecretHasher) -> None:
        self.inner = inner
        self.verified = 0

    async def hash(self, secret: bytes) -> bytes:
        return await self.inner.hash(secret)

    async def verify(self, secret: bytes, hashed: bytes) -> bool:
        self.verified += 1
        return await self.inner.verify(secret, hashed)


async def test_services_with_bcrypt_check_a_token_then_remember_it(clock: ManualClock) -> None:
    """One bcrypt check per token, however often it is sent (within the cache's time); a
    wrong secret under a remembered id is refused without one, and evicts nothing."""
    hasher = CountingHasher(BcryptSecretHasher(rounds=4))
    services = build_services(
        **lookups()._asdict(),
        events=InMemoryEventStore(),
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=hasher,
        clock=clock,
    )
    created = await services.admin.create_project("site")
    assert await services.ingestion.authenticate(created.token.token) == created.project
    assert hasher.verified == 1
    for _ in range(100):
        assert await services.ingestion.authenticate(created.token.token) == created.project
    assert hasher.verified == 1
    # The same id, another secret, a valid checksum: only bcrypt can tell it is wrong.
    wrong = Credential(prefix=TOKEN_PREFIX, id=id_of(created.token.token), secret=b"w" * 32)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await services.ingestion.authenticate(wrong.text)
    assert await services.ingestion.authenticate(created.token.token) == created.project
    assert hasher.verified == 1
