"""Dashboard users: create them, check their passwords, throttle guessing.

Passwords are hashed with the SecretHasher port (bcrypt in production). Sign-in attempts
are limited twice, by username and by client, with the RateLimiter port: a guesser is
slowed down whether it tries many passwords for one user or one password for many users.
The client key is hashed before it reaches the limiter, so no address is kept in Redis.
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


PER_USER = Policy(limit=10, period=600.0, burst=10)
PER_CLIENT = Policy(limit=30, period=600.0, burst=30)


@dataclass(frozen=True, kw_only=True)
class LoginThrottle:
    """How many sign-in attempts pass, per username and per client (10 and 30 in ten
    minutes, then one a minute and one per 20 s)."""

    per_user: Policy = PER_USER
    per_client: Policy = PER_CLIENT


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

        ``client`` names the requester (an address); it is hashed before use.
        """
        client_key = hashlib.sha256(client.encode()).hexdigest()[:32]
        for key, policy in (
            (f"login:user:{username.lower()[:64]}", self._throttle.per_user),
            (f"login:client:{client_key}", self._throttle.per_client),
        ):
            decision = await self._limiter.acquire(key, policy)
            if not decision.allowed:
                raise RateLimited(
                    "too many sign-in attempts; wait and try again",
                    limit=decision.limit,
                    remaining=decision.remaining,
                    retry_after=decision.retry_after,
                    reset_after=decision.reset_after,
                )
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
