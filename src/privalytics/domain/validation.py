"""What a well-formed event, project name and origin are.

Every rule about the shape of accepted data lives here, so that each driving adapter
(HTTP, embedding, CLI) refuses the same inputs with the same messages.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent

MAX_BATCH = 1000
MAX_PATH = 2048
MAX_TARGET = 2048
MAX_NAME = 200
MAX_PROPS = 20
MAX_PROP_KEY = 64
MAX_PROP_VALUE = 256
MAX_USER_AGENT = 1024
MAX_ORIGINS = 50
# A sender's clock may run a little ahead of ours.
FUTURE_SKEW = timedelta(seconds=60)
DEFAULT_MAX_AGE = timedelta(hours=24)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CleanEvent(IncomingEvent, frozen=True, kw_only=True):
    """An incoming event after validation: path reduced, timestamp set and bounded."""

    timestamp: datetime


def _text(value: str, field: str, limit: int, index: int | None) -> str:
    if len(value) > limit:
        raise InvalidInput(f"longer than {limit} characters", field=field, index=index)
    if _CONTROL.search(value):
        raise InvalidInput("contains control characters", field=field, index=index)
    return value


def reduce_path(raw: str, index: int | None = None) -> str:
    """A path without query or fragment; a full URL is reduced to its path."""
    _text(raw, "path", MAX_PATH, index)
    if raw.startswith(("http://", "https://")):
        try:
            path = urlsplit(raw).path
        except ValueError:
            raise InvalidInput("is not a valid URL", field="path", index=index) from None
        return path or "/"
    if not raw.startswith("/"):
        raise InvalidInput("must start with / or be an http(s) URL", field="path", index=index)
    return raw.split("#", 1)[0].split("?", 1)[0]


def reduce_referrer(raw: str, index: int | None = None) -> str | None:
    """A referrer without query, fragment or credentials; empty means none."""
    _text(raw, "referrer", MAX_PATH, index)
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise InvalidInput("is not a valid URL", field="referrer", index=index) from None
    if parts.scheme and parts.hostname:
        port = f":{parts.port}" if _safe_port(parts) else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
    return raw.split("#", 1)[0].split("?", 1)[0]


def _safe_port(parts: object) -> int | None:
    try:
        return parts.port  # type: ignore[attr-defined, no-any-return]
    except ValueError:
        return None


def clean_event(
    event: IncomingEvent, now: datetime, max_age: timedelta, index: int | None = None
) -> CleanEvent:
    path = reduce_path(event.path, index)
    referrer = None if event.referrer is None else reduce_referrer(event.referrer, index)
    if event.target is not None:
        _text(event.target, "target", MAX_TARGET, index)
    value = event.value
    if value is not None and not math.isfinite(value):
        raise InvalidInput("must be a finite number", field="value", index=index)
    if event.action is Action.SCROLL:
        if value is None:
            raise InvalidInput(
                "a scroll event needs its depth in percent", field="value", index=index
            )
        if not 0 <= value <= 100:
            raise InvalidInput("scroll depth must be between 0 and 100", field="value", index=index)
    if len(event.props) > MAX_PROPS:
        raise InvalidInput(f"at most {MAX_PROPS} properties", field="props", index=index)
    for key, prop in event.props.items():
        if not key:
            raise InvalidInput("property names must not be empty", field="props", index=index)
        _text(key, "props", MAX_PROP_KEY, index)
        _text(prop, "props", MAX_PROP_VALUE, index)
    if event.user_agent is not None:
        _text(event.user_agent, "user_agent", MAX_USER_AGENT, index)
    visitor_ip = None if event.visitor_ip is None else normalize_ip(event.visitor_ip, index)
    timestamp = now if event.timestamp is None else _bounded(event.timestamp, now, max_age, index)
    return CleanEvent(
        action=event.action,
        path=path,
        referrer=referrer,
        target=event.target,
        value=value,
        timestamp=timestamp,
        props=event.props,
        visitor_ip=visitor_ip,
        user_agent=event.user_agent,
    )


def normalize_ip(raw: str, index: int | None = None) -> str:
    """The canonical text of an IP address; the message never repeats the input."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise InvalidInput("is not an IP address", field="visitor_ip", index=index) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def _bounded(moment: datetime, now: datetime, max_age: timedelta, index: int | None) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment > now + FUTURE_SKEW:
        raise InvalidInput("is in the future", field="timestamp", index=index)
    if moment < now - max_age:
        raise InvalidInput(
            f"is older than the accepted {_describe(max_age)}", field="timestamp", index=index
        )
    return moment


def _describe(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours} hours" if hours else f"{int(age.total_seconds())} seconds"


def clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("must not be empty", field="name")
    return _text(name, "name", MAX_NAME, None)


def clean_origin(origin: str) -> str:
    """``scheme://host[:port]``, lowercase, nothing else."""
    raw = origin.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{origin!r} is not an origin", field="allowed_origins") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise InvalidInput(
            f"{origin!r} is not an origin; write scheme://host[:port], e.g. https://example.com",
            field="allowed_origins",
        )
    suffix = f":{port}" if port is not None else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"


def clean_origins(origins: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput(f"at most {MAX_ORIGINS} origins", field="allowed_origins")
    return tuple(dict.fromkeys(clean_origin(origin) for origin in origins))
