"""Credential checks: bcrypt rarely, answers remembered, revocation felt in time."""

from __future__ import annotations

import asyncio
import gc
import weakref
from dataclasses import dataclass
from typing import Any

import pytest

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain import verification
from privalytics.domain.errors import Unauthenticated
from privalytics.domain.models import Action, ClientInfo, IncomingEvent, Project, TokenRecord
from privalytics.domain.services import IngestSettings, Services, build_services
from privalytics.domain.tokens import MAX_LENGTH, SECRET_BYTES, TOKEN_PREFIX, Credential, parse
from privalytics.domain.verification import (
    MAX_CONCURRENT_CHECKS,
    VerificationCache,
)
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups

TTL = 30.0


class CountingHasher:
    """The plaintext hasher, counting its checks; while ``gate`` is clear, checks wait on it."""

    def __init__(self) -> None:
        self._inner = PlaintextSecretHasher()
        self.verifies = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.fail_with: Exception | None = None
        self.running = 0
        self.peak = 0

    async def hash(self, secret: bytes) -> bytes:
        return await self._inner.hash(secret)

    async def verify(self, secret: bytes, hashed: bytes) -> bool:
        self.verifies += 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.started.set()
        try:
            await self.gate.wait()
        finally:
            self.running -= 1
        if self.fail_with is not None:
            raise self.fail_with
        return await self._inner.verify(secret, hashed)


@dataclass
class Stores:
    events: InMemoryEventStore
    tokens: InMemoryTokenStore
    salts: InMemorySaltStore


def stores() -> Stores:
    return Stores(InMemoryEventStore(), InMemoryTokenStore(), InMemorySaltStore())


def process(shared: Stores, hasher: CountingHasher, clock: ManualClock) -> Services:
    """One server process over ``shared`` stores: its own caches, limiter and cache key."""
    return build_services(
        **lookups()._asdict(),
        events=shared.events,
        tokens=shared.tokens,
        salts=shared.salts,
        limiter=InMemoryRateLimiter(clock),
        hasher=hasher,
        clock=clock,
        settings=IngestSettings(cache_ttl=TTL),
    )


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def shared() -> Stores:
    return stores()


@pytest.fixture
def one(shared: Stores, hasher: CountingHasher, clock: ManualClock) -> Services:
    return process(shared, hasher, clock)


async def new_token(services: Services) -> tuple[Project, str]:
    created = await services.admin.create_project("site")
    return created.project, created.token.token


def counting_reads(shared: Stores) -> list[str]:
    """The ids of the token reads the store serves from now on."""
    reads: list[str] = []
    get_token = shared.tokens.get_token

    async def counted(token_id: str) -> TokenRecord | None:
        reads.append(token_id)
        return await get_token(token_id)

    shared.tokens.get_token = counted  # type: ignore[method-assign]
    return reads


def with_other_secret(token: str) -> str:
    """A well-formed token (checksum right) with the same id and a different secret."""
    credential = parse(token, TOKEN_PREFIX)
    assert credential is not None
    other = bytes(b ^ 0xFF for b in credential.secret)
    return Credential(prefix=TOKEN_PREFIX, id=credential.id, secret=other).text


async def test_a_good_credential_costs_bcrypt_once_then_only_a_store_read_per_ttl(
    one: Services, shared: Stores, hasher: CountingHasher, clock: ManualClock
) -> None:
    """After ttl the record is read again (revocation), but its unchanged hash needs no
    second bcrypt check for a digest already verified against it."""
    project, token = await new_token(one)
    for _ in range(5):
        assert await one.ingestion.authenticate(token) == project
    assert hasher.verifies == 1
    reads = counting_reads(shared)
    clock.advance(TTL - 0.5)
    await one.ingestion.authenticate(token)
    assert reads == []
    clock.advance(1)
    assert await one.ingestion.authenticate(token) == project
    assert reads == [token.split("_")[1]]
    assert hasher.verifies == 1


async def test_recording_events_checks_the_token_once(
    one: Services, hasher: CountingHasher
) -> None:
    _, token = await new_token(one)
    event = IncomingEvent(action=Action.VISIT, path="/")
    for _ in range(10):
        await one.ingestion.record(token, [event], ClientInfo(ip="192.0.2.1"))
    assert hasher.verifies == 1


async def test_a_wrong_secret_for_a_known_id_is_refused_without_the_hasher_or_the_store(
    one: Services, shared: Stores, hasher: CountingHasher
) -> None:
    _, token = await new_token(one)
    await one.ingestion.authenticate(token)
    reads = counting_reads(shared)
    with pytest.raises(Unauthenticated, match="unknown or revoked"):
        await one.ingestion.authenticate(with_other_secret(token))
    assert hasher.verifies == 1
    assert reads == []


async def test_a_refused_credential_is_remembered_until_ttl(
    one: Services, hasher: CountingHasher, clock: ManualClock
) -> None:
    _, token = await new_token(one)
    wrong = with_other_secret(token)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await one.ingestion.authenticate(wrong)
    assert hasher.verifies == 1
    clock.advance(TTL + 1)
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(wrong)
    assert hasher.verifies == 2
    # Remembering the wrong one does not stand in the way of the right one.
    await one.ingestion.authenticate(token)
    assert hasher.verifies == 3


async def test_an_unknown_credential_is_remembered_as_refused_until_ttl(
    one: Services, shared: Stores, clock: ManualClock
) -> None:
    """Made-up ids cost one store read each per ``ttl``, however often they are sent."""
    unknown = Credential(prefix=TOKEN_PREFIX, id="0" * 16, secret=b"\x01" * 32).text
    reads = counting_reads(shared)
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="unknown or revoked"):
            await one.ingestion.authenticate(unknown)
    assert reads == ["0" * 16]
    clock.advance(TTL)
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(unknown)
    assert reads == ["0" * 16] * 2


def forged(token: str, n: int) -> str:
    """The ``n``-th well-formed token with ``token``'s public id and a made-up secret."""
    credential = parse(token, TOKEN_PREFIX)
    assert credential is not None
    secret = n.to_bytes(SECRET_BYTES, "big")
    return Credential(prefix=TOKEN_PREFIX, id=credential.id, secret=secret).text


async def refused(services: Services, texts: list[str]) -> None:
    for text in texts:
        with pytest.raises(Unauthenticated):
            await services.ingestion.authenticate(text)


async def test_forged_secrets_on_a_cold_process_never_refuse_the_real_one(
    one: Services, shared: Stores, hasher: CountingHasher, clock: ManualClock
) -> None:
    """A process that has not seen the real token yet (a fresh start, another worker):
    forged secrets for its public id are refused, each checked, the id's record read once
    per ttl; the real secret then gets through at once, and again after more forgeries."""
    project, token = await new_token(one)
    cold = process(shared, hasher, clock)
    reads = counting_reads(shared)
    await refused(cold, [forged(token, n) for n in range(50)])
    assert hasher.verifies == 50
    assert len(reads) == 1
    assert await cold.ingestion.authenticate(token) == project
    # Once the real secret is known, any other is refused without bcrypt.
    await refused(cold, [forged(token, n) for n in range(50, 100)])
    assert hasher.verifies == 51
    assert await cold.ingestion.authenticate(token) == project
    assert len(reads) == 1


async def test_a_repeated_forged_secret_costs_neither_a_read_nor_a_check(
    one: Services, shared: Stores, hasher: CountingHasher, clock: ManualClock
) -> None:
    _, token = await new_token(one)
    cold = process(shared, hasher, clock)
    reads = counting_reads(shared)
    await refused(cold, [forged(token, 7)] * 100)
    assert (hasher.verifies, len(reads)) == (1, 1)


async def test_forged_secrets_after_ttl_cost_no_check_and_the_real_token_still_works(
    one: Services, hasher: CountingHasher, clock: ManualClock
) -> None:
    project, token = await new_token(one)
    assert await one.ingestion.authenticate(token) == project
    clock.advance(TTL + 1)
    await refused(one, [forged(token, n) for n in range(100)])
    assert await one.ingestion.authenticate(token) == project
    clock.advance(TTL + 1)
    await refused(one, [forged(token, n) for n in range(100, 200)])
    assert await one.ingestion.authenticate(token) == project
    assert hasher.verifies == 1


async def test_the_real_token_among_concurrent_forgeries_gets_through_on_a_cold_process(
    one: Services, shared: Stores, hasher: CountingHasher, clock: ManualClock
) -> None:
    """Checks of one id run one at a time; the real one, once verified, settles the rest."""
    project, token = await new_token(one)
    cold = process(shared, hasher, clock)
    hasher.gate.clear()
    texts = [forged(token, 0), forged(token, 1), token] + [forged(token, n) for n in range(2, 60)]
    checks = [asyncio.create_task(cold.ingestion.authenticate(text)) for text in texts]
    await hasher.started.wait()
    hasher.gate.set()
    outcomes = await asyncio.gather(*checks, return_exceptions=True)
    assert outcomes[2] == project
    assert all(isinstance(o, Unauthenticated) for i, o in enumerate(outcomes) if i != 2)
    assert hasher.verifies <= 3
    assert hasher.peak == 1


async def test_at_most_a_few_bcrypt_checks_run_at_once(
    one: Services, hasher: CountingHasher
) -> None:
    tokens = [(await new_token(one))[1] for _ in range(3 * MAX_CONCURRENT_CHECKS)]
    hasher.gate.clear()
    checks = [asyncio.create_task(one.ingestion.authenticate(token)) for token in tokens]
    await hasher.started.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    assert hasher.running == MAX_CONCURRENT_CHECKS
    hasher.gate.set()
    await asyncio.gather(*checks)
    assert hasher.peak == MAX_CONCURRENT_CHECKS
    assert hasher.verifies == len(tokens)


async def test_a_malformed_or_unknown_credential_never_reaches_the_hasher(
    one: Services, hasher: CountingHasher
) -> None:
    _, token = await new_token(one)
    for text in ["", "pvt_", token[:-1], token + "0", token.replace("pvt", "pak", 1)]:
        with pytest.raises(Unauthenticated, match="malformed"):
            await one.ingestion.authenticate(text)
    unknown = Credential(prefix=TOKEN_PREFIX, id="0" * 16, secret=b"\x01" * 32).text
    with pytest.raises(Unauthenticated, match="unknown or revoked"):
        await one.ingestion.authenticate(unknown)
    assert hasher.verifies == 0


async def test_concurrent_checks_of_one_new_credential_run_the_hasher_once(
    one: Services, hasher: CountingHasher
) -> None:
    project, token = await new_token(one)
    hasher.gate.clear()
    checks = [asyncio.create_task(one.ingestion.authenticate(token)) for _ in range(25)]
    await hasher.started.wait()
    await asyncio.sleep(0)
    hasher.gate.set()
    assert await asyncio.gather(*checks) == [project] * 25
    assert hasher.verifies == 1


async def test_concurrent_checks_of_one_wrong_credential_run_the_hasher_once(
    one: Services, hasher: CountingHasher
) -> None:
    _, token = await new_token(one)
    hasher.gate.clear()
    checks = [
        asyncio.create_task(one.ingestion.authenticate(with_other_secret(token))) for _ in range(10)
    ]
    await hasher.started.wait()
    hasher.gate.set()
    outcomes = await asyncio.gather(*checks, return_exceptions=True)
    assert all(isinstance(outcome, Unauthenticated) for outcome in outcomes)
    assert hasher.verifies == 1


async def test_cancelling_the_first_check_does_not_fail_the_others_waiting_on_it(
    one: Services, hasher: CountingHasher
) -> None:
    """The first request's client may go away mid-check; the rest still get their answer."""
    project, token = await new_token(one)
    hasher.gate.clear()
    first = asyncio.create_task(one.ingestion.authenticate(token))
    await hasher.started.wait()
    others = [asyncio.create_task(one.ingestion.authenticate(token)) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    hasher.gate.set()
    assert await asyncio.gather(*others) == [project] * 5
    assert first.cancelled()
    assert hasher.verifies == 1


async def test_a_failing_check_reaches_every_waiter_and_is_not_remembered(
    one: Services, hasher: CountingHasher
) -> None:
    project, token = await new_token(one)
    hasher.gate.clear()
    hasher.fail_with = ConnectionError("hasher down")
    checks = [asyncio.create_task(one.ingestion.authenticate(token)) for _ in range(3)]
    await hasher.started.wait()
    hasher.gate.set()
    outcomes = await asyncio.gather(*checks, return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    hasher.fail_with = None
    assert await one.ingestion.authenticate(token) == project
    assert hasher.verifies == 2


async def test_a_lone_failing_check_raises_and_leaves_nothing_behind(
    one: Services, hasher: CountingHasher
) -> None:
    _, token = await new_token(one)
    hasher.fail_with = ConnectionError("hasher down")
    with pytest.raises(ConnectionError):
        await one.ingestion.authenticate(token)
    # Let the check's own task finish its bookkeeping.
    await asyncio.sleep(0)
    hasher.fail_with = None
    await one.ingestion.authenticate(token)


def loop_reports() -> list[dict[str, Any]]:
    """What the running loop is asked to report from now on (a callback that raised, a
    task's error that nobody retrieved), kept here instead of logged."""
    reports: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: reports.append(context))
    return reports


def the_check(*others: asyncio.Task[Any]) -> asyncio.Task[Any]:
    """The one task running a credential check: every task but ``others`` and this one."""
    (check,) = asyncio.all_tasks() - {*others, asyncio.current_task()}
    return check


async def test_a_failing_check_whose_callers_all_went_away_is_not_reported_as_lost(
    one: Services, hasher: CountingHasher
) -> None:
    """Its error reached no one, by design: the loop must not log it as an error lost."""
    reports = loop_reports()
    _, token = await new_token(one)
    hasher.gate.clear()
    hasher.fail_with = ConnectionError("hasher down")
    waiting = asyncio.create_task(one.ingestion.authenticate(token))
    await hasher.started.wait()
    check = the_check(waiting)
    waiting.cancel()
    hasher.gate.set()
    await asyncio.wait({check})
    assert waiting.cancelled()
    assert hasher.verifies == 1
    # A task's lost error is reported when the task is freed (asking for it here would
    # count as retrieving it); the cancelled request's traceback holds the check too.
    del check, waiting
    gc.collect()
    assert reports == []


async def test_a_settled_check_is_not_kept(one: Services, hasher: CountingHasher) -> None:
    """A check is remembered by its credential's id only while it runs: the ids a process
    has seen (any text of the right form has one) cost it no memory afterwards."""
    reports = loop_reports()
    _, token = await new_token(one)
    hasher.gate.clear()
    authenticating = asyncio.create_task(one.ingestion.authenticate(token))
    await hasher.started.wait()
    kept = weakref.ref(the_check(authenticating))
    hasher.gate.set()
    await authenticating
    gc.collect()
    assert kept() is None
    assert reports == []


async def test_a_check_ending_leaves_a_newer_check_of_its_id_in_place(
    one: Services, hasher: CountingHasher
) -> None:
    """A second secret of an id may start its check between the end of the first one's
    check and that check's bookkeeping. The bookkeeping must leave the newer check in
    place: a third request bringing the second secret again waits for it, no new bcrypt."""
    _, token = await new_token(one)
    first, second = forged(token, 1), forged(token, 2)
    hasher.gate.clear()
    requests = [asyncio.create_task(one.ingestion.authenticate(first))]
    await hasher.started.wait()
    queued = asyncio.Event()

    async def second_as_the_first_ends() -> Project:
        queued.set()
        # The gate wakes its waiters in order: the first check, which ends, then this,
        # before the callbacks of the first check's end have run.
        await hasher.gate.wait()
        hasher.gate.clear()
        return await one.ingestion.authenticate(second)

    requests.append(asyncio.create_task(second_as_the_first_ends()))
    await queued.wait()
    hasher.started.clear()
    hasher.gate.set()
    await hasher.started.wait()  # the second secret's check is with the hasher
    requests.append(asyncio.create_task(one.ingestion.authenticate(second)))
    hasher.gate.set()
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    assert all(isinstance(outcome, Unauthenticated) for outcome in outcomes)
    assert hasher.verifies == 2


async def test_a_revoked_token_is_refused_at_once_by_the_process_that_revoked_it(
    one: Services, hasher: CountingHasher
) -> None:
    project, token = await new_token(one)
    await one.ingestion.authenticate(token)
    token_id = token.split("_")[1]
    await one.admin.revoke_token(project.id, token_id)
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(token)
    assert hasher.verifies == 1


async def test_another_process_refuses_a_revoked_token_within_cache_ttl(
    one: Services, shared: Stores, hasher: CountingHasher, clock: ManualClock
) -> None:
    two = process(shared, hasher, clock)
    project, token = await new_token(one)
    assert await two.ingestion.authenticate(token) == project
    await one.admin.revoke_token(project.id, token.split("_")[1])
    # Until its memory expires, the other process may still accept the token ...
    clock.advance(TTL - 1)
    assert await two.ingestion.authenticate(token) == project
    # ... and no later than cache_ttl after its check it refuses it.
    clock.advance(1)
    with pytest.raises(Unauthenticated):
        await two.ingestion.authenticate(token)


async def test_a_revocation_during_a_check_is_not_undone_by_that_check(
    one: Services, hasher: CountingHasher
) -> None:
    """The check loaded the token before the revocation; it must not cache it as good."""
    project, token = await new_token(one)
    hasher.gate.clear()
    check = asyncio.create_task(one.ingestion.authenticate(token))
    await hasher.started.wait()
    await one.admin.revoke_token(project.id, token.split("_")[1])
    hasher.gate.set()
    await check  # begun before the revocation: may pass
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(token)


async def test_a_revocation_during_a_check_counts_after_earlier_revocations_too(
    one: Services, hasher: CountingHasher
) -> None:
    """Every revocation during a check is noticed, not only the process's first."""
    project, first = await new_token(one)
    second = (await one.admin.issue_token(project.id)).token
    await one.admin.revoke_token(project.id, first.split("_")[1])
    hasher.gate.clear()
    check = asyncio.create_task(one.ingestion.authenticate(second))
    await hasher.started.wait()
    await one.admin.revoke_token(project.id, second.split("_")[1])
    hasher.gate.set()
    await check  # begun before the revocation: may pass
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(second)


async def test_a_deleted_projects_token_is_refused_by_another_process_within_ttl(
    one: Services, shared: Stores, hasher: CountingHasher, clock: ManualClock
) -> None:
    two = process(shared, hasher, clock)
    project, token = await new_token(one)
    await two.ingestion.authenticate(token)
    await one.admin.delete_project(project.id)
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(token)
    clock.advance(TTL)
    with pytest.raises(Unauthenticated):
        await two.ingestion.authenticate(token)


async def test_a_token_whose_project_vanished_is_refused(
    one: Services, shared: Stores, clock: ManualClock
) -> None:
    """A token row left behind without its project (a store out of step) opens nothing."""
    project, token = await new_token(one)
    del shared.tokens.projects[project.id]
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(token)


async def test_once_a_token_is_remembered_texts_near_it_are_still_refused(
    one: Services, hasher: CountingHasher
) -> None:
    """A remembered token is recognised by its digest before any parse: nothing that is
    not exactly that text, of that prefix, gets through that way."""
    _, token = await new_token(one)
    await one.ingestion.authenticate(token)
    last = "0" if token[-1] != "0" else "1"
    for near in (
        token + "\n",
        " " + token,
        token[:-1],
        token[:-1] + last,
        token.upper(),
        "pak" + token[3:],
        token.replace("_", "-"),
    ):
        with pytest.raises(Unauthenticated):
            await one.ingestion.authenticate(near)
    assert (await one.ingestion.authenticate(token)).id
    assert hasher.verifies == 1


async def test_a_remembered_token_is_recognised_without_a_parse(
    one: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = await new_token(one)
    await one.ingestion.authenticate(token)
    parses: list[str] = []

    def counted(text: str, prefix: str) -> Credential | None:
        parses.append(text)
        return parse(text, prefix)

    monkeypatch.setattr(verification.tokens, "parse", counted)
    await one.ingestion.authenticate(token)
    assert parses == []
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(token[:-1])
    assert parses == [token[:-1]]


async def test_an_overlong_credential_is_refused_before_its_digest(
    one: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body's token field may be megabytes long: not worth a MAC over it."""
    digests: list[int] = []
    digest = VerificationCache.digest

    def counted(cache: VerificationCache, credential: str) -> bytes:
        digests.append(len(credential))
        return digest(cache, credential)

    monkeypatch.setattr(VerificationCache, "digest", counted)
    _, token = await new_token(one)
    with pytest.raises(Unauthenticated, match="malformed"):
        await one.ingestion.authenticate(token + "0" * 2_000_000)
    longest = token + "0" * (MAX_LENGTH - len(token))
    with pytest.raises(Unauthenticated, match="malformed"):
        await one.ingestion.authenticate(longest + "0")
    assert digests == []
    # MAX_LENGTH is the longest text looked at (as tokens.parse has it): refused by its parse.
    with pytest.raises(Unauthenticated, match="malformed"):
        await one.ingestion.authenticate(longest)
    await one.ingestion.authenticate(token)
    assert digests == [MAX_LENGTH, len(token)]


async def test_admin_keys_are_checked_with_their_own_memory(
    one: Services, hasher: CountingHasher
) -> None:
    key = await one.admin.create_admin_key()
    key_id = key.split("_")[1]
    assert await one.admin.check_admin_key(key) == key_id
    assert await one.admin.check_admin_key(key) == key_id
    assert hasher.verifies == 1
    _, token = await new_token(one)
    with pytest.raises(Unauthenticated):
        await one.admin.check_admin_key(token)
    with pytest.raises(Unauthenticated):
        await one.ingestion.authenticate(key)


# --- the cache itself --------------------------------------------------------------------


def test_digests_are_keyed_per_process_and_do_not_contain_the_credential() -> None:
    one, two = VerificationCache(), VerificationCache()
    text = Credential(prefix=TOKEN_PREFIX, id="1" * 16, secret=b"\x02" * 32).text
    assert one.digest(text) == one.digest(text)
    assert one.digest(text) != two.digest(text)
    assert text.encode() not in one.digest(text)
    assert len(one.digest(text)) == 32


def test_the_cache_answers_owner_false_or_none() -> None:
    cache = VerificationCache(ttl=10)
    good, bad = cache.digest("good"), cache.digest("bad")
    assert cache.lookup("id", good, now=0) is None
    cache.remember_verified("id", good, "project", now=0, hashed=b"h")
    assert cache.lookup("id", good, now=9.9) == "project"
    assert cache.lookup("id", bad, now=9.9) is False
    assert cache.lookup("id", good, now=10) is None
    cache.remember_refused(bad, now=0)
    assert cache.lookup("other", bad, now=5) is False
    assert cache.lookup("other", bad, now=10) is None
    assert cache.lookup("other", bad, now=5) is None


def test_forget_drops_what_was_known_of_an_id() -> None:
    cache = VerificationCache(ttl=10)
    digest = cache.digest("x")
    cache.remember_verified("id", digest, "p", now=0, hashed=b"h")
    cache.forget("id")
    cache.forget("never-seen")
    assert cache.lookup("id", digest, now=1) is None


def test_the_cache_keeps_at_most_size_entries_dropping_the_oldest() -> None:
    cache = VerificationCache(ttl=100, size=3)
    digests = [cache.digest(str(n)) for n in range(5)]
    for n, digest in enumerate(digests):
        cache.remember_verified(f"id{n}", digest, "p", now=0, hashed=b"h")
        cache.remember_refused(digest + b"!", now=0)
    assert [cache.lookup(f"id{n}", d, now=1) for n, d in enumerate(digests)] == [
        None,
        None,
        "p",
        "p",
        "p",
    ]
    assert [cache.lookup("x", d + b"!", now=1) for d in digests] == [
        None,
        None,
        False,
        False,
        False,
    ]


def test_a_check_cancelled_with_its_loop_leaves_nothing_to_report(
    shared: Stores, clock: ManualClock
) -> None:
    """At shutdown the loop cancels the check's own task; that is not a lost failure."""
    hasher_box: list[CountingHasher] = []
    reports: list[list[dict[str, Any]]] = []

    async def scenario() -> None:
        reports.append(loop_reports())
        hasher = CountingHasher()
        hasher_box.append(hasher)
        services = process(shared, hasher, clock)
        _, token = await new_token(services)
        hasher.gate.clear()
        waiting = asyncio.create_task(services.ingestion.authenticate(token))
        await hasher.started.wait()
        waiting.cancel()
        # Return with the check still running: asyncio.run cancels it.

    asyncio.run(scenario())
    assert hasher_box[0].verifies == 1
    assert reports == [[]]
