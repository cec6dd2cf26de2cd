"""Credential format: generate, parse, checksum. Never the storage of it.

A credential reads ``<prefix>_<id>_<secret><check>``:
- prefix: ``pvt`` for a project token, ``pak`` for an admin key;
- id: 16 hex digits, public, how the store finds the one row to check;
- secret: 64 hex digits, 32 bytes from the operating system's CSPRNG;
- check: 8 hex digits, CRC-32 of everything before it, so that a mistyped or made-up
  credential is refused without a store look-up or a bcrypt check.
"""

from __future__ import annotations

import re
import secrets
import zlib

import msgspec

TOKEN_PREFIX = "pvt"  # noqa: S105 (a public prefix, not a secret)
ADMIN_KEY_PREFIX = "pak"
SECRET_BYTES = 32
# Longer than any credential (92 characters): refused before any other work.
MAX_LENGTH = 128
# fullmatch, not match with "$": "$" also matches before a trailing newline.
_PATTERN = re.compile(r"(pvt|pak)_([0-9a-f]{16})_([0-9a-f]{64})([0-9a-f]{8})")


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    prefix: str
    id: str
    secret: bytes

    @property
    def text(self) -> str:
        body = f"{self.prefix}_{self.id}_{self.secret.hex()}"
        return body + _check(body)


def _check(body: str) -> str:
    return format(zlib.crc32(body.encode()), "08x")


def generate(prefix: str) -> Credential:
    secret = secrets.token_bytes(SECRET_BYTES)
    return Credential(prefix=prefix, id=secrets.token_hex(8), secret=secret)


def id_of(text: str) -> str:
    """The id of ``text``, a credential that :func:`parse` accepted (it is not checked
    again): the 16 hex digits after the three-letter prefix and its underscore."""
    return text[4:20]


def parse(text: str, prefix: str) -> Credential | None:
    """The credential in ``text``, or None when it is not a well-formed one of ``prefix``."""
    if len(text) > MAX_LENGTH:
        return None
    match = _PATTERN.fullmatch(text)
    if match is None or match.group(1) != prefix:
        return None
    body = text[: match.start(4)]
    if not secrets.compare_digest(_check(body), match.group(4)):
        return None
    return Credential(prefix=prefix, id=match.group(2), secret=bytes.fromhex(match.group(3)))
