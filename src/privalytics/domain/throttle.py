"""Throttling failed token checks per client address.

A token's id is public (every page that embeds the tracker shows it) and its checksum is
not a secret either, so anyone can forge well-formed tokens for a real id. Such forgeries
must never refuse the real secret: nothing is ever locked per token id. What they cost is
bounded per *address* instead: each address may fail :data:`FAILED_AUTH` times in a burst,
then one a second; past that, its requests that present a token this process does not know
as good answer 429 before anything is looked up. A token known as good never asks the
limiter, and a success takes nothing, so a real sender behind the same address as a forger
keeps working as long as its token is known (it is after its first success).

The address is only a key of the rate limiter (shared by every process when the limiter
is), hashed before it reaches it, as the sign-in throttle does: never stored or logged.
"""

from __future__ import annotations

import hashlib

from privalytics.domain.errors import RateLimited
from privalytics.domain.ports import RateLimiter
from privalytics.domain.ratelimit import Policy

# 60 failed token checks a minute per client address, in a burst of 60 (then one a
# second). Enough for a site with a stale token behind one NAT to keep being told 401.
FAILED_AUTH = Policy(limit=60, period=60.0, burst=60)


def failure_key(address: str) -> str:
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"auth-failures:{digest}"


class FailureThrottle:
    """Per-address budget of failed credential checks, kept by the RateLimiter port."""

    def __init__(self, limiter: RateLimiter, policy: Policy = FAILED_AUTH) -> None:
        self._limiter = limiter
        self.policy = policy

    async def guard(self, address: str) -> None:
        """Raise RateLimited when ``address`` has no failure left; takes nothing."""
        policy = self.policy
        # cost 0 reads the bucket without taking from it.
        decision = await self._limiter.acquire(failure_key(address), policy, 0)
        if decision.remaining < 1:
            # When the next unit frees, not when the bucket is full again.
            wait = decision.reset_after - (policy.tolerance_us - policy.interval_us) / 1e6
            raise RateLimited(
                "too many requests with unknown or revoked tokens from this address; "
                "wait and try again",
                limit=decision.limit,
                remaining=0,
                retry_after=max(wait, 0.001),
                reset_after=decision.reset_after,
            )

    async def failed(self, address: str) -> None:
        """Count one failed check of ``address``."""
        await self._limiter.acquire(failure_key(address), self.policy)
