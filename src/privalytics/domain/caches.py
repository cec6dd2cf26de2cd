"""What one process remembers: the current salt, credential checks, project settings.

Each cache is bounded in size and in time (``ttl``), so that a change made by another
process (a revoked token, a new rate limit) is seen within ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from privalytics.domain import tokens as credentials
from privalytics.domain.errors import Unauthenticated
from privalytics.domain.hashing import SALT_BYTES, rotation_seconds, salt_key
from privalytics.domain.models import Project
from privalytics.domain.ports import Clock, SaltStore, SecretHasher, TokenStore
from privalytics.domain.verification import (
    MAX_CONCURRENT_CHECKS,
    FailureBudget,
    VerificationCache,
)


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


class Salts:
    """The salt of the current window, created once across processes; the salts of
    windows that are over are deleted when a window is first used and by :meth:`purge`."""

    def __init__(self, store: SaltStore, rotation: timedelta) -> None:
        self._store = store
        self._rotation = rotation
        self._seconds = rotation_seconds(rotation)
        self._current: tuple[int, bytes] | None = None
        self._lock = asyncio.Lock()

    async def current(self, now: datetime) -> bytes:
        start = salt_key(now, self._rotation)
        cached = self._current
        if cached is not None and cached[0] == start:
            return cached[1]
        async with self._lock:
            cached = self._current
            if cached is not None and cached[0] == start:
                return cached[1]
            salt = await self._store.get_or_create(start, secrets.token_bytes(SALT_BYTES))
            await self._store.delete_expired(start, self._seconds)
            self._current = (start, salt)
            return salt

    async def purge(self, now: datetime) -> int:
        """Delete the stored salts of windows that are over, and forget this process's
        copy when its window is over too; returns how many were deleted from the store.

        Needs no event: a quiet site or a server stopped over midnight keeps no old salt."""
        start = salt_key(now, self._rotation)
        async with self._lock:
            if self._current is not None and self._current[0] != start:
                self._current = None
            return await self._store.delete_expired(start, self._seconds)


class Credentials:
    """Checks credentials against their bcrypt hashes, remembering outcomes (see
    :mod:`privalytics.domain.verification`).

    One check per credential id at a time: a request for an id under check waits for it,
    then looks again, so that many requests bringing the same new credential cost one
    bcrypt, and a wrong secret arriving beside the right one is settled by the digest the
    right one left. Failed checks per id are bounded (:class:`FailureBudget`), and so is the
    number of bcrypt checks running at once (``checks``, shared by the caller)."""

    def __init__(
        self,
        hasher: SecretHasher,
        clock: Clock,
        ttl: float,
        *,
        checks: asyncio.Semaphore | None = None,
        failures: FailureBudget | None = None,
    ) -> None:
        self._hasher = hasher
        self._clock = clock
        self._cache = VerificationCache(ttl=ttl)
        self._failures = failures or FailureBudget()
        self._checks = checks or asyncio.Semaphore(MAX_CONCURRENT_CHECKS)
        # Credential id -> (digest under check, its check).
        self._inflight: dict[str, tuple[bytes, asyncio.Future[str | None]]] = {}
        # Bumped by every forget(): a check that was under way when a credential was revoked
        # must not put it back into the cache.
        self._epoch = 0

    def _now(self) -> float:
        return _seconds(self._clock.now())

    async def check(
        self, text: str, prefix: str, load: Callable[[str], Awaitable[tuple[str, bytes] | None]]
    ) -> str:
        """The owner of the credential ``text``; ``load(id)`` gives (owner, hash) of a live one."""
        if len(text) > credentials.MAX_LENGTH:
            raise Unauthenticated("the credential is malformed")  # not worth a digest
        digest = self._cache.digest(text)
        if text.startswith(prefix) and text[len(prefix) : len(prefix) + 1] == "_":
            # A text whose digest is a verified one's is that credential: well formed and
            # of this prefix (checked above), so a remembered one needs no parse.
            known = self._cache.lookup(credentials.id_of(text), digest, self._now())
            if isinstance(known, str):
                return known
        credential = credentials.parse(text, prefix)
        if credential is None:
            raise Unauthenticated("the credential is malformed")
        while True:
            known = self._cache.lookup(credential.id, digest, self._now())
            if known is False:
                raise Unauthenticated("the credential is unknown or revoked")
            if isinstance(known, str):
                return known
            pending = self._inflight.get(credential.id)
            if pending is None or pending[1].done():
                break
            if pending[0] == digest:
                return _owner(await asyncio.shield(pending[1]))
            # Another secret of this id is under check: once it is settled, the digest it
            # may have left as good settles this one without bcrypt. Waiting never cancels it.
            await asyncio.wait({pending[1]})
        # The check runs in a task of its own: when the request that started it is
        # cancelled (its client went away), the others waiting on it still get the answer.
        check = asyncio.ensure_future(self._verify_and_remember(credential, digest, load))
        self._inflight[credential.id] = (digest, check)
        check.add_done_callback(lambda done: self._settle(credential.id, done))
        return _owner(await asyncio.shield(check))

    def _settle(self, cred_id: str, done: asyncio.Future[str | None]) -> None:
        pending = self._inflight.get(cred_id)
        if pending is not None and pending[1] is done:
            del self._inflight[cred_id]
        if not done.cancelled():
            # Retrieved here so that a failure nobody awaited any more is not reported as lost;
            # every caller still awaiting gets it raised.
            done.exception()

    async def _verify_and_remember(
        self,
        credential: credentials.Credential,
        digest: bytes,
        load: Callable[[str], Awaitable[tuple[str, bytes] | None]],
    ) -> str | None:
        epoch = self._epoch
        found = await load(credential.id)
        if found is None:
            self._cache.remember_refused(digest, _seconds(self._clock.now()))
            return None
        owner, hashed = found
        good = self._cache.known_good(credential.id)
        if good is not None and good.hashed == hashed:
            # The stored hash is the one a secret was verified against: the same digest is
            # that secret, any other is not. No bcrypt needed either way.
            verified = hmac.compare_digest(good.digest, digest)
        elif self._failures.exhausted(credential.id, _seconds(self._clock.now())):
            # Refused unchecked, and not remembered as refused: the right secret must get
            # through once the id's failures have aged out.
            return None
        else:
            async with self._checks:
                verified = await self._hasher.verify(credential.secret, hashed)
            if not verified:
                self._failures.add(credential.id, _seconds(self._clock.now()))
        now = _seconds(self._clock.now())
        if not verified:
            self._cache.remember_refused(digest, now)
            return None
        if epoch == self._epoch:
            self._cache.remember_verified(credential.id, digest, owner, now, hashed=hashed)
        return owner

    def forget(self, cred_id: str) -> None:
        self._epoch += 1
        self._cache.forget(cred_id)


def _owner(owner: str | None) -> str:
    if owner is None:
        raise Unauthenticated("the credential is unknown or revoked")
    return owner


class ProjectCache:
    """Projects by id, as the ingestion path needs them on every request.

    At most ``max_entries``; past that the least recently used is dropped, not everything
    (emptying it would send every busy project to the store at once). A read that was
    under way when the project was forgotten (changed or deleted) is answered but not kept:
    it may hold the project as it was before the change."""

    def __init__(
        self, store: TokenStore, clock: Clock, ttl: float, *, max_entries: int = 10_000
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Project, float]] = OrderedDict()
        # Bumped by every forget(), as in Credentials: a read under way then must not put
        # the old project back for the TTL.
        self._epoch = 0

    async def get(self, project_id: str) -> Project | None:
        now = _seconds(self._clock.now())
        entry = self._entries.get(project_id)
        if entry is not None and entry[1] > now:
            self._entries.move_to_end(project_id)
            return entry[0]
        epoch = self._epoch
        project = await self._store.get_project(project_id)
        if epoch != self._epoch:
            return project
        if project is None:
            self._entries.pop(project_id, None)
        else:
            self._entries[project_id] = (project, now + self._ttl)
            self._entries.move_to_end(project_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return project

    def forget(self, project_id: str) -> None:
        self._epoch += 1
        self._entries.pop(project_id, None)


@dataclass(kw_only=True)
class Privacy:
    """Shared by the use cases of one process: caches that must agree with each other."""

    credentials: Credentials
    admin_keys: Credentials
    projects: ProjectCache
