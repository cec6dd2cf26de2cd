"""Hypothesis strategies, in one place."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from privalytics.domain.hashing import SALT_BYTES
from privalytics.domain.models import Action, IncomingEvent
from privalytics.domain.rollups import DAY_MS

salts = st.binary(min_size=SALT_BYTES, max_size=SALT_BYTES)
project_ids = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)
ipv4s = st.ip_addresses(v=4).map(str)
ips = st.ip_addresses().map(str)
user_agents = st.text(max_size=200)
# Any text at all, lone surrogates included, as a client may send in a header.
any_text = st.text(st.characters(exclude_categories=()), max_size=300)

printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
path_texts = st.text(printable, max_size=60).map(lambda tail: "/" + tail)
# Paths that come out of reduction unchanged.
clean_paths = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="?#"), max_size=40
).map(lambda tail: "/" + tail)
hex_chars = "0123456789abcdef"

moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
rotation_days = st.integers(min_value=1, max_value=30)
# Up to 30-day windows that still end before the year 9999.
windows = st.integers(min_value=0, max_value=90_000)
# Offsets a sender's clock may have, within what is accepted.
accepted_ages = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta())

prop_dicts = st.dictionaries(
    st.text(printable, min_size=1, max_size=64),
    st.text(printable, max_size=256),
    max_size=20,
)


@st.composite
def incoming_events(draw: st.DrawFn, action: Action | None = None) -> IncomingEvent:
    """A valid incoming event (its timestamp left for the server to set)."""
    chosen = draw(st.sampled_from(Action)) if action is None else action
    value = (
        draw(st.floats(min_value=0, max_value=100))
        if chosen is Action.SCROLL
        else draw(st.none() | st.floats(allow_nan=False, allow_infinity=False))
    )
    return IncomingEvent(
        action=chosen,
        path=draw(clean_paths),
        referrer=draw(st.none() | st.just("https://example.org/from")),
        target=draw(st.none() | st.text(printable, max_size=30)),
        value=value,
        props=draw(st.dictionaries(st.sampled_from(["plan", "ab"]), st.just("x"), max_size=2)),
    )


# Any JSON value: what a hostile client can put anywhere in a body.
# (Strings are Unicode text: a lone surrogate cannot be sent as UTF-8.)
json_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_texts, inner, max_size=4),
    max_leaves=12,
)
# Field names of the wire schemas, so that dictionaries hit them often.
_WIRE_KEYS = st.sampled_from(
    [
        "action", "path", "referrer", "target", "value", "timestamp", "props", "token",
        "events", "visitor_ip", "user_agent", "name", "rate_limit", "allowed_origins",
        "n", "u", "d", "r", "p", "m", "h", "sd", "type", "payload", "website", "url", "data",
    ]
)  # fmt: skip


@st.composite
def near_bodies(draw: st.DrawFn, valid: Any) -> Any:
    """A valid body (``valid``, a JSON value) with a few of its values replaced, removed
    or added: bodies that are almost right, where a message must name what is wrong."""
    body = copy.deepcopy(valid)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        holder = body
        while isinstance(holder, dict | list) and holder and draw(st.booleans()):
            key = draw(
                st.sampled_from(sorted(holder) if isinstance(holder, dict) else range(len(holder)))
            )
            if not isinstance(holder[key], dict | list):
                break
            holder = holder[key]
        if isinstance(holder, dict):
            choice = draw(st.integers(min_value=0, max_value=2))
            key = draw(_WIRE_KEYS | st.sampled_from(sorted(holder) or ["x"]))
            if choice == 0:
                holder.pop(key, None)
            else:
                holder[key] = draw(json_values)
        elif isinstance(holder, list) and holder:
            holder[draw(st.integers(min_value=0, max_value=len(holder) - 1))] = draw(json_values)
    return body


# --- rollup plans ------------------------------------------------------------------------

# Around 2026, with room for a ten-year range.
plan_days = st.integers(min_value=20_000, max_value=24_000)
plan_millis = st.integers(min_value=20_000 * DAY_MS, max_value=24_000 * DAY_MS)


@st.composite
def ranges_with_stale_days(draw: st.DrawFn) -> tuple[int, int, set[int]]:
    """A range ``[start, start + length)`` in epoch milliseconds (up to 400 days, often
    starting or ending on midnight) and stale days drawn relative to it: inside it, on its
    first and last (whole or partial) days and the days just outside, and far away."""
    start = draw(plan_millis | plan_days.map(lambda day: day * DAY_MS))
    length = draw(
        st.integers(min_value=0, max_value=400 * DAY_MS)
        | st.integers(min_value=0, max_value=400).map(lambda days: days * DAY_MS)
    )
    first, last = start // DAY_MS, (start + length) // DAY_MS
    edges = st.sampled_from(sorted({first - 1, first, first + 1, last - 1, last, last + 1}))
    inside = st.integers(min_value=first, max_value=last)
    stale = draw(st.sets(inside, max_size=6)) | draw(st.sets(edges, max_size=4))
    return start, length, stale | draw(st.sets(plan_days, max_size=3))
