"""Remembering credential checks, so that bcrypt runs rarely.

One bcrypt check costs tens of milliseconds; the ingestion path must cost microseconds.
After a check, the outcome is kept in memory for ``ttl`` seconds, keyed by an HMAC of the
credential under a key that lives only in this process (never the credential itself):
- a verified credential: its digest and the project it belongs to;
- a refused credential: its digest, so repeating it costs no bcrypt;
- once an id's correct secret is known, any other secret for that id is refused at once.
A revocation reaches every process within ``ttl`` seconds (at once in the process that
revoked, which calls :meth:`forget`).

After ``ttl`` the stored record is read again (that is how a revocation is seen), but a
verified digest is kept, with the hash it was verified against, for as long as the cache
has room: when the stored hash is still that one, the digest alone settles the check, so a
legitimate credential costs bcrypt once per process, not once per ``ttl``.

bcrypt only runs for an id the store knows, and :class:`FailureBudget` bounds how often it
may fail for one id: an attacker who knows a public id and forges secrets with a valid
checksum costs at most ``limit`` bcrypt checks per id per ``window`` seconds per process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict, deque

import msgspec

# Seconds a credential check and a project's settings are remembered: the one default of
# IngestSettings.cache_ttl and PRIVALYTICS_CACHE_TTL.
DEFAULT_TTL = 30.0
DEFAULT_SIZE = 10_000
# Failed bcrypt checks allowed per credential id within FAILURE_WINDOW seconds.
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0
# bcrypt checks running at once in one process, whatever the credentials.
MAX_CONCURRENT_CHECKS = 4


class Verified(msgspec.Struct):
    digest: bytes
    owner: str
    expires: float
    # The stored hash the digest's secret was verified against.
    hashed: bytes


class VerificationCache:
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
        self, cred_id: str, digest: bytes, owner: str, now: float, *, hashed: bytes
    ) -> None:
        self._verified[cred_id] = Verified(
            digest=digest, owner=owner, expires=now + self.ttl, hashed=hashed
        )
        self._verified.move_to_end(cred_id)
        while len(self._verified) > self._size:
            self._verified.popitem(last=False)

    def remember_refused(self, digest: bytes, now: float) -> None:
        self._refused[digest] = now + self.ttl
        self._refused.move_to_end(digest)
        while len(self._refused) > self._size:
            self._refused.popitem(last=False)

    def forget(self, cred_id: str) -> None:
        self._verified.pop(cred_id, None)


class FailureBudget:
    """At most ``limit`` failed checks per credential id in any ``window`` seconds.

    Kept in the process, on the clock: no I/O on the failure path, nothing to fail when a
    shared backend is down, and bcrypt's CPU is spent per process, which is what it bounds.
    """

    def __init__(
        self,
        *,
        limit: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        size: int = DEFAULT_SIZE,
    ) -> None:
        self.limit = limit
        self.window = window
        self._size = size
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def exhausted(self, cred_id: str, now: float) -> bool:
        """Whether ``cred_id`` has used up its failures for now."""
        times = self._failures.get(cred_id)
        if times is None:
            return False
        if times[-1] > now:
            # The clock went back: start afresh rather than lock the id out for that long.
            times.clear()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[cred_id]
            return False
        return len(times) >= self.limit

    def add(self, cred_id: str, now: float) -> None:
        times = self._failures.setdefault(cred_id, deque(maxlen=self.limit))
        times.append(now)
        self._failures.move_to_end(cred_id)
        while len(self._failures) > self._size:
            self._failures.popitem(last=False)
