"""What a well-formed event, project name and origin are.

Every rule about the shape of accepted data lives here, so that each driving adapter
(HTTP, embedding, CLI) refuses the same inputs with the same messages.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Mapping, Sized
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, urlsplit

import msgspec

from privalytics.domain.custom import MAX_PROP_KEY as MAX_PROP_KEY
from privalytics.domain.custom import MAX_PROP_VALUE as MAX_PROP_VALUE
from privalytics.domain.custom import MAX_PROPS as MAX_PROPS
from privalytics.domain.custom import built_in, clean_currency, clean_event_name, clean_props
from privalytics.domain.devices import MAX_SCREEN_WIDTH
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent
from privalytics.domain.text import (
    REFUSED_CHARACTERS as REFUSED_CHARACTERS,
)
from privalytics.domain.text import (
    REFUSED_CLASS,
    first_unsafe,
    has_surrogate,
    has_unsafe_characters,
)

MAX_BATCH = 1000
MAX_PATH = 2048
MAX_TARGET = 2048
# Stored URLs and targets are also bounded in UTF-8 bytes: a path is part of an index key,
# and PostgreSQL refuses index rows past about 2.7 kB (2048 CJK characters are 6 kB).
MAX_URL_BYTES = 2048
MAX_NAME = 200
MAX_USER_AGENT = 1024
MAX_ORIGINS = 50
# A sender's clock may run a little ahead of ours.
FUTURE_SKEW = timedelta(seconds=60)
DEFAULT_MAX_AGE = timedelta(hours=24)


def check_batch(events: Sized) -> None:
    """A request carries 1 to :data:`MAX_BATCH` events. Checked once per request, before
    anything else is looked at (its credential, its site), so that an oversized batch is
    refused at once whoever sends it; the body's bytes are bounded before that, by the
    driving adapter."""
    if not len(events):
        raise InvalidInput("at least one event is needed", field="events")
    if len(events) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} events per batch", field="events")


class CleanEvent(IncomingEvent, frozen=True, kw_only=True):
    """An incoming event after validation: path reduced, timestamp set and bounded."""

    timestamp: datetime
    # Every value as text (domain/custom.py: clean_props).
    props: dict[str, str] = msgspec.field(default_factory=dict)  # type: ignore[assignment]


def _text(value: str, field: str, limit: int, index: int | None) -> str:
    if len(value) > limit:
        raise InvalidInput(f"longer than {limit} characters", field=field, index=index)
    refused = first_unsafe(value)
    if refused:
        raise InvalidInput(refused, field=field, index=index)
    if has_surrogate(value):
        raise InvalidInput("is not valid Unicode (a lone surrogate)", field=field, index=index)
    return value


def _utf8_bounded(value: str, field: str, index: int | None) -> str:
    # Only text that could be over the limit is encoded: 4 bytes per character at most.
    # ``value`` went through _text first, so it holds no lone surrogate and encodes.
    if len(value) * 4 > MAX_URL_BYTES and len(value.encode("utf-8")) > MAX_URL_BYTES:
        raise InvalidInput(f"longer than {MAX_URL_BYTES} bytes in UTF-8", field=field, index=index)
    return value


def reduce_path(raw: str, index: int | None = None) -> str:
    """A path without query or fragment; a full URL is reduced to its path."""
    _text(raw, "path", MAX_PATH, index)
    if raw[:8].lower().startswith(("http://", "https://")):
        try:
            path = urlsplit(raw).path
        except ValueError:
            raise InvalidInput("is not a valid URL", field="path", index=index) from None
        return _utf8_bounded(path or "/", "path", index)
    if not raw.startswith("/"):
        raise InvalidInput("must start with / or be an http(s) URL", field="path", index=index)
    return _utf8_bounded(raw.split("#", 1)[0].split("?", 1)[0], "path", index)


def reduce_referrer(raw: str, index: int | None = None) -> str | None:
    """An http(s) referrer as ``scheme://host[:port]/path``: no query, fragment or
    credentials. Anything else (empty, no host, another scheme such as ``mailto:``, free
    text) is None: only a web page's address is kept, never text that may name a person."""
    _text(raw, "referrer", MAX_PATH, index)
    if not raw[:8].lower().startswith(("http://", "https://")):
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise InvalidInput("is not a valid URL", field="referrer", index=index) from None
    # Rebuilt from the host alone, so that userinfo ("https://user:secret@...") never
    # survives.
    host = _host(parts.hostname or "")
    if not host:
        return None
    port = _safe_port(parts)
    referrer = f"{parts.scheme}://{host}{'' if port is None else f':{port}'}{parts.path}"
    return _utf8_bounded(referrer, "referrer", index)


def reduce_target(target: str) -> str:
    """An http(s) URL target without query, fragment or credentials (a signed download
    URL's secret, a share link's text); any other target (a label, a path) as given."""
    if not target[:8].lower().startswith(("http://", "https://")):
        return target
    try:
        parts = urlsplit(target)
    except ValueError:
        return re.split(r"[?#]", target, maxsplit=1)[0]
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{parts.path}"


def scroll_depth(measured: float) -> float:
    """A scroll depth as stored: in percent, within 0-100, whole. A finite measurement
    outside 0-100 is clamped, from every sender: trackers measure past the page's end (a
    page that shrank after it was scrolled, an overscroll bounce: Plausible's script sends
    such depths, and its server clamps them), and refusing one would refuse the whole
    batch it came in. Whole percent (halves up): sums of whole numbers are exact in any
    order, so the average depth from per-day sums equals the one over the events."""
    return float(math.floor(min(max(measured, 0.0), 100.0) + 0.5))


def _host(hostname: str) -> str:
    """``hostname`` as written in a URL: an IPv6 address keeps its brackets."""
    return f"[{hostname}]" if ":" in hostname else hostname


def _safe_port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


# What each field of an event must hold, in words, for a value of the wrong type.
_KINDS = {
    "action": f"one of {', '.join(Action)}",
    "path": "text",
    "referrer": "text",
    "target": "text",
    "value": "a number",
    "timestamp": "a datetime",
    "props": "a mapping of text to text, numbers or booleans",
    "name": "text",
    "currency": "text",
    "visitor_ip": "text",
    "user_agent": "text",
    "screen_width": "a whole number",
}
_FIELDS = {field.name: field for field in msgspec.structs.fields(IncomingEvent)}


def typed_event(fields: Mapping[str, object]) -> IncomingEvent:
    """An event from Python values (a server-side sender's), each checked against its
    field's type as the JSON decoder checks the wire's: a wrong type, an unknown or a
    missing field is an :class:`InvalidInput` naming the field (never repeating the value).
    ``None`` leaves an optional field out."""
    for name in fields:
        if name not in _FIELDS:
            raise InvalidInput("is not a field of an event", field=name)
    given = {name: value for name, value in fields.items() if value is not None}
    try:
        return msgspec.convert(given, IncomingEvent)
    except msgspec.ValidationError:
        pass
    # Which field is wrong, found field by field: msgspec's message is not ours to show.
    for name, field in _FIELDS.items():
        if name not in given:
            if field.required:
                raise InvalidInput("is required", field=name)
            continue
        try:
            msgspec.convert(given[name], field.type)
        except msgspec.ValidationError:
            raise InvalidInput(f"must be {_KINDS[name]}", field=name) from None
    raise InvalidInput("is not a valid event")  # pragma: no cover - a field is wrong above


def clean_event(
    event: IncomingEvent, now: datetime, max_age: timedelta | None, index: int | None = None
) -> CleanEvent:
    """``event`` as it is stored, or the :class:`InvalidInput` that refuses it. A timestamp
    may be at most ``max_age`` old; ``None``: no bound (a sender that does not know the
    receiver's setting checks the rest)."""
    action, name = _kind(event, index)
    path = reduce_path(event.path, index)
    referrer = None if event.referrer is None else reduce_referrer(event.referrer, index)
    target = event.target
    if target is not None:
        _text(target, "target", MAX_TARGET, index)
        _utf8_bounded(target, "target", index)
        target = reduce_target(target)
    value = event.value
    if value is not None and not math.isfinite(value):
        raise InvalidInput("must be a finite number", field="value", index=index)
    currency = None if event.currency is None else clean_currency(event.currency, index)
    if action is Action.CUSTOM and (value is None) != (currency is None):
        raise InvalidInput(
            "a custom event's revenue needs both an amount (value) and a currency",
            field="currency" if currency is None else "value",
            index=index,
        )
    if currency is not None and action is not Action.CUSTOM:
        raise InvalidInput("only a custom event has a revenue", field="currency", index=index)
    if action is Action.SCROLL:
        if value is None:
            raise InvalidInput(
                "a scroll event needs its depth in percent", field="value", index=index
            )
        value = scroll_depth(value)
    props = clean_props(event.props, index) if event.props else {}
    if event.user_agent is not None:
        _text(event.user_agent, "user_agent", MAX_USER_AGENT, index)
    visitor_ip = None if event.visitor_ip is None else normalize_ip(event.visitor_ip, index)
    screen_width = event.screen_width
    if screen_width is not None and not (
        type(screen_width) is int and 0 <= screen_width <= MAX_SCREEN_WIDTH
    ):
        # 0: a tracker that could not measure (a hidden frame); no device class then.
        raise InvalidInput(
            f"must be a whole number of CSS pixels from 0 to {MAX_SCREEN_WIDTH}",
            field="screen_width",
            index=index,
        )
    timestamp = now if event.timestamp is None else _bounded(event.timestamp, now, max_age, index)
    return CleanEvent(
        action=action,
        path=path,
        referrer=referrer,
        target=target,
        value=value,
        timestamp=timestamp,
        # A new dict: the stored event must not change when the caller's dict does.
        props=props,
        name=name,
        currency=currency,
        visitor_ip=visitor_ip,
        user_agent=event.user_agent,
        screen_width=screen_width,
    )


def _kind(event: IncomingEvent, index: int | None) -> tuple[Action, str | None]:
    """The event's action and, for a custom event, its cleaned name: a custom event named
    like a built-in action (``click``) is that action, which keeps its meaning."""
    if event.action is not Action.CUSTOM:
        if event.name is not None:
            raise InvalidInput(
                "an event has either an action or a (custom event) name, not both",
                field="name",
                index=index,
            )
        return event.action, None
    if event.name is None:
        raise InvalidInput("a custom event needs its name", field="name", index=index)
    name = clean_event_name(event.name, index)
    action = built_in(name)
    return (Action.CUSTOM, name) if action is None else (action, None)


# An IPv4 address in its canonical text (four decimal parts, no leading zero, none over
# 255): nearly every client, returned as it is, without ipaddress' parse (~4 µs a call,
# on every event).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def normalize_ip(raw: str, index: int | None = None) -> str:
    """The canonical text of an IP address; the message never repeats the input."""
    if _CANONICAL_IPV4.fullmatch(raw):
        return raw
    # ip_address accepts any text as an IPv6 zone ("fe80::1%..."), lone surrogates included.
    if not raw.isascii() or has_unsafe_characters(raw):
        raise InvalidInput("is not an IP address", field="visitor_ip", index=index)
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise InvalidInput("is not an IP address", field="visitor_ip", index=index) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def _bounded(
    moment: datetime, now: datetime, max_age: timedelta | None, index: int | None
) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Bounds first: converting a moment near datetime.min or .max to UTC can overflow.
    if moment > now + FUTURE_SKEW:
        raise InvalidInput("is in the future", field="timestamp", index=index)
    if max_age is not None and moment < now - max_age:
        raise InvalidInput(
            f"is older than the accepted {_describe(max_age)}", field="timestamp", index=index
        )
    return moment.astimezone(UTC)


def _describe(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours} hours" if hours else f"{int(age.total_seconds())} seconds"


def clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("must not be empty", field="name")
    return _text(name, "name", MAX_NAME, None)


_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOSTNAME = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]+", re.ASCII)


def clean_origin(origin: str) -> str:
    """``scheme://host[:port]`` as a browser sends it in ``Origin``: lowercase, the host in
    ASCII (IDNA), no default port, nothing else."""
    raw = origin.strip()
    invalid = InvalidInput(
        f"{origin!r} is not an origin; write scheme://host[:port], e.g. https://example.com",
        field="allowed_origins",
    )
    if len(raw) > MAX_PATH or has_unsafe_characters(raw):
        raise invalid
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise invalid from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise invalid
    hostname = parts.hostname
    if not hostname.isascii():
        try:
            hostname = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            raise invalid from None
    if not _HOSTNAME.fullmatch(hostname):
        raise invalid
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{_host(hostname.lower())}{suffix}"


# Every browser request names its origin; a site sends from a few. Bounded: anyone can
# send any text.
@functools.lru_cache(maxsize=4096)
def normalize_origin(origin: str) -> str | None:
    """The origin a request names, in the form of :func:`clean_origin`; None when it is not
    one (e.g. ``null``), which matches no allowed origin."""
    try:
        return clean_origin(origin)
    except InvalidInput:
        return None


def clean_origins(origins: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput(f"at most {MAX_ORIGINS} origins", field="allowed_origins")
    return tuple(dict.fromkeys(clean_origin(origin) for origin in origins))


# The characters that no stored text may hold, as one regular-expression character class:
# the HTTP adapter publishes it in its OpenAPI schema, so the schema follows this rule.
CONTROL_CHARACTERS = REFUSED_CLASS
