"""Recognising a credential (a project token or an admin key) fast and safely, and the
project a token writes to: what one process remembers so that bcrypt and the store are
rarely asked.

One bcrypt check costs tens of milliseconds; the ingestion path must cost microseconds.
:class:`CredentialVerifier` checks a credential's secret against its stored bcrypt hash and
keeps the outcome in memory for ``ttl`` seconds (:class:`VerificationCache`), keyed by a
keyed BLAKE2b digest of the credential under a key that lives only in this process (never
the credential itself):
- a verified credential: its digest and its owner (the project, or the admin key's id);
- a refused credential: its digest, so repeating it costs no bcrypt;
- once an id's correct secret is known, any other secret for that id is refused at once.
A revocation reaches every process within ``ttl`` seconds (at once in the process that
revoked, which calls :meth:`CredentialVerifier.forget`).

After ``ttl`` the stored record is read again (that is how a revocation is seen), but a
verified digest is kept, with the hash it was verified against, for as long as the cache
has room: when the stored hash is still that one, the digest alone settles the check, so a
legitimate credential costs bcrypt once per process, not once per ``ttl``.

bcrypt only runs for an id the store knows. Nothing is ever refused for its id alone: a
token's id is public, so a lockout per id after failures would let anyone who forges
secrets for it refuse the real one too. Forgeries are made cheap instead: a refused digest
is remembered (a repeat costs no store read and no bcrypt), and an id's stored record is
kept for ``ttl`` seconds (other forged secrets for it cost no store read either). What
bounds the bcrypt checks they can cause is the per-address throttle of the callers
(:mod:`privalytics.domain.throttle`) and the bound on checks running at once.

:class:`ProjectCache` keeps projects by id for ``ttl`` seconds, as ingestion needs them on
every request. It and the verifier share one rule against a lost ``forget()``: each counts
its ``forget()`` calls (an epoch), and a look-up that began before one answers its caller
but does not remember what it read, which may be the record as it was before the change.

Every memory here is bounded: at most ``size`` entries, the least recently used dropped
first (emptying it all would send every busy credential or project to the store at once).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from privalytics.domain import tokens
from privalytics.domain.errors import Unauthenticated
from privalytics.domain.models import Project
from privalytics.domain.ports import Clock, SecretHasher, TokenStore

# Seconds a credential check and a project's settings are remembered: the one default of
# IngestSettings.cache_ttl and PRIVALYTICS_CACHE_TTL.
DEFAULT_TTL = 30.0
# Entries each memory keeps at most.
DEFAULT_SIZE = 10_000
# bcrypt checks running at once in one process, whatever the credentials.
MAX_CONCURRENT_CHECKS = 4

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

# Given a credential's id: its owner and stored hash when it is live, else None.
Load = Callable[[str], Awaitable[tuple[str, bytes] | None]]


def _keep(entries: OrderedDict[_K, _V], key: _K, value: _V, size: int) -> None:
    """Store ``value`` as the most recently used entry, dropping the least recently used
    ones past ``size``."""
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > size:
        entries.popitem(last=False)


class Verified(msgspec.Struct):
    digest: bytes
    owner: str
    expires: float
    # The stored hash the digest's secret was verified against.
    hashed: bytes


class VerificationCache:
    """The outcomes of credential checks, by digest (see the module's doc)."""

    def __init__(self, *, ttl: float = DEFAULT_TTL, size: int = DEFAULT_SIZE) -> None:
        self.ttl = ttl
        self._size = size
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[str, Verified] = OrderedDict()
        self._refused: OrderedDict[bytes, float] = OrderedDict()

    def digest(self, credential: str) -> bytes:
        # Keyed BLAKE2b is a MAC by design; here ~1 µs against HMAC-SHA256's ~2.7 µs.
        return hashlib.blake2b(credential.encode(), key=self._key, digest_size=32).digest()

    def lookup(self, cred_id: str, digest: bytes, now: float) -> str | bool | None:
        """The owner when known good, False when known bad, None when a check is needed."""
        known = self._verified.get(cred_id)
        if known is not None and known.expires > now:
            if hmac.compare_digest(known.digest, digest):
                return known.owner
            return False
        refused_until = self._refused.get(digest)
        if refused_until is not None:
            if refused_until > now:
                return False
            del self._refused[digest]
        return None

    def known_good(self, cred_id: str) -> Verified | None:
        """The last verified digest of ``cred_id``, expired or not (see the module's doc)."""
        return self._verified.get(cred_id)

    def remember_verified(
        self,
        cred_id: str,
        digest: bytes,
        owner: str,
        now: float,
        *,
        hashed: bytes,
        until: float | None = None,
    ) -> None:
        """``until``: trusted no longer than this (the record checked against was read
        then, less than ttl ago), so a revocation is still felt within ttl of it."""
        expires = now + self.ttl if until is None else min(now + self.ttl, until)
        verified = Verified(digest=digest, owner=owner, expires=expires, hashed=hashed)
        _keep(self._verified, cred_id, verified, self._size)

    def remember_refused(self, digest: bytes, now: float) -> None:
        _keep(self._refused, digest, now + self.ttl, self._size)

    def forget(self, cred_id: str) -> None:
        self._verified.pop(cred_id, None)


class CredentialVerifier:
    """Verifies credentials of one kind (project tokens, or admin keys) against their
    bcrypt hashes, remembering outcomes (see the module's doc).

    One check per credential id at a time: a request for an id under check waits for it,
    then looks again, so that many requests bringing the same new credential cost one
    bcrypt, and a wrong secret arriving beside the right one is settled by the digest the
    right one left. The number of bcrypt checks running at once is bounded (``checks``,
    shared by the caller)."""

    def __init__(
        self,
        hasher: SecretHasher,
        clock: Clock,
        ttl: float,
        *,
        checks: asyncio.Semaphore,
        size: int = DEFAULT_SIZE,
    ) -> None:
        self._hasher = hasher
        self._clock = clock
        self._cache = VerificationCache(ttl=ttl, size=size)
        self._checks = checks
        self._size = size
        # Credential id -> (owner, stored hash, until when): what ``load`` gave, for ttl.
        self._records: OrderedDict[str, tuple[str, bytes, float]] = OrderedDict()
        # Credential id -> (digest under check, its check).
        self._inflight: dict[str, tuple[bytes, asyncio.Future[str | None]]] = {}
        # Bumped by every forget() (see the module's doc): a check under way when its
        # credential was revoked must not put it back into the cache.
        self._epoch = 0

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def known(self, text: str, prefix: str) -> str | None:
        """The owner of ``text`` when this process knows it as good right now (no I/O, no
        bcrypt); None when a check would be needed, or would refuse it."""
        if len(text) > tokens.MAX_LENGTH or not (
            text.startswith(prefix) and text[len(prefix) : len(prefix) + 1] == "_"
        ):
            return None
        known = self._cache.lookup(tokens.id_of(text), self._cache.digest(text), self._now())
        return known if isinstance(known, str) else None

    async def _record(self, cred_id: str, load: Load) -> tuple[str, bytes, float] | None:
        """``load(cred_id)``, remembered for ttl when found (see the module's doc), with
        the moment it is read again: what it says is trusted no longer than that."""
        now = self._now()
        kept = self._records.get(cred_id)
        if kept is not None and 0 < kept[2] - now <= self._cache.ttl:
            return kept
        epoch = self._epoch
        found = await load(cred_id)
        if found is None:
            self._records.pop(cred_id, None)
            return None
        record = (*found, now + self._cache.ttl)
        if epoch == self._epoch:
            _keep(self._records, cred_id, record, self._size)
        return record

    async def check(self, text: str, prefix: str, load: Load) -> str:
        """The owner of the credential ``text``; ``load(id)`` gives (owner, hash) of a live one."""
        if len(text) > tokens.MAX_LENGTH:
            raise Unauthenticated("the credential is malformed")  # not worth a digest
        digest = self._cache.digest(text)
        if text.startswith(prefix) and text[len(prefix) : len(prefix) + 1] == "_":
            # A text whose digest is a verified one's is that credential: well formed and
            # of this prefix (checked above), so a remembered one needs no parse.
            known = self._cache.lookup(tokens.id_of(text), digest, self._now())
            if isinstance(known, str):
                return known
        credential = tokens.parse(text, prefix)
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
        self, credential: tokens.Credential, digest: bytes, load: Load
    ) -> str | None:
        epoch = self._epoch
        found = await self._record(credential.id, load)
        if found is None:
            self._cache.remember_refused(digest, self._now())
            return None
        owner, hashed, until = found
        good = self._cache.known_good(credential.id)
        if good is not None and good.hashed == hashed:
            # The stored hash is the one a secret was verified against: the same digest is
            # that secret, any other is not. No bcrypt needed either way.
            verified = hmac.compare_digest(good.digest, digest)
        else:
            async with self._checks:
                verified = await self._hasher.verify(credential.secret, hashed)
        now = self._now()
        if not verified:
            self._cache.remember_refused(digest, now)
            return None
        if epoch == self._epoch:
            self._cache.remember_verified(
                credential.id, digest, owner, now, hashed=hashed, until=until
            )
        return owner

    def forget(self, cred_id: str) -> None:
        self._epoch += 1
        self._cache.forget(cred_id)
        self._records.pop(cred_id, None)


def _owner(owner: str | None) -> str:
    if owner is None:
        raise Unauthenticated("the credential is unknown or revoked")
    return owner


class ProjectCache:
    """Projects by id, as the ingestion path needs them on every request, for ``ttl``
    seconds; at most ``max_entries`` (see the module's doc for both bounds and for a read
    under way when the project is forgotten, changed or deleted)."""

    def __init__(
        self, store: TokenStore, clock: Clock, ttl: float, *, max_entries: int = DEFAULT_SIZE
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Project, float]] = OrderedDict()
        # Bumped by every forget(), as in CredentialVerifier: a read under way then must not
        # put the old project back for the TTL.
        self._epoch = 0

    async def get(self, project_id: str) -> Project | None:
        now = self._clock.now().timestamp()
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
            _keep(self._entries, project_id, (project, now + self._ttl), self._max_entries)
        return project

    def forget(self, project_id: str) -> None:
        self._epoch += 1
        self._entries.pop(project_id, None)


@dataclass(kw_only=True)
class Privacy:
    """What one process remembers of credentials and projects, shared by the use cases that
    read it (ingestion, the admin-key check) and those that change what it holds
    (administration forgets what it revokes, changes or deletes)."""

    tokens: CredentialVerifier
    admin_keys: CredentialVerifier
    projects: ProjectCache
