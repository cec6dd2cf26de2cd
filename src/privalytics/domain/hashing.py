"""Visitor hashing over rotating salts.

A visitor is ``SHA-256(salt || project id || client IP || user agent)``, each field
length-prefixed so that no two different inputs share an encoding. The salt is 32 random
bytes per window and is deleted once its window is over: without it, nobody (the operator
included) can link a visitor across windows or test guesses of an IP against a stored hash.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from privalytics.domain.errors import InvalidInput

SALT_BYTES = 32
DEFAULT_ROTATION = timedelta(days=1)
MAX_ROTATION = timedelta(days=30)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def visitor_hash(salt: bytes, project_id: str, ip: str, user_agent: str) -> str:
    """The stored visitor id: the first 64 bits of the digest, 16 hex digits (stored as a
    signed 64-bit integer by the SQL stores). Before migration 0006 it was 128 bits; that
    migration keeps their first 64, so a visitor hashed before an upgrade is the same one
    after it."""
    digest = hashlib.sha256(
        _field(salt)
        + _field(project_id.encode())
        + _field(ip.encode())
        + _field(user_agent.encode("utf-8", "surrogatepass"))
    )
    return digest.hexdigest()[:16]


def window_of(moment: datetime, rotation: timedelta) -> int:
    """The number of the salt window holding ``moment``; windows start at UTC midnight."""
    return int((moment - _EPOCH) // rotation)


def salt_key(moment: datetime, rotation: timedelta) -> int:
    """How the salt of the window holding ``moment`` is stored: the window's start in whole
    seconds since the epoch, so that keys compare in time whatever the rotation was when
    each salt was made (a window *number* means a different time under another rotation)."""
    return window_of(moment, rotation) * rotation_seconds(rotation)


def rotation_seconds(rotation: timedelta) -> int:
    return int(rotation.total_seconds())


# ASCII only: otherwise \d takes other scripts' digits and \s any Unicode space.
_DURATION = re.compile(r"\s*(\d{1,4})\s*(d|day|days|h|hour|hours)\s*", re.ASCII)


def parse_rotation(text: str) -> timedelta:
    """Parse a salt rotation such as ``1d``, ``7d`` or ``24h``: whole hours dividing into
    whole days or whole days, between one day and 30 days."""
    match = _DURATION.fullmatch(text.lower())
    if match is None:
        raise InvalidInput(
            f"{text!r} is not a duration; write e.g. 1d, 7d or 48h", field="salt_rotation"
        )
    amount = int(match.group(1))
    rotation = timedelta(days=amount) if match.group(2).startswith("d") else timedelta(hours=amount)
    if rotation < DEFAULT_ROTATION or rotation > MAX_ROTATION or rotation % DEFAULT_ROTATION:
        raise InvalidInput(
            "the salt rotation must be a whole number of days from 1 to 30", field="salt_rotation"
        )
    return rotation
