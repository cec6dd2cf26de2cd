"""Where visitors are, no finer than their city, and the k-anonymity of what is shown.

A :class:`Location` is all that geography keeps of a visitor's address: a country, a region
and a city, each optional. It has no field for anything finer (coordinates, postal code,
network, ASN, accuracy radius, time zone), so no adapter can hand one on by mistake: the
:class:`~privalytics.domain.ports.GeoLocator` port answers a ``Location`` and nothing else.

- ``country``: ISO 3166-1 alpha-2, upper case (``"DE"``).
- ``region``: the first-level subdivision. Its ISO 3166-2 code (``"DE-BE"``) when the
  database gives one (MaxMind's GeoLite2 and GeoIP2 do): a code is the same in every
  language and survives renames, and Plausible reports regions the same way. Otherwise its
  English name (``"Berlin"``; DB-IP's Lite databases carry no subdivision codes). A code is
  told from a name by its form: two letters, a hyphen, one to three letters or digits.
- ``city``: the English name (``"Berlin"``).

k-anonymity (:func:`merge_small`): in a breakdown by a fine dimension, a value that fewer
than ``min_visitors`` visitors share is too close to naming them ("the one visitor from
Smalltown"). Such rows are merged into one row, :data:`OTHER`, before any breakdown leaves
the domain: in the API, the dashboard and exports alike. It applies to
:data:`K_ANONYMOUS_DIMENSIONS` (regions and cities, as issue 13 asks). Countries are left
whole: each holds far more people than a city, and they are all that a fresh install
knows (the embedded table has nothing finer); merging them would hide most countries of a
small site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol, Self, TypeVar

import msgspec

from privalytics.domain.errors import InvalidInput

# The row that holds every value with fewer than the minimum number of visitors.
OTHER = "(other)"
# The dimensions whose breakdowns merge small values into OTHER.
K_ANONYMOUS_DIMENSIONS = frozenset({"region", "city"})
# The default of PRIVALYTICS_MIN_CELL_VISITORS.
DEFAULT_MIN_VISITORS = 5
# Longest region or city name kept (the longest city names in use are under 100).
MAX_PLACE = 100

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Location(msgspec.Struct, frozen=True, kw_only=True):
    """Where an address is, as far as geography may tell: nothing finer than the city."""

    country: str | None = None
    region: str | None = None
    city: str | None = None


# Nothing known: a private, reserved or malformed address, or one no table holds.
UNKNOWN = Location()


def location(
    *,
    country: object = None,
    subdivision: object = None,
    region: object = None,
    city: object = None,
) -> Location:
    """A :class:`Location` from what a database says, each part checked.

    ``country``: kept when it is two letters (A-Z, either case). ``subdivision``: the
    part of an ISO 3166-2 code after the country (``"BE"``), one to three letters or
    digits; with a country, the region is the whole code (``"DE-BE"``), else ``region``,
    the subdivision's name. Names (``region``, ``city``) lose control characters and
    surrounding space and are cut at :data:`MAX_PLACE`; what is not text, or is blank, is
    None."""
    code = country.strip().upper() if isinstance(country, str) else None
    if code is not None and not (len(code) == 2 and code.isascii() and code.isalpha()):
        code = None
    if code is not None and _is_subdivision(subdivision):
        area: str | None = f"{code}-{subdivision}"
    else:
        area = _place(region)
    place = Location(country=code, region=area, city=_place(city))
    return UNKNOWN if place == UNKNOWN else place


def _is_subdivision(code: object) -> bool:
    # str methods, not a regular expression: this runs for every new visitor's address.
    return (
        isinstance(code, str)
        and 0 < len(code) <= 3
        and code.isascii()
        and code.isalnum()
        and code == code.upper()
    )


def _place(name: object) -> str | None:
    if not isinstance(name, str):
        return None
    if not name.isprintable():  # rare: the regular expression only when it has work
        name = _CONTROL.sub("", name)
    cleaned = name.strip()[:MAX_PLACE].strip()
    return cleaned or None


class Cell(Protocol):
    """One row of a breakdown: a value, its unique visitors and other figures that add up
    (page views, sessions, bounces, total duration...). Ratios such as a bounce rate or a
    mean duration are not figures here: they are computed from the sums after merging."""

    @property
    def value(self) -> str | None: ...

    @property
    def visitors(self) -> int: ...

    def merged(self, others: Sequence[Self], value: str) -> Self:
        """A row named ``value`` whose visitors and every other figure are the sums of
        this row's and ``others``' (``others`` may be empty)."""
        ...


class Tally(msgspec.Struct, frozen=True, kw_only=True):
    """A :class:`Cell` for any breakdown: ``figures`` are the additive figures, in an
    order the caller chooses and keeps for every row."""

    value: str | None
    visitors: int
    figures: tuple[int, ...] = ()

    def merged(self, others: Sequence[Tally], value: str) -> Tally:
        rows = (self, *others)
        return Tally(
            value=value,
            visitors=sum(row.visitors for row in rows),
            figures=tuple(map(sum, zip(*(row.figures for row in rows), strict=True))),
        )


C = TypeVar("C", bound=Cell)


def merge_small(rows: Iterable[C], min_visitors: int) -> list[C]:
    """``rows`` (ranked by visitors, most first) with every row of fewer than
    ``min_visitors`` visitors merged into one row named :data:`OTHER`.

    The merged row's figures are the sums of the merged rows'. So are its visitors: the
    other rows' visitors are sums too (distinct visitors per salt window, added up over the
    range), and within one window a visitor's hash includes their address, so it lies in
    one region and one city and the sum counts nobody twice. Over several windows a visitor
    who moved is counted once per window, as in every other row. The totals of every figure
    are the input's.

    The merged row takes its place in the ranking by its visitors (after the rows with as
    many), so the result is ranked as the input was and a limit cuts it like any row. It
    appears only when something was merged; it may have fewer than ``min_visitors``
    visitors, which names no value. A row whose value already is :data:`OTHER` (a
    campaign so named) is merged too, so that the result never holds two such rows.
    """
    if min_visitors < 1:
        raise InvalidInput("must be at least 1", field="min_visitors")
    kept: list[C] = []
    small: list[C] = []
    for row in rows:
        (small if row.visitors < min_visitors or row.value == OTHER else kept).append(row)
    if not small:
        return kept
    other = small[0].merged(small[1:], OTHER)
    at = next((i for i, row in enumerate(kept) if row.visitors < other.visitors), len(kept))
    kept.insert(at, other)
    return kept
