"""Why a decoded JSON value does not fit a msgspec type, in privalytics' own words.

msgspec decides *whether* a body fits its wire schema (fast, on the hot path). When it
does not, the answer a person reads is written here, from the value and the type's
description (:func:`msgspec.inspect.type_info`), never from msgspec's exception type or
text: those change between releases (0.23 turned invalid UTF-8 from ``UnicodeDecodeError``
into ``DecodeError``), and what a client reads must not change with them.

:func:`first_problem` walks a value the way a decoder would and returns the first place
that does not fit, with a message and the path to it (``["events", 3, "value"]``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import msgspec.inspect as mi

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """Where a value does not fit (``path``) and what is wrong there (``message``)."""

    path: Path
    message: str

    @property
    def where(self) -> str:
        """The path as JSON-path text: ``$.events[3].value``; ``$`` for the whole value."""
        text = "$"
        for step in self.path:
            text += f"[{step}]" if isinstance(step, int) else f".{step}"
        return text


def first_problem(value: Any, target: Any) -> Problem | None:
    """The first place where ``value`` (decoded untyped JSON) does not fit ``target``
    (a type msgspec decodes into), or None when nothing is found wrong. It walks no deeper
    than ``target``'s own types, so a deeply nested value costs no deeper recursion."""
    return _check(value, mi.type_info(target), ())


def _bare(info: mi.Type) -> mi.Type:
    """``info`` without the documentation a wire type may carry (``Annotated`` with
    ``msgspec.Meta``, :mod:`.constraints`): what a value must be lies beneath it."""
    while isinstance(info, mi.Metadata):
        info = info.type
    return info


def describe(info: mi.Type) -> str:
    """What a value of ``info`` is, for a person: "a number or null"."""
    info = _bare(info)
    if isinstance(info, mi.UnionType):
        return " or ".join(describe(member) for member in info.types)
    if isinstance(info, mi.EnumType):
        return "one of " + ", ".join(str(member.value) for member in info.cls)
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(str(member) for member in info.values)
    for kind, text in _NAMES:
        if isinstance(info, kind):
            return text
    return "a value of another kind"


_NAMES: tuple[tuple[type[mi.Type], str], ...] = (
    (mi.NoneType, "null"),
    (mi.BoolType, "true or false"),
    (mi.IntType, "a whole number"),
    (mi.FloatType, "a number"),
    (mi.StrType, "a string"),
    (mi.DateTimeType, "a date and time (RFC 3339)"),
    (mi.DateType, "a date (YYYY-MM-DD)"),
    (mi.TimeType, "a time of day"),
    (mi.ListType, "an array"),
    (mi.DictType, "an object"),
    (mi.StructType, "an object"),
)


def kind_of(value: Any) -> str:
    """The JSON kind of a decoded value, for "..., not a string"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _check(value: Any, info: mi.Type, path: Path) -> Problem | None:
    info = _bare(info)
    if isinstance(info, mi.AnyType):
        return None
    if isinstance(info, mi.UnionType):
        return _union(value, info, path)
    checker = _CHECKERS.get(type(info))
    if checker is None:
        return None  # a kind the wire schemas do not use: msgspec's verdict stands alone
    return checker(value, info, path)


def _union(value: Any, info: mi.UnionType, path: Path) -> Problem | None:
    problems = [_check(value, member, path) for member in info.types]
    if any(problem is None for problem in problems):
        return None
    # A value of the right kind for one member is wrong inside it: say what, there.
    fitting = [
        problem
        for member, problem in zip(info.types, problems, strict=True)
        if problem is not None and _same_kind(value, member)
    ]
    if len(fitting) == 1:
        return fitting[0]
    return _wrong(value, info, path)


def _same_kind(value: Any, info: mi.Type) -> bool:
    """Whether ``value`` is of the JSON kind that ``info`` reads (a string for a
    timestamp, an object for a struct), so that what is wrong lies inside it."""
    info = _bare(info)
    if isinstance(info, mi.StructType | mi.DictType):
        return isinstance(value, dict)
    if isinstance(info, mi.ListType):
        return isinstance(value, list)
    if isinstance(info, mi.StrType | mi.DateTimeType | mi.DateType | mi.TimeType):
        return isinstance(value, str)
    if isinstance(info, mi.IntType | mi.FloatType):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def _wrong(value: Any, info: mi.Type, path: Path) -> Problem:
    return Problem(path, f"must be {describe(info)}, not {kind_of(value)}")


def _struct(value: Any, info: mi.Type, path: Path) -> Problem | None:
    assert isinstance(info, mi.StructType)
    if not isinstance(value, dict):
        return _wrong(value, info, path)
    known = {field.encode_name: field for field in info.fields}
    if info.forbid_unknown_fields:
        for key in value:
            if key not in known:
                return Problem((*path, key), "is not a known field")
    for name, field in known.items():
        if name not in value:
            if field.required:
                return Problem((*path, name), "is required")
            continue
        if (problem := _check(value[name], field.type, (*path, name))) is not None:
            return problem
    return None


def _list(value: Any, info: mi.Type, path: Path) -> Problem | None:
    assert isinstance(info, mi.ListType)
    if not isinstance(value, list):
        return _wrong(value, info, path)
    if (size := _size(len(value), info.min_length, info.max_length, "items")) is not None:
        return Problem(path, size)
    for index, item in enumerate(value):
        if (problem := _check(item, info.item_type, (*path, index))) is not None:
            return problem
    return None


def _dict(value: Any, info: mi.Type, path: Path) -> Problem | None:
    assert isinstance(info, mi.DictType)
    if not isinstance(value, dict):
        return _wrong(value, info, path)
    if (size := _size(len(value), info.min_length, info.max_length, "keys")) is not None:
        return Problem(path, size)
    for key, item in value.items():
        if (problem := _check(key, info.key_type, (*path, key))) is not None:
            return Problem(problem.path, f"the key {problem.message}")
        if (problem := _check(item, info.value_type, (*path, key))) is not None:
            return problem
    return None


def _size(count: int, least: int | None, most: int | None, unit: str) -> str | None:
    if least is not None and count < least:
        return f"must have at least {least} {unit}"
    if most is not None and count > most:
        return f"must have at most {most} {unit}"
    return None


def _string(value: Any, info: mi.Type, path: Path) -> Problem | None:
    assert isinstance(info, mi.StrType)
    if not isinstance(value, str):
        return _wrong(value, info, path)
    size = _size(len(value), info.min_length, info.max_length, "characters")
    if size is not None:
        return Problem(path, size)
    if info.pattern is not None and re.search(info.pattern, value) is None:
        return Problem(path, "is not in the expected form")
    return None


def _number(value: Any, info: mi.Type, path: Path) -> Problem | None:
    assert isinstance(info, mi.IntType | mi.FloatType)
    whole = isinstance(info, mi.IntType)
    number = value
    if isinstance(number, bool) or not isinstance(number, int | float):
        return _wrong(value, info, path)
    if whole and not isinstance(number, int):
        return _wrong(value, info, path)
    if isinstance(number, float) and not math.isfinite(number):
        return Problem(path, "must be a finite number")
    if not whole and abs(number) > sys.float_info.max:
        return Problem(path, "is out of range")
    for bound, holds, words in (
        (info.ge, number >= (info.ge or 0), "at least"),
        (info.gt, number > (info.gt or 0), "more than"),
        (info.le, number <= (info.le or 0), "at most"),
        (info.lt, number < (info.lt or 0), "less than"),
    ):
        if bound is not None and not holds:
            return Problem(path, f"must be {words} {bound}")
    return None


def _boolean(value: Any, info: mi.Type, path: Path) -> Problem | None:
    return None if isinstance(value, bool) else _wrong(value, info, path)


def _none(value: Any, info: mi.Type, path: Path) -> Problem | None:
    return None if value is None else _wrong(value, info, path)


def _choice(value: Any, info: mi.Type, path: Path) -> Problem | None:
    assert isinstance(info, mi.EnumType | mi.LiteralType)
    allowed = (
        [member.value for member in info.cls]
        if isinstance(info, mi.EnumType)
        else list(info.values)
    )
    if value in allowed and not isinstance(value, bool):
        return None
    return Problem(path, f"must be {describe(info)}")


def _moment(value: Any, info: mi.Type, path: Path) -> Problem | None:
    if not isinstance(value, str):
        return _wrong(value, info, path)
    if isinstance(info, mi.DateTimeType):
        parsed = _parse(datetime.fromisoformat, value)
        if not isinstance(parsed, datetime):
            return Problem(path, "must be a date and time (RFC 3339)")
        if info.tz is True and parsed.tzinfo is None:
            return Problem(path, "must have a UTC offset (2024-05-01T12:00:00Z)")
        if info.tz is False and parsed.tzinfo is not None:
            return Problem(path, "must not have a UTC offset")
        return None
    parse = date.fromisoformat if isinstance(info, mi.DateType) else time.fromisoformat
    if _parse(parse, value) is None:
        return _wrong(value, info, path)
    return None


def _parse(parse: Callable[[str], Any], text: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        return None


_CHECKERS: dict[type[mi.Type], Callable[[Any, Any, Path], Problem | None]] = {
    mi.StructType: _struct,
    mi.ListType: _list,
    mi.DictType: _dict,
    mi.StrType: _string,
    mi.IntType: _number,
    mi.FloatType: _number,
    mi.BoolType: _boolean,
    mi.NoneType: _none,
    mi.EnumType: _choice,
    mi.LiteralType: _choice,
    mi.DateTimeType: _moment,
    mi.DateType: _moment,
    mi.TimeType: _moment,
}


class NotJson(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: the standard library reads them, JSON has none."""


def untyped(text: str) -> Any:
    """``text`` parsed as plain JSON by the standard library (numbers of any size, for
    :func:`first_problem` to name); raises :class:`json.JSONDecodeError` (with ``lineno``
    and ``colno``) if it is not JSON, :class:`NotJson` for ``NaN`` and ``Infinity``."""
    return json.loads(text, parse_constant=_constant)


def _constant(name: str) -> Any:
    raise NotJson(f"{name} is not a JSON number")
