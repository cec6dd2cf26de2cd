"""Which characters stored text may not hold, and how a refusal names them: one rule for
every field of an event (validation.py) and for a custom event's name and properties
(custom.py)."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Stored text is shown in dashboards, terminals and exported files: beyond the C0 controls
# it must hold no C1 control (U+0080-009F, e.g. a terminal's CSI), no line or paragraph
# separator (U+2028/2029, line breaks to JavaScript and some viewers) and no bidirectional
# override or isolate (U+202A-202E, U+2066-2069, which reorder what is shown after them).
# Refused, not stripped: a stored value is then exactly what was sent.
REFUSED_CHARACTERS = "".join(
    map(chr, [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F)])
) + "".join(map(chr, range(0x2066, 0x206A)))
# The same characters as one character class, written with escapes only, so that it reads
# the same to Python and to ECMA-262 (the HTTP adapter publishes it in its OpenAPI schema).
REFUSED_CLASS = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
_UNSAFE = re.compile(REFUSED_CLASS)
# A lone surrogate (e.g. from a JSON "\ud800") is not Unicode text: UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def unsafe_reason(character: str) -> str:
    code = ord(character)
    if code < 0xA0:
        kind = "a control character"
    elif code in (0x2028, 0x2029):
        kind = "a line or paragraph separator"
    else:
        kind = "a bidirectional formatting character"
    return f"contains {kind} (U+{code:04X}), which is refused"


def has_unsafe_characters(value: str) -> bool:
    """Whether ``value`` holds a character that stored text must not (see
    :data:`REFUSED_CHARACTERS`)."""
    return (_CONTROL if value.isascii() else _UNSAFE).search(value) is not None


def first_unsafe(value: str) -> str | None:
    """Why ``value`` may not be stored (its first refused character, named), or None."""
    found = (_CONTROL if value.isascii() else _UNSAFE).search(value)
    return unsafe_reason(found.group()) if found else None


def has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate, which UTF-8 cannot encode."""
    return not value.isascii() and _SURROGATE.search(value) is not None
