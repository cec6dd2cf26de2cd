"""Filters: which part of the traffic a report is about.

A filter is written ``DIMENSION==VALUE`` (is), ``DIMENSION!=VALUE`` (is not) or
``DIMENSION~TEXT`` (contains, ignoring case). Several filters all apply (AND). An empty
value names a missing one: ``source==`` is the traffic with no source (direct),
``source!=`` the traffic with one; ``~`` needs some text.

What a filter selects depends on its dimension's scope (see
:mod:`privalytics.domain.dimensions`):

- a *session* dimension (source, campaign, browser, country, entry page...) selects whole
  sessions, by the value the session has;
- the *event* dimension ``page`` selects page views: the page views counted are the
  matching ones, the visitors those who made one, the sessions (and their bounce rate and
  duration) those that hold one;
- the *custom* dimensions (``event``, ``prop:KEY``) select custom events, and ``goal``
  selects conversions (an event and a goal it completes, by the goal's name), the way
  ``page`` selects page views.

A fourth operator, "is one of" (:attr:`Op.ONE_OF`), has no text form: the domain makes it
(:mod:`privalytics.domain.anonymity` turns a filter on a city into the cities it may
select) and every store answers it like the others, through :meth:`Filter.matches`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

import msgspec

from privalytics.domain.dimensions import Dimension, Scope, dimension, dimension_names
from privalytics.domain.errors import InvalidInput
from privalytics.domain.goals import Goal, goal_dimension

MAX_FILTERS = 10
MAX_FILTER_VALUE = 2048


class Op(enum.StrEnum):
    IS = "=="
    IS_NOT = "!="
    CONTAINS = "~"
    # Made by the domain only (never parsed): the value is one of ``Filter.values``.
    ONE_OF = "in"


# The operators a filter's text can name.
WRITTEN_OPS = (Op.IS, Op.IS_NOT, Op.CONTAINS)


class Filter(msgspec.Struct, frozen=True, kw_only=True):
    dimension: str
    op: Op
    # "" names a missing value for IS and IS_NOT.
    value: str
    # ONE_OF: the values selected (None: a missing one); a set, as there may be thousands
    # (every city of a range) and each session asks it.
    values: frozenset[str | None] = frozenset()
    # A filter on ``goal``: the project's goals it was resolved with (see
    # :mod:`privalytics.domain.goals`); empty until then, when it selects nothing.
    goals: tuple[Goal, ...] = ()

    @property
    def scope(self) -> Scope:
        return self.of.scope

    @property
    def of(self) -> Dimension:
        """The dimension it tests."""
        found = dimension(self.dimension)
        assert found is not None, "filters are made of known dimensions"
        if found.scope is Scope.GOAL:
            return goal_dimension(self.goals)
        return found

    def matches(self, value: str | None) -> bool:
        """Whether a thing whose value in the dimension is ``value`` is selected."""
        wanted = self.value or None
        if self.op is Op.IS:
            return value == wanted
        if self.op is Op.IS_NOT:
            return value != wanted
        if self.op is Op.ONE_OF:
            return value in self.values
        return value is not None and self.value.casefold() in value.casefold()

    def __str__(self) -> str:
        if self.op is Op.ONE_OF:
            return f"{self.dimension} in ({len(self.values)} values)"
        return f"{self.dimension}{self.op.value}{self.value}"


# A dimension's name is a word (or ``prop:`` and a property name without ``=``, ``!`` or
# ``~``), so the first operator after it is the filter's.
_FILTER = re.compile(r"(prop:[^=!~]+|[a-z_]+)(==|!=|~)(.*)", re.DOTALL)
# No stored value holds a control character (ingestion refuses them), and PostgreSQL
# refuses a NUL in a query: such a value is a mistake to name, not a question to send on.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_filter(text: str) -> Filter:
    """A filter from its text; InvalidInput naming what is wrong."""
    found = _FILTER.fullmatch(text)
    if found is None:
        raise InvalidInput(
            "must be DIMENSION==VALUE, DIMENSION!=VALUE or DIMENSION~TEXT", field="filter"
        )
    name, op, value = found[1], Op(found[2]), found[3]
    if _CONTROL.search(name) or not _encodes(name):
        raise InvalidInput("its dimension is not valid text", field="filter")
    if dimension(name) is None:
        raise InvalidInput(
            f"names no dimension ({name[:40]}); the dimensions are {dimension_names()}",
            field="filter",
        )
    if len(value) > MAX_FILTER_VALUE:
        raise InvalidInput(
            f"its value is longer than {MAX_FILTER_VALUE} characters", field="filter"
        )
    if _CONTROL.search(value):
        raise InvalidInput("its value contains control characters", field="filter")
    if op is Op.CONTAINS and not value:
        raise InvalidInput("~ needs some text to look for", field="filter")
    # A lone surrogate is no text: nothing stored holds one, and no link can carry it.
    if not _encodes(value):
        raise InvalidInput("its value is not valid text", field="filter")
    return Filter(dimension=name, op=op, value=value)


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_filters(texts: Sequence[str]) -> tuple[Filter, ...]:
    """Every filter of a request, at most :data:`MAX_FILTERS`; the same filter given twice
    counts once."""
    if len(texts) > MAX_FILTERS:
        raise InvalidInput(f"at most {MAX_FILTERS} filters", field="filter")
    return tuple(dict.fromkeys(parse_filter(text) for text in texts))
