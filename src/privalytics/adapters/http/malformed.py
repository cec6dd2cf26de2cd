"""Bodies that do not decode into their wire schema, explained in our own words.

msgspec decides on the hot path whether a body fits; when it does not, this module says
why, from the body and the schema alone (:mod:`.shapes`), never from msgspec's exception
type or text. So an answer reads the same whatever msgspec release is
installed, and names the event and the field it found wrong.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, TypeVar

import msgspec

from privalytics.adapters.http.shapes import NotJson, Problem, first_problem, kind_of, untyped
from privalytics.domain.models import Action

T = TypeVar("T")

# What decoding untrusted bytes may raise. Deliberately broad (msgspec's errors and
# UnicodeDecodeError are ValueErrors; deep nesting is a RecursionError): which one a
# release raises for which mistake has changed before, and the message does not rest on it.
UNDECODABLE = (ValueError, RecursionError)
# Deeper than this is refused as too deeply nested, before the standard library's parser
# (which recurses once per level) reads it; no wire schema nests more than a few levels.
MAX_DEPTH = 100

# Both linear in the body's length, whatever a client sends (a string pattern that allows
# escapes inside backtracks quadratically on a run of escaped quotes).
_ESCAPED = re.compile(rb"\\.", re.DOTALL)
_STRINGS = re.compile(rb'"[^"]*"')
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_ACTIONS = ", ".join(action.value for action in Action)


class MalformedBody(Exception):
    """A request body that does not decode into its wire schema."""

    def __init__(
        self, message: str, *, code: str, field: str | None = None, index: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.index = index


def decode_body(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    """``body`` decoded by ``decoder``; anything undecodable is a :class:`MalformedBody`."""
    try:
        return decoder.decode(body)
    except UNDECODABLE:
        raise explain(body, decoder.type) from None


def explain(body: bytes, target: Any) -> MalformedBody:
    """Why ``body`` does not decode into ``target``: a syntax problem (``invalid_json``)
    or the first value that does not fit (``invalid_input``, naming event and field)."""
    if not body.strip():
        return _syntax("the body is empty; it must be a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _syntax("the body is not valid UTF-8")
    if _depth(body) > MAX_DEPTH:
        return _syntax("the body's JSON is nested too deeply")
    if _unpaired_surrogate(body):
        return _syntax(
            "a string has an unpaired UTF-16 surrogate escape (\\ud800 to \\udfff), "
            "which is not Unicode text"
        )
    try:
        value = untyped(text)
    except json.JSONDecodeError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})"
        return _syntax(f"the body is not valid JSON{where}; it must be a JSON object")
    except NotJson as exc:
        return _syntax(f"the body is not valid JSON: {exc}")
    except ValueError:  # valid JSON, but an integer of more digits than Python converts
        return _syntax("a number has more digits than can be read")
    except RecursionError:  # not expected below MAX_DEPTH, even from a deep call stack
        return _syntax("the body's JSON is nested too deeply")
    problem = first_problem(value, target)
    if problem is None:
        return MalformedBody("the body does not have the expected shape", code="invalid_input")
    return _shape(problem, value)


def _syntax(message: str) -> MalformedBody:
    return MalformedBody(message, code="invalid_json")


def _shape(problem: Problem, value: Any) -> MalformedBody:
    path = problem.path
    if not path:
        return MalformedBody(
            f"the body must be a JSON object, not {kind_of(value)}", code="invalid_input"
        )
    index: int | None = None
    field: str | None = None
    if len(path) >= 2 and path[0] == "events" and isinstance(path[1], int):
        index = path[1]
        field = str(path[2]) if len(path) > 2 else None
    elif isinstance(path[0], str):
        field = path[0]
    message = problem.message
    if field == "action" and message.startswith("must be one of"):
        message = f"must be one of {_ACTIONS}"
    prefix = f"event {index}: " if index is not None else ""
    inside = path[2:] if index is not None else path
    named = "`" + ".".join(str(step) for step in inside) + "` " if inside else ""
    return MalformedBody(
        f"{prefix}{named}{message} - at `{problem.where}`",
        code="invalid_input",
        field=field,
        index=index,
    )


def _depth(body: bytes) -> int:
    """How deeply arrays and objects nest in ``body`` (brackets inside strings aside):
    escapes out first, then what lies between quotes, then count."""
    brackets = _STRINGS.sub(b"", _ESCAPED.sub(b"", body)).translate(None, _BRACKETS)
    steps = (1 if byte in b"[{" else -1 for byte in brackets)
    return max(accumulate(steps, initial=0))


def _unpaired_surrogate(body: bytes) -> bool:
    """Whether a JSON text escapes half a UTF-16 surrogate pair (``"\\ud800"``), which
    is not Unicode text."""
    high_end = -1  # where the last unpaired high surrogate escape ended
    for escape in _ESCAPE.finditer(body):
        digits = escape.group(1)
        code = int(digits, 16) if digits else -1
        if high_end >= 0:
            if escape.start() != high_end or not 0xDC00 <= code <= 0xDFFF:
                return True
            high_end = -1
        elif 0xD800 <= code <= 0xDBFF:
            high_end = escape.end()
        elif 0xDC00 <= code <= 0xDFFF:
            return True
    return high_end >= 0
