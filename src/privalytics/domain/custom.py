"""Custom events: what a site names an event ("Signup"), its properties and its revenue.

A custom event is any event name besides the five built-in actions (``visit``, ``click``,
``scroll``, ``download``, ``share``, and what other trackers call them: see
:mod:`privalytics.domain.trackers`), which keep their meaning whoever sends them. Its
properties (at most :data:`MAX_PROPS`) are text keys and values; numbers and booleans are
kept as the text JSON writes for them. Umami's nested ``data`` becomes dotted keys
(:func:`flatten`). A revenue is an amount and the ISO 4217 code of its currency.

Every rule here refuses with an :class:`InvalidInput` naming the limit, so that a sender
sees what to change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action
from privalytics.domain.text import first_unsafe, has_surrogate

MAX_EVENT_NAME = 120
MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000
# Nested Umami data deeper than this is refused (a key would hardly stay readable).
MAX_DEPTH = 5
# Revenue amounts beyond this are a mistake (or an attack on sums), not a sale.
MAX_AMOUNT = 1e12

_DECIMAL = re.compile(r"\s*-?[0-9]{1,13}(\.[0-9]{1,6})?\s*")
_BUILT_IN: Mapping[str, Action] = {
    action.value: action for action in Action if action is not Action.CUSTOM
}

# Active ISO 4217 currency codes (and a few in wide use, like XAU for gold, left out:
# revenue is money paid).
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD
    JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
    THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG ZWL""".split()  # noqa: SIM905
)


def _text(value: str, what: str, limit: int, field: str, index: int | None) -> str:
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters", field=field, index=index)
    refused = first_unsafe(value)
    if refused:
        raise InvalidInput(f"{what} {refused}", field=field, index=index)
    if has_surrogate(value):
        raise InvalidInput(
            f"{what} is not valid Unicode (a lone surrogate)", field=field, index=index
        )
    return value


def built_in(name: str) -> Action | None:
    """The built-in action an event name means (``visit``, ``click``...), if any."""
    return _BUILT_IN.get(name.strip().lower())


def clean_event_name(name: str, index: int | None = None) -> str:
    """A custom event's name as stored: without surrounding spaces, 1 to
    :data:`MAX_EVENT_NAME` characters, no control characters."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("an event name must not be empty", field="name", index=index)
    return _text(cleaned, "an event name", MAX_EVENT_NAME, "name", index).strip()


def prop_text(value: object) -> str | None:
    """A property value as stored: text as given, a boolean as ``true``/``false``, a
    number as JSON writes it (a whole float without its ``.0``); None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    return None


def clean_props(props: Mapping[str, object], index: int | None = None) -> dict[str, str]:
    """Properties as stored: at most :data:`MAX_PROPS`, keys 1 to :data:`MAX_PROP_KEY`
    characters, values text, numbers or booleans of at most :data:`MAX_PROP_VALUE`
    characters as text."""
    if len(props) > MAX_PROPS:
        raise InvalidInput(
            f"at most {MAX_PROPS} properties (got {len(props)})", field="props", index=index
        )
    cleaned: dict[str, str] = {}
    for key, value in props.items():
        if not key:
            raise InvalidInput("property names must not be empty", field="props", index=index)
        _text(key, "a property name", MAX_PROP_KEY, "props", index)
        text = prop_text(value)
        if text is None:
            raise InvalidInput(
                "property values must be text, finite numbers or booleans",
                field="props",
                index=index,
            )
        cleaned[key] = _text(text, "a property value", MAX_PROP_VALUE, "props", index)
    return cleaned


def flatten(data: Mapping[str, object], index: int | None = None) -> dict[str, object]:
    """Nested properties (Umami's ``data``) as dotted keys: ``{"a": {"b": 1}}`` is
    ``{"a.b": 1}``; a list's items are numbered (``{"a": [1]}`` is ``{"a.0": 1}``); null
    values are left out. The result is checked by :func:`clean_props`."""
    flat: dict[str, object] = {}

    def walk(prefix: str, value: object, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise InvalidInput(
                f"properties nest at most {MAX_DEPTH} levels deep", field="data", index=index
            )
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item, depth + 1)
        elif isinstance(value, list):
            for number, item in enumerate(value):
                walk(f"{prefix}.{number}" if prefix else str(number), item, depth + 1)
        elif value is not None:
            flat[prefix] = value
        if len(flat) > MAX_PROPS:
            raise InvalidInput(f"at most {MAX_PROPS} properties", field="data", index=index)

    walk("", data, 0)
    return flat


def clean_currency(code: str, index: int | None = None) -> str:
    """An ISO 4217 currency code, in capitals."""
    upper = code.strip().upper()
    if upper not in CURRENCIES:
        raise InvalidInput(
            "a revenue's currency must be an ISO 4217 code such as EUR or USD",
            field="currency",
            index=index,
        )
    return upper


def revenue_amount(raw: object, index: int | None = None) -> float:
    """A revenue amount from a number or a decimal text ("10.29")."""
    number = isinstance(raw, int | float) and not isinstance(raw, bool)
    decimal = isinstance(raw, str) and _DECIMAL.fullmatch(raw) is not None
    amount = float(raw) if number or decimal else math.nan  # type: ignore[arg-type]
    if not math.isfinite(amount) or abs(amount) > MAX_AMOUNT:
        raise InvalidInput(
            f"a revenue amount must be a number of at most {int(MAX_AMOUNT):,}",
            field="value",
            index=index,
        )
    return amount
