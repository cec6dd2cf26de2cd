"""The constraints the published OpenAPI schema states, derived from the domain's limits.

The domain owns every rule about accepted input (:mod:`privalytics.domain.validation`,
:mod:`~privalytics.domain.ratelimit`, :mod:`~privalytics.domain.filters`, ...). This
module turns those limits into JSON Schema keywords: attached to the wire types as
``msgspec.Meta(extra_json_schema=...)`` (bodies) and to Litestar parameters as
``schema_extra`` (query and path). A limit changed in the domain changes the published
schema with it, and a unit test holds the schema to the domain's constants.

The keywords document; they do not enforce. The domain keeps refusing what breaks its
rules, with its own message naming the event and the field, for every driving adapter
alike (HTTP, embedding, command line). Were msgspec to enforce them too, the HTTP API
would refuse the same input in other words than the embedded one. The schema may be a
little stricter than the server where JSON Schema cannot say a rule exactly (a project
name's length is counted after trimming), never looser where it can.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from privalytics.adapters.http.ids import ID_PATTERN
from privalytics.domain.custom import MAX_EVENT_NAME
from privalytics.domain.devices import MAX_SCREEN_WIDTH
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.filters import MAX_FILTER_VALUE, MAX_FILTERS
from privalytics.domain.funnels import MAX_FUNNEL_NAME, MAX_STEPS, MIN_STEPS
from privalytics.domain.goals import MAX_GOAL_EVENT, MAX_GOAL_NAME, MAX_PATTERN
from privalytics.domain.ratelimit import RATE_UNITS
from privalytics.domain.reporting import MAX_TOP, PERIODS
from privalytics.domain.validation import (
    CONTROL_CHARACTERS,
    MAX_BATCH,
    MAX_NAME,
    MAX_ORIGINS,
    MAX_PATH,
    MAX_PROP_KEY,
    MAX_PROP_VALUE,
    MAX_PROPS,
    MAX_TARGET,
    MAX_URL_BYTES,
    MAX_USER_AGENT,
)


def _inside(character_class: str) -> str:
    """What lies between the brackets of a one-class pattern (``[\\x00-\\x1f]``)."""
    if not (character_class.startswith("[") and character_class.endswith("]")):
        raise ValueError(f"not one character class: {character_class!r}")
    inner = character_class[1:-1]
    if inner.startswith("^") or "[" in inner or "]" in inner.replace("\\]", ""):
        raise ValueError(f"not one plain character class: {character_class!r}")
    return inner


_CONTROL = _inside(CONTROL_CHARACTERS)
# One character that the domain lets through in stored text.
TEXT_CHARACTER = f"[^{_CONTROL}]"
# Text without control characters, any length (the length is stated by maxLength).
PLAIN_TEXT = f"^{TEXT_CHARACTER}*$"


def _any_case(word: str) -> str:
    """``word`` in any case, for an ECMA-262 pattern (which has no case-blind flag)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_WEB = f"{_any_case('http')}[sS]?://"
# A path (from "/") or a full http(s) URL, which the domain reduces to its path.
PATH_PATTERN = f"^(?:/|{_WEB}){TEXT_CHARACTER}*$"
# A project name: some text that is not only spaces (names are trimmed).
NAME_PATTERN = f"^{TEXT_CHARACTER}*[^\\s{_CONTROL}]{TEXT_CHARACTER}*$"
# scheme://host[:port], the host a DNS name or an IP address.
ORIGIN_PATTERN = f"^{_WEB}(?:[A-Za-z0-9._-]+|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{{1,5}})?/?$"
RATE_LIMIT_PATTERN = (
    "^\\s*[0-9]{1,9}\\s*/\\s*(?:"
    + "|".join(_any_case(unit) for unit in sorted(RATE_UNITS, key=len, reverse=True))
    + ")\\s*$"
)
_DIMENSION_NAMES = "|".join(DIMENSIONS)
FILTER_PATTERN = (
    f"^(?:{_DIMENSION_NAMES})"
    f"(?:(?:==|!=){TEXT_CHARACTER}{{0,{MAX_FILTER_VALUE}}}"
    f"|~{TEXT_CHARACTER}{{1,{MAX_FILTER_VALUE}}})$"
)
# Project and token ids as the domain makes them.
ID = f"^{ID_PATTERN}$"


def _text(
    max_length: int, *, pattern: str = PLAIN_TEXT, min_length: int = 0, **more: Any
) -> dict[str, Any]:
    keywords: dict[str, Any] = {"maxLength": max_length, "pattern": pattern, **more}
    if min_length:
        keywords["minLength"] = min_length
    return keywords


def _documented(keywords: dict[str, Any]) -> msgspec.Meta:
    return msgspec.Meta(extra_json_schema=keywords)


# ---- event fields ----------------------------------------------------------------------

_URL_BYTES = f"at most {MAX_URL_BYTES} bytes in UTF-8"
PATH = _text(
    MAX_PATH,
    pattern=PATH_PATTERN,
    min_length=1,
    description=f"A path from / or an http(s) URL (reduced to its path); {_URL_BYTES}.",
)
REFERRER = _text(
    MAX_PATH, description="The referring page's URL; anything but an http(s) URL is dropped."
)
TARGET = _text(
    MAX_TARGET, description=f"A clicked link, a download or a share's target; {_URL_BYTES}."
)
EVENT_NAME = _text(
    MAX_EVENT_NAME,
    min_length=1,
    description="A custom event's name; one of the five actions' names means that action.",
)
PROP_KEY = _text(MAX_PROP_KEY, min_length=1)
PROP_VALUE = _text(MAX_PROP_VALUE, description="Numbers and booleans are stored as text.")
PROPS = {"maxProperties": MAX_PROPS}
USER_AGENT = _text(MAX_USER_AGENT)
SCREEN_WIDTH = {
    "minimum": 0,
    "maximum": MAX_SCREEN_WIDTH,
    "description": "CSS pixels; 0 when unknown. Never stored: it gives the device class.",
}
VISITOR_IP = {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
EVENTS = {"minItems": 1, "maxItems": MAX_BATCH}

Path = Annotated[str, _documented(PATH)]
Referrer = Annotated[str, _documented(REFERRER)]
Target = Annotated[str, _documented(TARGET)]
PropKey = Annotated[str, _documented(PROP_KEY)]
EventName = Annotated[str, _documented(EVENT_NAME)]
PropText = Annotated[str, _documented(PROP_VALUE)]
Props = Annotated[dict[PropKey, PropText | int | float | bool], _documented(PROPS)]
UserAgent = Annotated[str, _documented(USER_AGENT)]
ScreenWidth = Annotated[int, _documented(SCREEN_WIDTH)]
VisitorIp = Annotated[str, _documented(VISITOR_IP)]

# ---- project fields --------------------------------------------------------------------

NAME = _text(MAX_NAME, pattern=NAME_PATTERN, min_length=1)
RATE_LIMIT = {
    "pattern": RATE_LIMIT_PATTERN,
    "description": "N/UNIT, e.g. 1000/minute; units: second, minute, hour, day (or s, m, h, d).",
}
ORIGIN = _text(MAX_PATH, pattern=ORIGIN_PATTERN)
ORIGINS = {"maxItems": MAX_ORIGINS}

Name = Annotated[str, _documented(NAME)]
RateLimitText = Annotated[str, _documented(RATE_LIMIT)]
Origin = Annotated[str, _documented(ORIGIN)]

# ---- goal fields -----------------------------------------------------------------------

GOAL_PATTERN_PATTERN = f"^/{TEXT_CHARACTER}*$"
GOAL_PAGE = _text(
    MAX_PATTERN,
    pattern=GOAL_PATTERN_PATTERN,
    min_length=1,
    description="A path pattern: * any characters but /, ** any characters.",
)
GOAL_EVENT = _text(
    MAX_GOAL_EVENT, min_length=1, description="A custom event's name (not a built-in action's)."
)
GOAL_NAME = _text(MAX_GOAL_NAME, min_length=1, description="Unique in the project.")
GOAL_DEPTH = {"minimum": 1, "maximum": 100, "description": "Percent: a scroll goal's depth."}

GoalPage = Annotated[str, _documented(GOAL_PAGE)]
GoalEvent = Annotated[str, _documented(GOAL_EVENT)]
GoalName = Annotated[str, _documented(GOAL_NAME)]
GoalDepth = Annotated[int, _documented(GOAL_DEPTH)]

# ---- funnel fields ---------------------------------------------------------------------

FUNNEL_STEPS = {
    "minItems": MIN_STEPS,
    "maxItems": MAX_STEPS,
    "description": "In order: each a page pattern or a custom event's name.",
}
FUNNEL_NAME = _text(MAX_FUNNEL_NAME, min_length=1, description="Unique in the project.")
FunnelName = Annotated[str, _documented(FUNNEL_NAME)]

# ---- query and path parameters (Litestar's ``schema_extra``) ---------------------------

PERIOD = {"enum": list(PERIODS)}
LIMIT = {"minimum": 1, "maximum": MAX_TOP}
FILTERS = {"maxItems": MAX_FILTERS, "items": {"type": "string", "pattern": FILTER_PATTERN}}
DIMENSION = {"enum": list(DIMENSIONS)}
MOMENT = {"format": "date-time"}
