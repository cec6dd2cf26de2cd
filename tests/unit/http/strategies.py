"""Hypothesis strategies for the HTTP tests: arbitrary JSON, and events that almost fit."""

from __future__ import annotations

from typing import Any

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
