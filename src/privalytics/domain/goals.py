"""Goals: what a site counts as a conversion, and which events complete one.

A goal belongs to one project and is one of three kinds:

- a **page** goal: a page view whose path matches a pattern, where ``*`` stands for any
  characters but ``/`` (one path segment or part of one) and ``**`` for any characters
  (``/blog/*`` matches ``/blog/a`` but not ``/blog/a/b``; ``/blog/**`` matches both);
  every other character stands for itself, and the pattern matches the whole path;
- an **event** goal: a custom event of a given name (exactly, as names are stored);
- a **scroll** goal: a scroll event on a page matching a pattern (as above) whose depth
  (the event's value, in percent) is at least the goal's depth, 1 to 100.

An event *converts* a goal when it is such an event; one event may convert several goals
(a page view of ``/blog/a`` converts both ``/blog/*`` and ``/blog/**``). A goal is shown,
filtered and broken down by its display ``name``, unique within its project (given, or
derived from the definition: ``Visit /pricing``, ``Signup``, ``Scroll 75% on /blog/**``).

How goals become a dimension. Every other dimension is known to the domain alone; a
goal's values depend on the project's goals, which live in a store. So the table of
dimensions (:mod:`privalytics.domain.dimensions`) lists ``goal`` with scope
:attr:`~privalytics.domain.dimensions.Scope.GOAL` and no goals (it converts nothing), so
that ``goal`` parses and is named like every dimension; the reporting use case then
*resolves* it against the project's goals: :func:`goal_dimension` makes the dimension of
a given tuple of goals (its ``convert`` names the goals an event converts), and a filter
on ``goal`` carries the goals it was resolved with
(:attr:`privalytics.domain.filters.Filter.goals`). A resolved dimension or filter is
plain data, so every store computes it from the events alike, with no look-up of its own.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec

from privalytics.domain.custom import built_in
from privalytics.domain.dimensions import DIMENSIONS, Dimension
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, Event
from privalytics.domain.text import first_unsafe, has_surrogate

# At most this many goals per project: each is tested against every event of a range
# on every goal read, so the bound keeps those reads proportional to the events.
MAX_GOALS = 100
MAX_GOAL_NAME = 120
# A pattern is compared with stored paths, which are at most this long (validation.py).
MAX_PATTERN = 2048
# Custom event names are at most this long (custom.py).
MAX_GOAL_EVENT = 120


class GoalKind(enum.StrEnum):
    PAGE = "page"
    EVENT = "event"
    SCROLL = "scroll"


class Goal(msgspec.Struct, frozen=True, kw_only=True):
    """A project's goal. ``page``: the path pattern of a page or scroll goal; ``event``:
    the custom event name of an event goal; ``depth``: a scroll goal's least depth."""

    id: str
    project_id: str
    name: str
    kind: GoalKind
    page: str | None = None
    event: str | None = None
    depth: int | None = None
    created_at: datetime


class GoalSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A goal as someone asks for it, before it is checked: exactly one of ``page`` (with
    ``depth`` for a scroll goal) and ``event``; ``name`` None for the derived one."""

    page: str | None = None
    event: str | None = None
    depth: int | None = None
    name: str | None = None


def _text(value: str, what: str, limit: int, field: str) -> str:
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters", field=field)
    refused = first_unsafe(value)
    if refused:
        raise InvalidInput(f"{what} {refused}", field=field)
    if has_surrogate(value):
        raise InvalidInput(f"{what} is not valid Unicode (a lone surrogate)", field=field)
    return value


def _pattern(text: str) -> str:
    cleaned = text.strip()
    if not cleaned.startswith("/"):
        raise InvalidInput("a page pattern starts with / (e.g. /pricing or /blog/**)", field="page")
    return _text(cleaned, "a page pattern", MAX_PATTERN, "page")


def check_goal(spec: GoalSpec) -> tuple[GoalKind, GoalSpec]:
    """The goal's kind and its definition as stored (trimmed, its name derived when none
    was given); InvalidInput naming what is wrong."""
    if (spec.page is None) == (spec.event is None):
        raise InvalidInput("give either page (a page or scroll goal) or event", field="page")
    if spec.event is not None:
        if spec.depth is not None:
            raise InvalidInput("only a scroll goal (with page) has a depth", field="depth")
        event = spec.event.strip()
        if not event:
            raise InvalidInput("an event name must not be empty", field="event")
        event = _text(event, "an event name", MAX_GOAL_EVENT, "event")
        if built_in(event) is not None:
            # Sent under this name, an event is stored as that action, never as a custom
            # event: the goal could never convert.
            raise InvalidInput(
                f"{event!r} names a built-in action ({built_in(event)}), never a custom "
                "event; a page or scroll goal counts those",
                field="event",
            )
        kind, page, derived = GoalKind.EVENT, None, event
    else:
        assert spec.page is not None
        page = _pattern(spec.page)
        event = None
        if spec.depth is None:
            kind, derived = GoalKind.PAGE, f"Visit {page}"
        else:
            if not 1 <= spec.depth <= 100:
                raise InvalidInput("a scroll depth is 1 to 100 (percent)", field="depth")
            kind, derived = GoalKind.SCROLL, f"Scroll {spec.depth}% on {page}"
    name = derived if spec.name is None else spec.name.strip()
    if not name:
        raise InvalidInput("a goal's name must not be empty", field="name")
    if spec.name is None and len(name) > MAX_GOAL_NAME:
        # A derived name from a long pattern: shortened rather than refused.
        name = name[: MAX_GOAL_NAME - 1] + "…"
    name = _text(name, "a goal's name", MAX_GOAL_NAME, "name")
    return kind, GoalSpec(page=page, event=event, depth=spec.depth, name=name)


@functools.lru_cache(maxsize=1024)
def _parts(pattern: str) -> tuple[str, ...]:
    """A pattern as literal, wildcard, literal, ..., literal (literals may be empty)."""
    return tuple(re.split(r"(\*\*|\*)", pattern))


def matches_pattern(pattern: str, path: str) -> bool:
    """Whether ``path`` matches the page pattern ``pattern`` as a whole.

    Not a regular expression: ``.*a.*a.*a`` backtracks exponentially on a long path that
    almost matches, and a pattern is any text an operator types. This keeps the set of
    path positions each part of the pattern can end at, so it takes at most the path's
    length times the number of parts, whatever the pattern."""
    parts = _parts(pattern)
    if len(parts) == 1:
        return path == pattern
    if not path.startswith(parts[0]):
        return False
    size = len(path)
    positions = [len(parts[0])]
    for index in range(1, len(parts), 2):
        wildcard, literal = parts[index], parts[index + 1]
        if wildcard == "**":
            reach: Sequence[int] = range(positions[0], size + 1)
        else:
            # Every position up to the next "/" after a reachable one, merged in one sweep.
            spans: list[int] = []
            covered = -1
            for start in positions:
                stop = path.find("/", start)
                stop = size if stop < 0 else stop
                spans.extend(range(max(start, covered + 1), stop + 1))
                covered = max(covered, stop)
            reach = spans
        if index + 2 == len(parts):
            # The last literal ends the path.
            end = size - len(literal)
            return path.endswith(literal) and end >= reach[0] and end in set(reach)
        ends = [at + len(literal) for at in reach if path.startswith(literal, at)]
        if not ends:
            return False
        positions = ends
    raise AssertionError("a pattern's parts end with a literal")  # pragma: no cover


def converts(goal: Goal, event: Event) -> bool:
    """Whether ``event`` completes ``goal``."""
    if goal.kind is GoalKind.EVENT:
        return event.action is Action.CUSTOM and event.name == goal.event
    assert goal.page is not None
    if goal.kind is GoalKind.PAGE:
        if event.action is not Action.VISIT:
            return False
    elif (
        event.action is not Action.SCROLL
        or event.value is None
        or goal.depth is None
        or not event.value >= goal.depth
    ):
        return False
    return matches_pattern(goal.page, event.path)


def _converter(goals: tuple[Goal, ...]) -> Callable[[Event], tuple[str, ...]]:
    def convert(event: Event) -> tuple[str, ...]:
        return tuple(goal.name for goal in goals if converts(goal, event))

    return convert


# Made once per tuple of goals: a request resolves its dimension and filters with one.
@functools.lru_cache(maxsize=256)
def goal_dimension(goals: tuple[Goal, ...]) -> Dimension:
    """The ``goal`` dimension resolved against ``goals`` (see the module's docstring)."""
    convert = _converter(goals)

    def first(event: Event) -> str | None:
        names = convert(event)
        return names[0] if names else None

    placeholder = DIMENSIONS["goal"]
    return Dimension(
        name=placeholder.name,
        label=placeholder.label,
        panel=placeholder.panel,
        scope=placeholder.scope,
        read=first,
        convert=convert,
        goals=goals,
    )
