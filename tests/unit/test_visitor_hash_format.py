"""The visitor hash's format is a stored format: a visitor hashed before an upgrade must hash
the same after it within the window, or every visitor of that day counts twice. So it is
checked against the documented encoding, computed here independently of the code."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privalytics.domain.errors import InvalidInput
from privalytics.domain.hashing import parse_rotation, visitor_hash, window_of


def documented_hash(salt: bytes, project: str, ip: str, user_agent: str) -> str:
    """SHA-256 over the fields, each prefixed with its length as 4 bytes big-endian; the
    user agent in UTF-8 keeping lone surrogates; the first 64 bits, hex."""
    fields = [salt, project.encode(), ip.encode(), user_agent.encode("utf-8", "surrogatepass")]
    data = b"".join(struct.pack(">I", len(field)) + field for field in fields)
    return hashlib.sha256(data).hexdigest()[:16]


@given(
    salt=st.binary(min_size=32, max_size=32),
    project=st.text(alphabet="abcdef0123456789-", max_size=36),
    ip=st.ip_addresses().map(str),
    user_agent=st.text(max_size=300),
)
def test_the_visitor_hash_is_the_documented_encoding(
    salt: bytes, project: str, ip: str, user_agent: str
) -> None:
    assert visitor_hash(salt, project, ip, user_agent) == documented_hash(
        salt, project, ip, user_agent
    )


@pytest.mark.parametrize("user_agent", ["\ud800", "Mozilla \udfff/5.0", "\udbff\udc00"])
def test_a_user_agent_holding_lone_surrogates_is_hashed_not_refused(user_agent: str) -> None:
    """Python text may hold lone surrogates (e.g. from an embedding caller); they are hashed
    as their code points, never an encoding error."""
    salt = bytes(32)
    assert visitor_hash(salt, "p", "127.0.0.1", user_agent) == documented_hash(
        salt, "p", "127.0.0.1", user_agent
    )


@pytest.mark.parametrize("days", [1, 7, 30])
def test_windows_before_the_epoch_are_counted_down_from_it(days: int) -> None:
    """Window numbers are floors: the instant before the epoch is in window -1, not 0."""
    rotation = timedelta(days=days)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert window_of(epoch - timedelta(microseconds=1), rotation) == -1
    assert window_of(epoch - rotation, rotation) == -1
    assert window_of(epoch - rotation - timedelta(microseconds=1), rotation) == -2


def test_a_rotation_refusal_says_what_can_be_written() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rotation("a week")
    assert caught.value.field == "salt_rotation"
    assert "'a week' is not a duration" in caught.value.message
    assert "1d, 7d or 48h" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        parse_rotation("31d")
    assert caught.value.field == "salt_rotation"
    assert "whole number of days from 1 to 30" in caught.value.message
