"""Hypothesis strategies, in one place (tests/unit and tests/integration draw from here)."""

from __future__ import annotations

import copy
import itertools
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

import msgspec
from hypothesis import strategies as st

from privalytics.domain.devices import MAX_SCREEN_WIDTH, SCREEN_CLASSES
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.filters import WRITTEN_OPS
from privalytics.domain.funnels import Step
from privalytics.domain.geography import OTHER, Tally
from privalytics.domain.goals import Goal, GoalSpec, check_goal
from privalytics.domain.hashing import SALT_BYTES
from privalytics.domain.models import Action, Derived, Event, IncomingEvent, TimeRange, Totals
from privalytics.domain.ratelimit import US_PER_SECOND, Policy
from privalytics.domain.rollups import DAY_MS
from privalytics.domain.sessions import SESSION_GAP
from privalytics.domain.sources import MAX_CAMPAIGN_VALUE, READ_KEYS, Campaign
from privalytics.domain.tokens import ADMIN_KEY_PREFIX, SECRET_BYTES, TOKEN_PREFIX, Credential
from privalytics.domain.validation import (
    DEFAULT_MAX_AGE,
    FUTURE_SKEW,
    MAX_PATH,
    MAX_PROP_KEY,
    MAX_PROP_VALUE,
    MAX_PROPS,
    MAX_URL_BYTES,
    MAX_USER_AGENT,
    clean_origin,
)
from privalytics.testing import ManualClock

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
# Offsets of a sender's timestamp from now, within what is accepted: from the default
# maximum age before to the allowed skew after, both edges included.
accepted_ages = st.sampled_from([-DEFAULT_MAX_AGE, timedelta(), FUTURE_SKEW]) | st.timedeltas(
    min_value=-DEFAULT_MAX_AGE, max_value=FUTURE_SKEW
)
# Where a ManualClock starts.
CLOCK_START = ManualClock().now()

# --- events: wide, every field up to the limits of domain/validation.py -----------------

# Text a field accepts: any Unicode but the characters the domain refuses (C0 and C1
# controls, U+2028/2029, bidirectional overrides and isolates) and lone surrogates (not
# Unicode text).
REFUSED_CODE_POINTS = [
    *range(0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_REFUSED = "".join(map(chr, REFUSED_CODE_POINTS))
refused_characters = st.sampled_from(_REFUSED)
field_chars = st.characters(exclude_categories=("Cs",), exclude_characters=_REFUSED)
# A path's own characters: no "?" or "#", which start its query and its fragment.
path_chars = st.characters(exclude_categories=("Cs",), exclude_characters=_REFUSED + "?#")
# A query may hold "?"; a fragment may hold "?" and "#".
query_chars = path_chars | st.just("?")
fragment_chars = query_chars | st.just("#")


def _texts(chars: st.SearchStrategy[str], limit: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text of ``chars`` up to ``limit`` characters: short, or exactly at the limit (a
    short text repeated, which costs hypothesis little to draw)."""
    return st.text(chars, min_size=min_size, max_size=min(limit, 20)) | st.text(
        chars, min_size=1, max_size=6
    ).map(lambda text: (text * limit)[:limit])


# Property names and values, from none to MAX_PROPS, up to their lengths.
prop_keys = _texts(field_chars, MAX_PROP_KEY, min_size=1)
prop_values = _texts(field_chars, MAX_PROP_VALUE)
prop_dicts = (st.integers(min_value=0, max_value=4) | st.just(MAX_PROPS)).flatmap(
    lambda size: st.dictionaries(prop_keys, prop_values, min_size=size, max_size=size)
)


@st.composite
def _tail(draw: st.DrawFn) -> str:
    """An optional ``?query`` and an optional ``#fragment`` (either may be empty)."""
    query = draw(st.none() | st.text(query_chars, max_size=30))
    fragment = draw(st.none() | st.text(fragment_chars, max_size=30))
    return ("" if query is None else "?" + query) + ("" if fragment is None else "#" + fragment)


def _padded(
    draw: st.DrawFn, kept: str, in_bytes: tuple[str, str], in_chars: tuple[str, str]
) -> str:
    """``kept`` as drawn or, half the time, padded with "a" to an edge of the domain's
    limits: until the text bounded in UTF-8 (``kept`` between ``in_bytes``) is
    MAX_URL_BYTES long, or the text bounded in characters (``kept`` between ``in_chars``)
    is MAX_PATH long, whichever comes first."""
    # A URL's empty path is not padded: the padding would join its host or port.
    if not kept or draw(st.booleans()):
        return kept
    room = min(
        MAX_URL_BYTES - len(kept.join(in_bytes).encode()), MAX_PATH - len(kept.join(in_chars))
    )
    return kept + "a" * max(room, 0)


# Hosts a referrer or a target may name: names of any case and length, Unicode ones,
# IPv4 and IPv6 addresses.
_LABEL = string.ascii_letters + string.digits + "-"
hosts = st.one_of(
    st.lists(st.text(_LABEL, min_size=1, max_size=20), min_size=1, max_size=4).map(".".join),
    st.sampled_from(["bücher.example", "例え.テスト", "xn--bcher-kva.example", "localhost"]),
    ipv4s,
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
)
_USER = string.ascii_letters + string.digits + "-._~!$&'()*+,;=%"
# Credentials in a URL: "user:password@", either part possibly empty.
userinfos = st.tuples(st.text(_USER, max_size=12), st.text(_USER + ":", max_size=12)).map(
    lambda parts: f"{parts[0]}:{parts[1]}@"
)
ports = st.none() | st.integers(min_value=0, max_value=65535)
# URL schemes are case-insensitive.
schemes = st.sampled_from(["http", "https", "HTTPS", "Http"])
_url_paths = st.just("") | st.text(path_chars, max_size=40).map(lambda tail: "/" + tail)


def _port(port: int | None) -> str:
    return "" if port is None else f":{port}"


@st.composite
def sent_paths(draw: st.DrawFn) -> tuple[str, str]:
    """A path as a sender may give it (with a query and a fragment, or as a full URL) and
    the path that must be stored: the path alone."""
    before = draw(st.just("") | st.builds("{}://{}{}".format, schemes, hosts, ports.map(_port)))
    tail = draw(_tail())
    # The path stored is bounded in bytes, the text sent in characters.
    path = "/" + draw(st.text(path_chars, max_size=40))
    path = _padded(draw, path, ("", ""), (before, tail))
    return before + path + tail, path


@st.composite
def sent_referrers(draw: st.DrawFn) -> tuple[str | None, str | None]:
    """A referrer as sent (none; a web page's address with credentials, port, query and
    fragment; anything else) and what must be kept of it: the address without query,
    fragment or credentials, the scheme and host in lowercase; nothing of anything else."""
    kind = draw(st.sampled_from(["none", "url", "url", "url", "other"]))
    if kind == "none":
        return None, None
    if kind == "other":
        other = draw(
            st.sampled_from(["", "mailto:a@b.example?subject=x", "android-app://com.x/", "Alice"])
            | st.text(field_chars, max_size=30).filter(
                lambda text: not text[:8].lower().startswith(("http://", "https://"))
            )
        )
        return other, None
    scheme, host, port = draw(schemes), draw(hosts), _port(draw(ports))
    origin = f"{scheme.lower()}://{host.lower()}{port}"
    before = f"{scheme}://{draw(st.just('') | userinfos)}{host}{port}"
    tail = draw(_tail())
    path = _padded(draw, draw(_url_paths), (origin, ""), (before, tail))
    return before + path + tail, origin + path


@st.composite
def sent_targets(draw: st.DrawFn) -> tuple[str | None, str | None]:
    """A target as sent (none; a label; a URL with credentials, query and fragment) and as
    stored: a label as given, a URL without query, fragment or credentials."""
    kind = draw(st.sampled_from(["none", "label", "url"]))
    if kind == "none":
        return None, None
    if kind == "label":
        label = draw(st.text(field_chars, max_size=30))
        if not label or label[:8].lower().startswith(("http://", "https://")):
            label = "x" + label
        # The whole target is bounded in UTF-8 bytes (MAX_TARGET is not more).
        label = _padded(draw, label, ("", ""), ("", ""))
        return label, label
    netloc = f"{draw(hosts)}{_port(draw(ports))}"
    scheme, userinfo, tail = draw(schemes), draw(st.just("") | userinfos), draw(_tail())
    before = f"{scheme}://{userinfo}{netloc}"
    # The whole target sent is bounded, in bytes and in characters.
    path = _padded(draw, draw(_url_paths), (before, tail), (before, tail))
    return before + path + tail, f"{scheme.lower()}://{netloc}{path}"


@st.composite
def sent_values(draw: st.DrawFn, action: Action) -> tuple[float | None, float | None]:
    """A value as sent and as stored: any finite number (or none) for most actions; for a
    scroll, a depth in percent stored whole (halves up) and clamped into 0-100."""
    if action is Action.CUSTOM:
        # A custom event's value is a revenue amount, sent with its currency.
        return None, None
    if action is not Action.SCROLL:
        value = draw(st.none() | st.floats(allow_nan=False, allow_infinity=False))
        return value, value
    kind = draw(st.sampled_from(["near", "below", "above"]))
    if kind == "below":
        return draw(st.floats(max_value=-0.5, allow_infinity=False)), 0.0
    if kind == "above":
        return draw(st.floats(min_value=100.5, allow_infinity=False, exclude_min=True)), 100.0
    # Within half a percent below (included) or above (excluded) a whole percent, in steps
    # of 1/1024, which floats hold exactly.
    whole = draw(st.integers(min_value=0, max_value=100))
    offset = draw(st.integers(min_value=-512, max_value=511) | st.sampled_from([-512, 511]))
    return whole + offset / 1024, float(whole)


_offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@st.composite
def sent_timestamps(
    draw: st.DrawFn, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE
) -> tuple[datetime | None, datetime]:
    """A timestamp as sent (none; naive, meaning UTC; or in any offset), from ``max_age``
    before ``now`` to FUTURE_SKEW after it, edges included, and as stored: in UTC, ``now``
    when none is sent."""
    if draw(st.booleans()):
        return None, now
    age = draw(
        st.sampled_from([-FUTURE_SKEW, timedelta(), max_age])
        | st.timedeltas(min_value=-FUTURE_SKEW, max_value=max_age)
    )
    moment = now - age
    sent = draw(
        st.sampled_from([moment, moment.replace(tzinfo=None)]) | _offsets.map(moment.astimezone)
    )
    return sent, moment


@dataclass(frozen=True)
class Sent:
    """An event as sent, and the fields the domain must store for it."""

    event: IncomingEvent
    path: str
    referrer: str | None
    target: str | None
    value: float | None
    timestamp: datetime
    name: str | None = None


# Custom event names as sent (surrounding spaces are dropped) and as stored.
sent_names = st.sampled_from(["Signup", " Signup ", "Purchase", "Newsletter: join", "注册"]).map(
    lambda name: (name, name.strip())
)


@st.composite
def sent_events(draw: st.DrawFn, now: datetime = CLOCK_START, action: Action | None = None) -> Sent:
    """A valid event of any action, every field drawn wide (Unicode, lengths at the
    domain's limits, URLs with credentials, queries and fragments, timestamps at the
    edges of the accepted age), with what must be stored of it."""
    chosen = draw(st.sampled_from(Action)) if action is None else action
    raw_path, path = draw(sent_paths())
    raw_referrer, referrer = draw(sent_referrers())
    raw_target, target = draw(sent_targets())
    raw_value, value = draw(sent_values(chosen))
    raw_timestamp, timestamp = draw(sent_timestamps(now))
    raw_name, name = draw(sent_names) if chosen is Action.CUSTOM else (None, None)
    event = IncomingEvent(
        action=chosen,
        name=raw_name,
        path=raw_path,
        referrer=raw_referrer,
        target=raw_target,
        value=raw_value,
        timestamp=raw_timestamp,
        props=draw(prop_dicts),
    )
    return Sent(event, path, referrer, target, value, timestamp, name)


def incoming_events(action: Action | None = None) -> st.SearchStrategy[IncomingEvent]:
    """A valid incoming event, drawn as wide as :func:`sent_events`."""
    return sent_events(action=action).map(lambda sent: sent.event)


# --- JSON bodies ------------------------------------------------------------------------

# Any JSON value: what a hostile client can put anywhere in a body. Strings are Unicode
# text (a lone surrogate cannot be sent as UTF-8; it is tested as raw bytes below), numbers
# finite (JSON has no NaN or Infinity) and integers of any size.
json_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_texts
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(json_texts, inner, max_size=5),
    max_leaves=20,
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


# --- wire bodies that almost fit ------------------------------------------------------

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


# An event as a JSON object: every field plausible, or anything at all.
event_bodies: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
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


# --- hostile JSON: raw bytes no decoder should turn into a 500 ----------------------------

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


# Names a ranking counts, and a range's parts (blocks or raw intervals): each a part's names
# with their counts.
ranking_names = st.sampled_from([f"/{c}" for c in "abcdefghijkl"])
ranking_parts = st.lists(
    st.dictionaries(ranking_names, st.integers(1, 30), max_size=12), min_size=1, max_size=6
)


# --- random histories for the rollup differential tests -----------------------------------

# The random histories span more than three years from 2025-11-07: sparse events, and
# ranges long enough to be answered by blocks of every level up to MAX_LEVEL (the block
# of 1024 days from 2026-01-26, day 20 * 1024, lies inside).
HISTORY_FIRST_DAY = 20_400
HISTORY_DAYS = 1_200
HISTORY_PATHS = ("/", "/a", "/b", "/c/d")
HISTORY_REFERRERS = (None, "", "https://x.example/", "https://y.example/")
HISTORY_TARGETS = (None, "", "https://files.example/a.pdf", "mastodon")
CUSTOM_NAMES = ("Signup", "Purchase")
HISTORY_VISITORS = tuple(f"{n:016x}" for n in range(6))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _history_event(project_id: str, millis: int, draw: st.DrawFn) -> Event:
    action = draw(st.sampled_from(list(Action)))
    return Event(
        project_id=project_id,
        action=action,
        name=draw(st.sampled_from(CUSTOM_NAMES)) if action is Action.CUSTOM else None,
        path=draw(st.sampled_from(HISTORY_PATHS)),
        timestamp=_EPOCH + timedelta(milliseconds=millis),
        visitor_hash=draw(st.sampled_from(HISTORY_VISITORS)),
        referrer=draw(st.sampled_from(HISTORY_REFERRERS)),
        target=draw(st.sampled_from(HISTORY_TARGETS)),
        value=float(draw(st.integers(0, 100))) if action is Action.SCROLL else None,
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[Event]], list[int | None], list[tuple[int, int]]]:
    """Batches of events over more than three years in two projects ("p" and "q"), a
    refresh day (or none) after each batch, and ranges to query, in epoch milliseconds."""
    first, days = HISTORY_FIRST_DAY, HISTORY_DAYS
    start, end = first * DAY_MS, (first + days) * DAY_MS
    # Sparse: events on a few days, now and then at a day's first or last millisecond,
    # where off-by-ones live.
    active = draw(st.lists(st.integers(first, first + days - 1), min_size=1, max_size=8))
    on = st.sampled_from(active)
    millis = st.one_of(
        on.flatmap(lambda d: st.integers(d * DAY_MS, (d + 1) * DAY_MS - 1)),
        on.map(lambda d: d * DAY_MS),
        on.map(lambda d: (d + 1) * DAY_MS - 1),
    )
    batches = draw(
        st.lists(
            st.lists(st.tuples(st.sampled_from(("p", "q")), millis), min_size=1, max_size=12),
            min_size=1,
            max_size=6,
        )
    )
    events = [[_history_event(p, ms, draw) for p, ms in batch] for batch in batches]
    # Refreshing any day, or during or just after an active one (some of its days over).
    refresh_days = st.integers(first, first + days + 1) | on.flatmap(
        lambda d: st.sampled_from((d, d + 1))
    )
    refreshes = [draw(st.none() | refresh_days) for _ in batches]
    edge = st.one_of(
        st.integers(start - DAY_MS, end + DAY_MS),
        st.integers(first - 1, first + days + 1).map(lambda d: d * DAY_MS),
        on.flatmap(lambda d: st.sampled_from((d * DAY_MS, (d + 1) * DAY_MS))),
    )
    ranges = [
        (a, b) for a, b in draw(st.lists(st.tuples(edge, edge), min_size=1, max_size=3)) if a < b
    ]
    return events, refreshes, [*ranges, (start - DAY_MS, end + DAY_MS)]


# --- the overview's figures per project ---------------------------------------------------


_BEFORE = TimeRange(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 2, tzinfo=UTC))
counts = st.integers(min_value=0, max_value=10**9)
totals = st.builds(Totals, range=st.just(_BEFORE), visits=counts, unique_visitors=counts)
# A project's figures over a range and over the previous one (None: nothing to compare).
figures = st.tuples(totals, st.none() | totals)


# --- credentials --------------------------------------------------------------------------

credential_prefixes = st.sampled_from([TOKEN_PREFIX, ADMIN_KEY_PREFIX])
credentials = st.builds(
    Credential,
    prefix=credential_prefixes,
    id=st.text(alphabet=hex_chars, min_size=16, max_size=16),
    secret=st.binary(min_size=SECRET_BYTES, max_size=SECRET_BYTES),
)


# --- rate limits: the GCRA's policies and clock traces, in integer µs ----------------------

# Whole seconds (what RateLimit gives) and a few sub-second periods; limits that divide
# them evenly and limits that do not (the interval is then rounded up to a microsecond).
gcra_periods = st.one_of(
    st.sampled_from([1.0, 60.0, 3600.0, 86400.0]),
    st.integers(min_value=1, max_value=10 * US_PER_SECOND).map(lambda us: us / US_PER_SECOND),
)
gcra_policies = st.builds(
    Policy,
    limit=st.integers(min_value=1, max_value=10_000),
    period=gcra_periods,
    burst=st.integers(min_value=1, max_value=40),
)
# Instants from 1970 to 2200, in µs: far enough out that float seconds would lose them.
gcra_starts = st.integers(min_value=0, max_value=7_258_118_400 * US_PER_SECOND)
gcra_costs = st.integers(min_value=0, max_value=45)


@st.composite
def gcra_advances(draw: st.DrawFn, policy: Policy, backwards: bool = False) -> int:
    """A clock step in µs sized to the policy: none, a fraction of an interval, a few
    intervals, a full refill and more; backwards ones when asked."""
    interval, tolerance = policy.interval_us, policy.tolerance_us
    forward = draw(
        st.one_of(
            st.just(0),
            st.integers(min_value=1, max_value=interval),
            st.integers(min_value=0, max_value=4).map(lambda k: k * interval),
            st.integers(min_value=0, max_value=2 * tolerance),
        )
    )
    if backwards and draw(st.integers(min_value=0, max_value=4)) == 0:
        return -draw(st.integers(min_value=1, max_value=3 * tolerance + 10 * US_PER_SECOND))
    return forward


@st.composite
def gcra_traces(
    draw: st.DrawFn, policy: Policy, backwards: bool = False, max_size: int = 40
) -> list[tuple[int, int]]:
    """(clock step in µs, cost) pairs; the clock moves, then the request arrives."""
    return draw(
        st.lists(
            st.tuples(gcra_advances(policy, backwards), gcra_costs), min_size=1, max_size=max_size
        )
    )


@st.composite
def gcra_policies_and_traces(
    draw: st.DrawFn, backwards: bool = False
) -> tuple[Policy, int, list[tuple[int, int]]]:
    policy = draw(gcra_policies)
    return policy, draw(gcra_starts), draw(gcra_traces(policy, backwards))


# --- rate limits: the RateLimiter contract (float seconds, a ManualClock) ------------------

limiter_policies = st.builds(
    Policy,
    limit=st.integers(min_value=1, max_value=1000),
    period=st.sampled_from([1.0, 60.0, 3600.0, 0.25, 7.5]),
    burst=st.integers(min_value=1, max_value=20),
)
# Clock steps in µs: mostly forwards, sometimes standing still or stepping back.
limiter_clock_steps = st.one_of(
    st.integers(min_value=0, max_value=2_000_000),
    st.just(0),
    st.integers(min_value=-5_000_000, max_value=-1),
)
limiter_sequences = st.lists(
    st.tuples(limiter_clock_steps, st.integers(min_value=0, max_value=25)), min_size=1, max_size=30
)
# From 1970 to 2199: Redis' Lua must keep every microsecond of all of them.
limiter_start_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2199, 1, 1), timezones=st.just(UTC)
)


# --- the dashboard's forms and ranges -----------------------------------------------------

form_texts = st.text(max_size=300)
# Fields that are right now and then, so that both the refusal and the success are met.
form_names = st.sampled_from(["Blog", " Shop ", "Ünïcode ✓"]) | form_texts
form_rates = st.sampled_from(["", "10/minute", " 5/h ", "1000/second"]) | form_texts
form_origins = (
    st.sampled_from(["", "https://a.example", "https://a.example\nhttp://b.example"]) | form_texts
)
# A range's name: custom, a named one, or drawn text.
range_names = st.sampled_from(["custom", "named", "drawn"]).flatmap(
    lambda kind: {
        "custom": st.just("custom"),
        "named": st.sampled_from(["24h", "7d", "30d", "1y", ""]),
        "drawn": st.text(max_size=8),
    }[kind]
)
# Days near today, where a custom range is drawn.
near_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
# One end of a custom range: None (the range is drawn near today), or text.
range_end_texts = st.sampled_from(["near", "", "any date", "drawn"]).flatmap(
    lambda kind: {
        "near": st.none(),
        "": st.just(""),
        "any date": st.dates().map(str),
        "drawn": st.text(max_size=20),
    }[kind]
)


# --- sources and campaigns ----------------------------------------------------------------

# A campaign tag's value as a person writes it: any Unicode text the domain accepts, with
# spaces around it at times, and now and then longer than the cap.
_tag_texts = st.one_of(
    st.text(field_chars, min_size=1, max_size=30),
    st.sampled_from(["Newsletter", "spring sale", "a+b=c", "50% off", "?&#", "Ünïcode ✓"]),
    st.text(field_chars, min_size=1, max_size=4).map(lambda t: (t * MAX_CAMPAIGN_VALUE)[:230]),
)
_padding = st.sampled_from(["", " ", "  ", "\u3000", " \u00a0"])


def _expected_tag(text: str) -> str:
    """A tag's value as kept: trimmed, cut at MAX_CAMPAIGN_VALUE, trimmed again."""
    return text.strip()[:MAX_CAMPAIGN_VALUE].rstrip()


@st.composite
def _written_tag(draw: st.DrawFn, text: str) -> str:
    """``text`` written into a query: percent-encoded (spaces as %20 or +), or as it is when
    it holds nothing a query reads otherwise."""
    ways = [quote(text, safe=""), quote_plus(text, safe="")]
    if not set(text) & set("&#%+"):
        ways.append(text)
    return draw(st.sampled_from(ways))


# Values no tag keeps: empty or blank, bytes that are not UTF-8 (a lone surrogate's
# CESU-8 bytes among them), control characters encoded or not.
_bad_tags = st.one_of(
    st.sampled_from(["", "+", "%20%20", "%ff", "%C3", "%C3%28", "%ED%A0%80", "%E2%82"]),
    st.tuples(
        st.sampled_from(["%00", "%0A", "%0d", "%1F", "%7f", "\x01", "\t"]),
        st.text(st.characters(min_codepoint=0x61, max_codepoint=0x7A), max_size=5),
    ).map(lambda parts: f"{parts[1]}{parts[0]}{parts[1]}"),
)
# Keys that are not read: near misses of the read ones (case, spelling, spaces) and others.
_unread_keys = st.one_of(
    st.sampled_from(
        [
            "UTM_SOURCE",
            "Utm_Medium",
            "utm_sources",
            "utm-source",
            "utm source",
            " ref",
            "REF",
            "Source",
            "utm_id",
            "gclid",
            "fbclid",
            "q",
            "",
            "utm_campaign_",
        ]
    ),
    st.text(field_chars, max_size=12),
).filter(lambda key: unquote_plus(key) not in READ_KEYS)


@st.composite
def campaign_pages(draw: st.DrawFn) -> tuple[str, Campaign]:
    """A page as sent (a path or an http(s) URL, then a query and a fragment) and the
    campaign it holds. Each read key appears or not, its clean value somewhere among values
    no tag keeps; unread keys (with tag-like values) come in between; the fragment may hold
    tags of its own, which are not the page's."""
    pairs: list[str] = []
    kept: dict[str, str] = {}
    for key in sorted(READ_KEYS):
        written_key = draw(st.sampled_from([key, quote(key, safe=""), key.replace("_", "%5F")]))
        for bad in draw(st.lists(_bad_tags, max_size=2)):
            pairs.append(written_key if bad == "" and draw(st.booleans()) else f"{key}={bad}")
        if draw(st.booleans()):
            text = draw(_padding) + draw(_tag_texts) + draw(_padding)
            if _expected_tag(text):
                kept[key] = _expected_tag(text)
                pairs.append(f"{written_key}={draw(_written_tag(text))}")
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        key = draw(_unread_keys)
        pairs.append(f"{quote_plus(key)}={draw(_written_tag(draw(_tag_texts)))}")
    order = draw(st.permutations(range(len(pairs))))
    # Clean values stay before the bad ones of their key: the first clean value is kept.
    pairs = _stable_for_keys(pairs, order)
    base = draw(st.just("") | st.builds("{}://{}{}".format, schemes, hosts, ports.map(_port)))
    path = draw(st.text(path_chars, max_size=20).map(lambda tail: "/" + tail))
    fragment = draw(
        st.none() | st.sampled_from(["", "utm_source=fragment", "/page?utm_medium=x&ref=y"])
    )
    page = f"{base}{path}?{'&'.join(pairs)}" + ("" if fragment is None else f"#{fragment}")
    source = kept.get("utm_source") or kept.get("source") or kept.get("ref")
    return page, Campaign(
        utm_source=source,
        utm_medium=kept.get("utm_medium"),
        utm_campaign=kept.get("utm_campaign"),
        utm_term=kept.get("utm_term"),
        utm_content=kept.get("utm_content"),
    )


def _stable_for_keys(pairs: list[str], order: list[int]) -> list[str]:
    """``pairs`` shuffled by ``order``, except that the pairs of one read key keep their
    relative order (so which of its values comes first is what the strategy decided)."""
    shuffled = [pairs[index] for index in order]
    by_key: dict[str, list[str]] = {}
    for pair in pairs:
        by_key.setdefault(unquote_plus(pair.partition("=")[0]), []).append(pair)
    result = []
    for pair in shuffled:
        key = unquote_plus(pair.partition("=")[0])
        result.append(by_key[key].pop(0) if key in READ_KEYS else pair)
    return result


# Pages of any text at all, and pages whose query holds any text.
hostile_pages = any_text | st.tuples(path_texts, any_text).map(lambda parts: "?".join(parts))
campaign_values = st.none() | _tag_texts.map(_expected_tag).filter(bool)
campaigns = st.builds(
    Campaign,
    utm_source=campaign_values,
    utm_medium=campaign_values,
    utm_campaign=campaign_values,
    utm_term=campaign_values,
    utm_content=campaign_values,
)
# Hosts a site may be served from (names only: "www." and a trailing dot belong to names).
site_names = st.one_of(
    st.lists(st.text(_LABEL, min_size=1, max_size=20), min_size=1, max_size=4).map(".".join),
    st.sampled_from(["bücher.example", "例え.テスト", "xn--bcher-kva.example", "localhost"]),
)


def _case(draw: st.DrawFn, text: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in text)


@st.composite
def self_referrals(draw: st.DrawFn) -> tuple[str, tuple[str, ...]]:
    """A referrer from one of a project's own sites, as a browser may write it (another
    scheme and port, the host in any case, in Unicode or IDNA form, with or without "www."
    or a trailing dot, with credentials, a path, a query and a fragment), and the project's
    allowed origins (as stored: clean), that site's among others."""
    kind = draw(st.sampled_from(["name", "name", "ipv4", "ipv6"]))
    if kind == "name":
        name = draw(site_names)
        host = draw(st.sampled_from(["", "www."])) + name
        written = draw(st.sampled_from(["", "www."])) + _case(draw, name)
        written += draw(st.sampled_from(["", "."]))
    elif kind == "ipv4":
        host = written = draw(ipv4s)
    else:
        host = written = f"[{draw(st.ip_addresses(v=6))}]"
    origin = clean_origin(f"{draw(schemes)}://{host}{_port(draw(ports))}")
    others = draw(st.lists(st.sampled_from(["https://a.example", "http://b.example:8080"])))
    origins = tuple(draw(st.permutations([origin, *dict.fromkeys(others)])))
    before = f"{draw(schemes)}://{draw(st.just('') | userinfos)}{written}{_port(draw(ports))}"
    return before + draw(_url_paths) + draw(_tail()), origins


# --- geography ------------------------------------------------------------------------

min_cell_visitors = st.integers(min_value=1, max_value=12)
# Unique visitors of a breakdown row: mostly near the threshold, sometimes far above it.
_row_visitors = st.integers(min_value=0, max_value=15) | st.integers(min_value=0, max_value=10**6)
_row_values = st.sampled_from([OTHER, "", "Berlin", "DE-BE"]) | st.text(max_size=12) | st.none()


@st.composite
def ranked_tallies(draw: st.DrawFn) -> list[Tally]:
    """A breakdown's rows as a store ranks them: distinct values (None, "" and a value
    that already reads "(other)" among them), by visitors, most first, ties in any
    order; every row has the same number of additive figures."""
    width = draw(st.integers(min_value=0, max_value=3))
    values = draw(st.lists(_row_values, max_size=30, unique=True))
    figures = st.lists(st.integers(min_value=0, max_value=10**9), min_size=width, max_size=width)
    rows = [
        Tally(value=value, visitors=draw(_row_visitors), figures=tuple(draw(figures)))
        for value in values
    ]
    return sorted(rows, key=lambda row: -row.visitors)


# Addresses no table may place: private, shared, loopback, link-local, documentation,
# benchmarking, reserved and multicast ranges, IPv4 and IPv6, some as IPv4-mapped IPv6.
_not_public_networks = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "::1/128", "::/128", "fc00::/7",
    "fe80::/10", "ff00::/8", "2001:db8::/32",
]  # fmt: skip
not_public_ips = (
    st.sampled_from(_not_public_networks)
    .flatmap(lambda network: st.ip_addresses(network=network))
    .flatmap(
        lambda address: st.sampled_from(
            [str(address), f"::ffff:{address}"] if address.version == 4 else [str(address)]
        )
    )
)
# Text that is no address, or no address to place, though it looks like one.
_malformed_ips = st.sampled_from(
    [
        "", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.1.1.1/32", "8.8.8.8:443",
        "[2001:4860::8888]", "2001:4860::8888::1", "8.8.8.8\x00", "0x8.8.8.8",
        "\uff18.\uff18.\uff18.\uff18",
        "fe80::1%eth0", "2a02:8108::1%eth0", "2001:4860:4860::8888%1", "%", "::ffff:",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2550", "1" * 10_000,
    ]
)  # fmt: skip
# An IPv6 address with a zone (scope id), which only a link names.
zoned_ips = st.tuples(st.ip_addresses(v=6), st.text(min_size=1, max_size=12)).map(
    lambda parts: f"{parts[0]}%{parts[1]}"
)
# Anything a locator may be handed: every kind of address, and hostile text.
located_texts = st.one_of(ips, not_public_ips, _malformed_ips, zoned_ips, any_text)


# --- devices: screen widths and user agents ------------------------------------------------

# Widths at and next to every class edge (domain/devices.py), absurd ones, and any.
screen_widths = st.one_of(
    st.sampled_from([bound + step for bound, _ in SCREEN_CLASSES for step in (-1, 0, 1)]),
    st.sampled_from([-(2**63), -1, 0, 1, MAX_SCREEN_WIDTH, MAX_SCREEN_WIDTH + 1, 2**63]),
    st.integers(min_value=-5_000, max_value=2 * MAX_SCREEN_WIDTH),
    st.integers(),
)
# Any text a header or a sender's JSON may carry, lone surrogates and NULs included, from
# empty to past the length the parser reads (MAX_USER_AGENT).
_agent_chars = st.characters(exclude_categories=())
agent_texts = st.one_of(
    any_text,
    st.text(_agent_chars, min_size=1, max_size=8).map(lambda text: (text * 3000)[:3000]),
    st.text(st.sampled_from(" ()/;._-0123456789KHTMLGeckoMozilla"), max_size=400),
)


def spliced_agents(real: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A real user agent with any text put in at any place (rules match near the real
    tokens), or cut short, or cut at MAX_USER_AGENT after padding."""

    @st.composite
    def spliced(draw: st.DrawFn) -> str:
        agent = draw(st.sampled_from(real))
        at = draw(st.integers(min_value=0, max_value=len(agent)))
        kind = draw(st.sampled_from(["insert", "cut", "pad"]))
        if kind == "cut":
            return agent[:at]
        if kind == "pad":
            return "x" * draw(st.integers(MAX_USER_AGENT - len(agent) - 2, MAX_USER_AGENT)) + agent
        return agent[:at] + draw(any_text) + agent[at:]

    return spliced()


# --- sessions: visitors' runs of events ----------------------------------------------------

SESSION_PROJECTS = ("p", "q")
# The same hashes in both projects: a session is one visitor's in one project.
SESSION_VISITORS = tuple(f"{n:016x}" for n in range(3))
SESSION_PATHS = ("/", "/a", "/b")
_MICROSECOND = timedelta(microseconds=1)
# Gaps between a visitor's consecutive events: none (events at the same instant), at the
# session boundary and a microsecond either side of it, short, and any up to hours.
session_gaps = st.one_of(
    st.sampled_from(
        [
            timedelta(),
            _MICROSECOND,
            SESSION_GAP - _MICROSECOND,
            SESSION_GAP,
            SESSION_GAP + _MICROSECOND,
        ]
    ),
    st.timedeltas(min_value=timedelta(), max_value=timedelta(minutes=5)),
    st.timedeltas(min_value=timedelta(), max_value=timedelta(hours=3)),
)
# Gaps that never end a session on their own.
joining_gaps = st.sampled_from([timedelta(), SESSION_GAP]) | st.timedeltas(
    min_value=timedelta(), max_value=SESSION_GAP
)
# Where runs start: anywhere, or in the last two hours of a UTC day, so that runs cross
# midnight (and land on it exactly) often.
_session_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 30))
session_starts = st.one_of(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    ),
    st.tuples(
        _session_days, st.timedeltas(min_value=_MICROSECOND, max_value=timedelta(hours=2))
    ).map(
        lambda day_before: (
            datetime.combine(day_before[0], datetime.min.time(), UTC)
            + timedelta(days=1)
            - day_before[1]
        )
    ),
)
# Aware timestamps in UTC or another offset: the day that ends a session is UTC's.
_session_zones = st.sampled_from([UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-8))])


@st.composite
def session_event(
    draw: st.DrawFn, project_id: str, visitor_hash: str, timestamp: datetime
) -> Event:
    """One event of any action at ``timestamp``; fields drawn from few values, so events at
    the same instant differ only in their referrer, target or value now and then."""
    action = draw(st.sampled_from(Action))
    custom = action is Action.CUSTOM
    revenue = custom and draw(st.booleans())
    return Event(
        project_id=project_id,
        action=action,
        name=draw(st.sampled_from(CUSTOM_NAMES)) if custom else None,
        path=draw(st.sampled_from(SESSION_PATHS)),
        timestamp=timestamp.astimezone(draw(_session_zones)),
        visitor_hash=visitor_hash,
        referrer=draw(st.sampled_from([None, "", "https://x.example/"])),
        target=draw(st.sampled_from([None, "mastodon"])),
        value=(
            draw(st.sampled_from([None, 0.0, 50.0]))
            if action is Action.SCROLL
            else (12.5 if revenue else None)
        ),
        currency="EUR" if revenue else None,
        props=draw(st.sampled_from([{}, {"k": "v"}, {"plan": "pro"}, {"plan": "free", "k": "v"}])),
    )


@st.composite
def visitor_runs(
    draw: st.DrawFn,
    gaps: st.SearchStrategy[timedelta] = session_gaps,
    project_id: str | None = None,
    visitor_hash: str | None = None,
    max_size: int = 12,
) -> list[Event]:
    """One visitor's events in time order, each ``gaps`` after the one before."""
    project = project_id if project_id is not None else draw(st.sampled_from(SESSION_PROJECTS))
    visitor = visitor_hash if visitor_hash is not None else draw(st.sampled_from(SESSION_VISITORS))
    moment = draw(session_starts)
    events = [draw(session_event(project, visitor, moment))]
    for gap in draw(st.lists(gaps, max_size=max_size - 1)):
        moment += gap
        events.append(draw(session_event(project, visitor, moment)))
    return events


@st.composite
def event_mixes(draw: st.DrawFn, gaps: st.SearchStrategy[timedelta] = session_gaps) -> list[Event]:
    """Several runs (of the same visitor now and then, in one project or two), joined and
    in any order, duplicates of an event included now and then."""
    runs = draw(st.lists(visitor_runs(gaps), min_size=0, max_size=4))
    events = [event for run in runs for event in run]
    if events and draw(st.booleans()):
        events.append(draw(st.sampled_from(events)))
    return draw(st.permutations(events))


# The same events in two orders.
reordered_mixes = event_mixes().flatmap(
    lambda events: st.tuples(st.just(events), st.permutations(events))
)
# How far past SESSION_GAP a run starts after another: not at all (it joins), by a
# microsecond, or by any time up to an hour.
boundary_offsets = st.sampled_from([timedelta(), _MICROSECOND]) | st.timedeltas(
    min_value=timedelta(), max_value=timedelta(hours=1)
)
# Lists of sessions' events to sum in two parts.
mixes_in_two = st.tuples(event_mixes(), event_mixes())
# --- filters (privalytics.domain.filters) ----------------------------------------------
filter_dimensions = st.sampled_from(sorted(DIMENSIONS))
filter_ops = st.sampled_from(WRITTEN_OPS)
# Values as people type them, operators and other dimensions' syntax included.
filter_values = st.text(max_size=40) | st.sampled_from(["==", "!=", "~", "page==/x", ""])
dimension_values = st.none() | st.text(max_size=20) | st.sampled_from(["Google", "google.com"])


# --- insight: events with every dimension (privalytics.domain.insight) -------------------
_DIMENSION_VALUES: dict[str, list[str | None]] = {
    "source": [None, "Google", "news.example"],
    "referrer": [None, "https://www.google.com/", "https://news.example/a"],
    "utm_source": [None, "newsletter"],
    "utm_medium": [None, "email"],
    "utm_campaign": [None, "spring", "Spring"],
    "utm_term": [None],
    "utm_content": [None, "a"],
    "country": [None, "DE", "FR"],
    "region": [None, "DE-BE"],
    "city": [None, "Berlin"],
    "browser": [None, "Firefox", "Chrome"],
    "browser_version": [None, "120"],
    "os": [None, "Linux", "iOS"],
    "os_version": [None, "17.2"],
    "device": [None, "mobile", "desktop"],
}


@st.composite
def _with_dimensions(draw: st.DrawFn, event: Event) -> Event:
    return msgspec.structs.replace(
        event,
        **{name: draw(st.sampled_from(values)) for name, values in _DIMENSION_VALUES.items()},
    )


# Sessions' events in one project (one or two visitors' runs, in any order), each event
# with values in every dimension drawn from a few.
insight_events = event_mixes().flatmap(
    lambda events: st.tuples(*(_with_dimensions(event) for event in events)).map(
        lambda drawn: [msgspec.structs.replace(event, project_id="p") for event in drawn]
    )
)
# The custom-event dimensions the differential tests ask about besides DIMENSIONS' own.
CUSTOM_DIMENSIONS = ("prop:plan", "prop:k")
_CUSTOM_VALUES: dict[str, list[str | None]] = {
    "event": [None, *CUSTOM_NAMES],
    "prop:plan": [None, "pro", "free"],
    "prop:k": [None, "v"],
}
# A filter whose value is one the events may have.
insight_filters = st.sampled_from(sorted([*DIMENSIONS, *CUSTOM_DIMENSIONS])).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.sampled_from(WRITTEN_OPS),
        st.sampled_from(
            [
                v or ""
                for v in {**_DIMENSION_VALUES, **_CUSTOM_VALUES}.get(name, [None, *SESSION_PATHS])
            ]
            + ["e"]
        ),
    )
)


# --- read-breakdown: located visitors for k-anonymity and the store differentials --------
# Six visitors, each in one place (as a hash is: an address and an agent in one window),
# so that merged cells count nobody twice; one city is literally named "(other)".
PLACED_VISITORS: dict[str, tuple[str | None, str | None, str | None]] = {
    f"{n + 16:016x}": place
    for n, place in enumerate(
        [
            ("DE", "DE-BE", "Berlin"),
            ("DE", "DE-BE", "Berlin"),
            ("DE", "DE-BY", "Smalltown"),
            ("FR", None, None),
            ("FR", "FR-IDF", "(other)"),
            (None, None, None),
        ]
    )
}


def _placed(event: Event) -> Event:
    country, region, city = PLACED_VISITORS[event.visitor_hash]
    return msgspec.structs.replace(event, country=country, region=region, city=city)


_placed_runs = st.sampled_from(sorted(PLACED_VISITORS)).flatmap(
    lambda visitor: visitor_runs(project_id="p", visitor_hash=visitor, max_size=6)
)
# Several located visitors' sessions in project "p", every other dimension drawn per
# event from a few values (sessions across the 30-minute gap and UTC midnight included).
placed_events = (
    st.lists(_placed_runs, max_size=8)
    .map(lambda runs: [event for run in runs for event in run])
    .flatmap(lambda events: st.tuples(*(_with_dimensions(e) for e in events)))
    .map(lambda drawn: [_placed(event) for event in drawn])
)


# The derived fields (models.Derived) the SQL stores keep: every one since the compact
# storage (migration 0006).
STORED_DERIVED: tuple[str, ...] = Derived.__struct_fields__


def _stored(event: Event) -> Event:
    """``event`` as the SQL stores keep it: timestamps to the millisecond, and the derived
    fields of :data:`STORED_DERIVED`."""
    moment = event.timestamp
    kept = {name: getattr(event, name) for name in STORED_DERIVED}
    return Event(
        project_id=event.project_id,
        action=event.action,
        path=event.path,
        timestamp=moment.replace(microsecond=moment.microsecond // 1000 * 1000),
        visitor_hash=event.visitor_hash,
        target=event.target,
        value=event.value,
        props=event.props,
        **kept,
    )


# placed_events as every store keeps them.
storable_events = placed_events.map(lambda events: [_stored(event) for event in events])
# Up to three filters whose values the events may have, "(other)" included.
placed_filters = st.lists(
    insight_filters
    | st.tuples(
        st.sampled_from(["region", "city"]),
        st.sampled_from(WRITTEN_OPS),
        st.sampled_from(["Berlin", "Smalltown", "(other)", "DE-BE", "DE-BY", "", "town", "oth"]),
    ),
    max_size=3,
)


# --- insight-rollups: figures over session rollups and the events (helper insight-rollups)
# Days 20,500 .. 20,509 (2026-02-15 ..): few enough that blocks above one day form.
ROLLED_FIRST_DAY = 20_500
ROLLED_DAYS = 10
_ROLLED_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_rolled_days = st.integers(ROLLED_FIRST_DAY, ROLLED_FIRST_DAY + ROLLED_DAYS - 1)
# Where runs start: anywhere in a day, or in its last two hours (runs cross midnight).
_rolled_starts = st.tuples(
    _rolled_days,
    st.integers(0, DAY_MS - 1) | st.integers(DAY_MS - 7_200_000, DAY_MS - 1),
).map(lambda day_ms: _ROLLED_EPOCH + timedelta(milliseconds=day_ms[0] * DAY_MS + day_ms[1]))


@st.composite
def _rolled_run(draw: st.DrawFn) -> list[Event]:
    """One visitor's events in time order, across the 30-minute gap and midnight."""
    visitor = draw(st.sampled_from(SESSION_VISITORS))
    moment = draw(_rolled_starts)
    events = [draw(session_event("p", visitor, moment))]
    for gap in draw(st.lists(session_gaps, max_size=7)):
        moment += gap
        events.append(draw(session_event("p", visitor, moment)))
    return [_stored(event) for event in events]


@st.composite
def rolled_histories(
    draw: st.DrawFn,
    run: st.SearchStrategy[list[Event]] | None = None,
) -> tuple[list[list[Event]], list[int | None], list[tuple[int, int]]]:
    """Sessions' events of project "p" (as stored) in batches, a refresh day (or none)
    after each batch (so some days are rolled up, some stale, some rolled up then made
    stale again), and ranges to query in epoch milliseconds: cutting days and sessions,
    on midnights, and the whole history. ``run``: one visitor's events (default: of
    :func:`session_event`, with no derived field)."""
    runs = draw(st.lists(_rolled_run() if run is None else run, min_size=1, max_size=6))
    events = draw(st.permutations([event for run in runs for event in run]))
    cuts = sorted(draw(st.lists(st.integers(0, len(events)), max_size=2)))
    bounds = [0, *cuts, len(events)]
    batches = [events[a:b] for a, b in itertools.pairwise(bounds)]
    first, last = ROLLED_FIRST_DAY, ROLLED_FIRST_DAY + ROLLED_DAYS + 1
    refreshes = [draw(st.none() | st.integers(first, last + 1)) for _ in batches]
    edge = st.one_of(
        st.integers((first - 1) * DAY_MS, (last + 1) * DAY_MS),
        st.integers(first - 1, last + 1).map(lambda d: d * DAY_MS),
        st.sampled_from(events).map(
            lambda e: (e.timestamp - _ROLLED_EPOCH) // timedelta(milliseconds=1)
        ),
    )
    ranges = [
        (a, b) for a, b in draw(st.lists(st.tuples(edge, edge), min_size=1, max_size=3)) if a < b
    ]
    return batches, refreshes, [*ranges, ((first - 1) * DAY_MS, (last + 1) * DAY_MS)]


# Calls to a rate limiter made together: (key number, cost), a few keys so that calls on one
# key interleave with calls on others.
limiter_groups = st.lists(
    st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=4)),
    min_size=1,
    max_size=40,
)


# --- insight-segments: filtered reads over day segments and events --------------------
@st.composite
def _segmented_run(draw: st.DrawFn) -> list[Event]:
    """One located visitor's events in time order (across the 30-minute gap and
    midnight), every dimension drawn per event from a few values, as stored."""
    visitor = draw(st.sampled_from(sorted(PLACED_VISITORS)))
    moment = draw(_rolled_starts)
    events = [draw(session_event("p", visitor, moment))]
    for gap in draw(st.lists(session_gaps, max_size=7)):
        moment += gap
        events.append(draw(session_event("p", visitor, moment)))
    return [_stored(_placed(draw(_with_dimensions(event)))) for event in events]


# rolled_histories of located visitors with every dimension (for filters and breakdowns).
segmented_histories = rolled_histories(run=_segmented_run())


# --- goals (privalytics.domain.goals) ------------------------------------------------------
# Page patterns over SESSION_PATHS ("/", "/a", "/b"): literal, one segment, any.
GOAL_PATTERNS = ("/", "/a", "/*", "/**", "/b*", "/**a")
# Path-like texts and patterns for the pattern matcher: its special characters, a
# regular expression's, and a slash.
pattern_texts = st.text(alphabet="/ab.*?[", max_size=8)
matched_paths = st.text(alphabet="/ab.*?[\n", max_size=8)


@st.composite
def goal_sets(draw: st.DrawFn, project_id: str = "p") -> tuple[Goal, ...]:
    """A few goals of every kind, as the use case makes them (names unique)."""
    specs = draw(
        st.lists(
            st.one_of(
                st.builds(GoalSpec, page=st.sampled_from(GOAL_PATTERNS)),
                st.builds(GoalSpec, event=st.sampled_from([*CUSTOM_NAMES, "Other"])),
                st.builds(
                    GoalSpec,
                    page=st.sampled_from(GOAL_PATTERNS),
                    depth=st.sampled_from([1, 50, 51, 100]),
                ),
            ),
            max_size=5,
        )
    )
    goals: dict[str, Goal] = {}
    for number, spec in enumerate(specs):
        kind, checked = check_goal(spec)
        assert checked.name is not None
        goals.setdefault(
            checked.name,
            Goal(
                id=f"{number:016x}",
                project_id=project_id,
                name=checked.name,
                kind=kind,
                page=checked.page,
                event=checked.event,
                depth=checked.depth,
                created_at=CLOCK_START,
            ),
        )
    return tuple(goals.values())


# --- funnels (privalytics.domain.funnels) --------------------------------------------------

FUNNEL_PATHS = ("/", "/a", "/b", "/c/d")
FUNNEL_STEPS = (
    Step(page="/a"),
    Step(page="/b"),
    Step(page="/*"),
    Step(page="/**"),
    Step(page="/c/*"),
    Step(event="Signup"),
    Step(event="Purchase"),
)
# Two salt windows of a day, with instants shared often: ties are where order matters.
_FUNNEL_NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)
_funnel_moments = st.sampled_from(
    [_FUNNEL_NOON + timedelta(hours=h) for h in (-13, -1, 0, 1, 11, 12, 13)]
) | st.integers(0, 36 * 3600).map(lambda s: _FUNNEL_NOON - timedelta(hours=12, seconds=-s))
_funnel_actions = st.sampled_from([Action.VISIT, Action.VISIT, Action.CUSTOM, Action.CLICK])


@st.composite
def funnel_events(draw: st.DrawFn) -> list[Event]:
    """Any few events of three visitors over two salt windows (daily), in any order:
    page views of a few paths, custom events of two names, clicks."""
    made: list[Event] = []
    for _ in range(draw(st.integers(0, 14))):
        action = draw(_funnel_actions)
        made.append(
            Event(
                project_id="p",
                action=action,
                name=draw(st.sampled_from(CUSTOM_NAMES)) if action is Action.CUSTOM else None,
                path=draw(st.sampled_from(FUNNEL_PATHS)),
                timestamp=draw(_funnel_moments),
                visitor_hash=draw(st.sampled_from(HISTORY_VISITORS[:3])),
            )
        )
    return made


funnel_steps = st.lists(st.sampled_from(FUNNEL_STEPS), min_size=2, max_size=8).map(tuple)
