"""bcrypt for credential secrets, run off the event loop."""

from __future__ import annotations

import asyncio

import bcrypt

DEFAULT_ROUNDS = 10


class BcryptSecretHasher:
    def __init__(self, rounds: int = DEFAULT_ROUNDS) -> None:
        self.rounds = rounds

    async def hash(self, secret: bytes) -> bytes:
        salt = bcrypt.gensalt(rounds=self.rounds)
        return await asyncio.to_thread(bcrypt.hashpw, secret, salt)

    async def verify(self, secret: bytes, hashed: bytes) -> bool:
        try:
            return await asyncio.to_thread(bcrypt.checkpw, secret, hashed)
        except ValueError:
            # A stored value that is not a bcrypt hash matches nothing.
            return False
