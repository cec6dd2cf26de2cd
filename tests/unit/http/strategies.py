"""Hypothesis strategies for the HTTP tests: arbitrary JSON, and events that almost fit."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

# Finite floats only: JSON has no NaN or Infinity (they are tested as raw bytes).
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

_actions = st.sampled_from(["visit", "click", "scroll", "download", "share"])
_texts = st.text(max_size=60) | st.sampled_from(["/", "/a?b#c", "https://x.example/p", ""])
_times = st.sampled_from(
    [
        "2026-01-01T11:59:00Z",
        "2026-01-01T12:05:00+00:00",
        "2025-12-01T00:00:00Z",
        "2026-01-01T12:00:00",
        "not a time",
    ]
)
_ips = st.sampled_from(["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "999.0.0.1", ""])


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The field's plausible values, or anything at all."""
    return strategy | json_values


events: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {"action": _maybe(_actions), "path": _maybe(_texts)},
    optional={
        "referrer": _maybe(_texts),
        "target": _maybe(_texts),
        "value": _maybe(st.floats(min_value=-10, max_value=200) | st.integers()),
        "timestamp": _maybe(_times),
        "props": _maybe(st.dictionaries(st.text(max_size=70), st.text(max_size=300), max_size=25)),
        "visitor_ip": _maybe(_ips),
        "user_agent": _maybe(st.text(max_size=30)),
    },
)


# ---- hostile JSON: raw bytes no decoder should turn into a 500 ---------------------------

# Inside a JSON string: invalid UTF-8 (a lone continuation byte, a truncated sequence, an
# encoded surrogate, past U+10FFFF, an overlong form) and unpaired surrogate escapes.
_undecodable = st.sampled_from(
    [
        b"\xff",
        b"\x80",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xc0\xaf",
        b"\\ud800",
        b"\\udfff",
        b"\\ud800\\u0041",
        b"\\ud83d\\ude00\\udc00",
        b"\\ud800\\ud800",
        b"\\\\ud800",
        b"\\u0000",
    ]
)
_hostile_strings = st.tuples(
    st.text(max_size=8).map(lambda t: msgspec.json.encode(t)[1:-1]),
    _undecodable,
    st.text(max_size=8).map(lambda t: msgspec.json.encode(t)[1:-1]),
).map(lambda parts: b'"' + b"".join(parts) + b'"')
_depths = st.sampled_from([1, 100, 999, 1001, 3000, 20_000]) | st.integers(1, 25_000)
_deep = _depths.flatmap(
    lambda n: st.sampled_from(
        [b"[" * n + b"]" * n, b'{"a":' * min(n, 6000) + b"1" + b"}" * min(n, 6000), b"[" * n]
    )
)
_huge_numbers = st.sampled_from(
    [
        b"1e999999",
        b"-1e400",
        b"1e-400",
        b"1.7976931348623157e309",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"0.0000000000000000000000000000000000001e-330",
    ]
) | st.integers(1, 5000).map(lambda n: b"9" * n)
hostile_values: st.SearchStrategy[bytes] = st.one_of(
    _hostile_strings, _deep, _huge_numbers, json_values.map(msgspec.json.encode)
)
_keys = st.sampled_from([b'"a"', b'"\\ud800"', b'"\xff"']) | st.text(max_size=6).map(
    msgspec.json.encode
)


def hostile_objects(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """A JSON object: ``base``'s fields, some given hostile values, and hostile extra
    fields, as raw bytes (which may be neither UTF-8 nor valid JSON)."""
    fields = st.dictionaries(
        st.sampled_from([msgspec.json.encode(key) for key in base]) | _keys,
        hostile_values,
        max_size=4,
    )

    def render(overrides: dict[bytes, bytes]) -> bytes:
        items = {msgspec.json.encode(k): msgspec.json.encode(v) for k, v in base.items()}
        items.update(overrides)
        return b"{" + b",".join(k + b":" + v for k, v in items.items()) + b"}"

    return fields.map(render)


def hostile_bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """What a hostile sender posts: an object around ``base``, or any hostile value."""
    return hostile_objects(base) | hostile_values | st.binary(max_size=64)
