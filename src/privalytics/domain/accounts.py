"""Dashboard users: create them, check their passwords, throttle guessing.

Passwords are hashed with the SecretHasher port (bcrypt in production). Failed sign-in
attempts are counted three times with the RateLimiter port: per username *and* client
(the strict limit), per client (one password tried on many users), and per username
alone (a much larger brake against a guesser spread over many addresses). Only failures
count: the password is checked first (when no bucket is already empty), and a success
costs nothing. So a guesser at one address cannot lock the owner out of their own
address. Keys are hashed before they reach the limiter: no address or typed name is
kept in Redis, and usernames are not case-folded (``ALICE`` is not ``alice``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from privalytics.domain.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from privalytics.domain.models import User
from privalytics.domain.ports import Clock, RateLimiter, SecretHasher, UserStore
from privalytics.domain.ratelimit import Policy

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
# bcrypt reads at most 72 bytes; a longer password would be silently cut.
MAX_PASSWORD_BYTES = 72
_WRONG = "wrong username or password"


PER_USER_CLIENT = Policy(limit=10, period=600.0, burst=10)
PER_CLIENT = Policy(limit=30, period=600.0, burst=30)
# Larger than what one client may spend on one user (10, then 60 an hour), so one
# guessing address can never empty it; a guesser needs several to delay the owner.
PER_USER = Policy(limit=100, period=3600.0, burst=100)


@dataclass(frozen=True, kw_only=True)
class LoginThrottle:
    """How many failed sign-ins are allowed: per username and client 10 in ten minutes
    (then one a minute), per client 30 in ten minutes (then one per 20 s), per username
    from anywhere 100 in an hour (then one per 36 s)."""

    per_user_client: Policy = PER_USER_CLIENT
    per_client: Policy = PER_CLIENT
    per_user: Policy = PER_USER


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    return f"login:{kind}:{digest}"


def clean_username(username: str) -> str:
    if not USERNAME.match(username):
        raise InvalidInput(
            "1 to 64 characters: letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            field="username",
        )
    return username


def check_password(password: str) -> bytes:
    encoded = password.encode()
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"must be at least {MIN_PASSWORD} characters", field="password")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise InvalidInput(f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8", field="password")
    return encoded


class Accounts:
    """The use cases of dashboard users."""

    def __init__(
        self,
        *,
        users: UserStore,
        hasher: SecretHasher,
        limiter: RateLimiter,
        clock: Clock,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._limiter = limiter
        self._clock = clock
        self._throttle = throttle or LoginThrottle()
        self._dummy: bytes | None = None

    async def create_user(self, username: str, password: str) -> User:
        user = User(
            username=clean_username(username),
            password_hash=await self._hasher.hash(check_password(password)),
            created_at=self._clock.now(),
        )
        if not await self._users.add_user(user):
            raise InvalidInput(f"a user {username!r} exists already", field="username")
        return user

    async def set_password(self, username: str, password: str) -> None:
        hashed = await self._hasher.hash(check_password(password))
        if not await self._users.set_password(username, hashed):
            raise NotFound(f"no user {username!r}")

    async def list_users(self) -> list[User]:
        return await self._users.list_users()

    async def delete_user(self, username: str) -> None:
        if not await self._users.delete_user(username):
            raise NotFound(f"no user {username!r}")

    async def get_user(self, username: str) -> User | None:
        return await self._users.get_user(username)

    async def authenticate(self, username: str, password: str, *, client: str) -> User:
        """The user whose password this is; raises Unauthenticated or RateLimited.

        ``client`` names the requester (an address); it is hashed before use. Buckets are
        only looked at before the password is checked; a failure then takes one unit from
        each, a success none.
        """
        buckets = (
            (_key("user-client", username, client), self._throttle.per_user_client),
            (_key("client", client), self._throttle.per_client),
            (_key("user", username), self._throttle.per_user),
        )
        for key, policy in buckets:
            # cost 0 reads the bucket without taking from it.
            decision = await self._limiter.acquire(key, policy, 0)
            if decision.remaining < 1:
                wait = decision.reset_after - (policy.tolerance_us - policy.interval_us) / 1e6
                raise RateLimited(
                    "too many sign-in attempts; wait and try again",
                    limit=decision.limit,
                    remaining=0,
                    retry_after=max(wait, 0.001),
                    reset_after=decision.reset_after,
                )
        try:
            return await self._verify(username, password)
        except Unauthenticated:
            for key, policy in buckets:
                await self._limiter.acquire(key, policy)
            raise

    async def _verify(self, username: str, password: str) -> User:
        user = await self._users.get_user(username) if USERNAME.match(username) else None
        secret = password.encode()
        if user is None:
            # The same bcrypt work as for a known user: timing does not tell names apart.
            await self._hasher.verify(secret, await self._dummy_hash())
            raise Unauthenticated(_WRONG)
        if len(secret) > MAX_PASSWORD_BYTES or not await self._hasher.verify(
            secret, user.password_hash
        ):
            raise Unauthenticated(_WRONG)
        return user

    async def _dummy_hash(self) -> bytes:
        if self._dummy is None:
            self._dummy = await self._hasher.hash(b"no such user, no such password")
        return self._dummy
