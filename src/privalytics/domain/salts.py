"""The salt of the current window, as one process keeps it (the window's arithmetic is in
:mod:`privalytics.domain.hashing`)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta

from privalytics.domain.hashing import SALT_BYTES, rotation_seconds, salt_key
from privalytics.domain.ports import SaltStore


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

        Needs no event: a quiet site or a server stopped over midnight keeps no old salt.
        The current salt, when this process has one, is stored again if the store lost
        it."""
        start = salt_key(now, self._rotation)
        async with self._lock:
            cached = self._current
            if cached is not None and cached[0] != start:
                self._current = cached = None
            deleted = await self._store.delete_expired(start, self._seconds)
            if cached is not None:
                # A store may lose the current salt (PostgreSQL empties the unlogged salts
                # table when it recovers from a crash): give it ours back, or take the one
                # another process stored first, so that the processes, new ones included,
                # hash with one salt again.
                self._current = (start, await self._store.get_or_create(start, cached[1]))
            return deleted
