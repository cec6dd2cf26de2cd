"""Remembering credential checks, so that bcrypt runs rarely.

One bcrypt check costs tens of milliseconds; the ingestion path must cost microseconds.
After a check, the outcome is kept in memory for ``ttl`` seconds, keyed by an HMAC of the
credential under a key that lives only in this process (never the credential itself):
- a verified credential: its digest and the project it belongs to;
- a refused credential: its digest, so repeating it costs no bcrypt;
- once an id's correct secret is known, any other secret for that id is refused at once.
A revocation reaches every process within ``ttl`` seconds (at once in the process that
revoked, which calls :meth:`forget`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict

import msgspec

DEFAULT_TTL = 30.0
DEFAULT_SIZE = 10_000


class _Verified(msgspec.Struct):
    digest: bytes
    owner: str
    expires: float


class VerificationCache:
    def __init__(self, *, ttl: float = DEFAULT_TTL, size: int = DEFAULT_SIZE) -> None:
        self.ttl = ttl
        self._size = size
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._refused: OrderedDict[bytes, float] = OrderedDict()

    def digest(self, credential: str) -> bytes:
        return hmac.new(self._key, credential.encode(), hashlib.sha256).digest()

    def lookup(self, cred_id: str, digest: bytes, now: float) -> str | bool | None:
        """The owner when known good, False when known bad, None when a check is needed."""
        known = self._verified.get(cred_id)
        if known is not None:
            if known.expires > now:
                if hmac.compare_digest(known.digest, digest):
                    return known.owner
                return False
            del self._verified[cred_id]
        refused_until = self._refused.get(digest)
        if refused_until is not None:
            if refused_until > now:
                return False
            del self._refused[digest]
        return None

    def remember_verified(self, cred_id: str, digest: bytes, owner: str, now: float) -> None:
        self._verified[cred_id] = _Verified(digest=digest, owner=owner, expires=now + self.ttl)
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
