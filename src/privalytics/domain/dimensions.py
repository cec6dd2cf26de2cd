"""Every dimension in one place: what a breakdown can be by and a filter can test.

A *dimension* is a named property of what visitors did: the page, where they came from,
the campaign, their browser, their country. Each is defined once here, by:

- its ``name`` in the API (``/breakdown/utm_source``, ``filter=country==DE``) and the
  ``label`` people read;
- its ``scope``: an *event* dimension has a value per event (the page of a page view); a
  *session* dimension has one value per session (see :mod:`privalytics.domain.sessions`),
  taken from the session's first event (its source and campaign: a single-page app's
  later page views do not count the landing referrer again) or from the session as a
  whole (its entry and exit pages). What a visitor hash stands for (an address and an
  agent within one salt window) does not change within a session, so the browser, the
  system and the location are the first event's and every event's alike;
  a *custom* dimension has a value per custom event (its name, a property), and the
  *goal* dimension a value per conversion (an event and a goal it completes): it is the
  one dimension whose values depend on stored settings (the project's goals), so the
  table lists it unresolved and :mod:`privalytics.domain.goals` says how it is resolved;
- how its value is read from a stored :class:`~privalytics.domain.models.Event` (every
  value is derived on arrival, in the domain, and stored with the event: nothing reads a
  user agent or an address after that);
- whether small cells are merged: regions and cities whose unique visitors are fewer than
  the configured minimum are shown together as one "(other)" row (k-anonymity);
- the dashboard panel it is shown in.

A missing value (no referrer, an agent no parser knows, an address no table places) is
``None``: the API shows it as ``null``, a filter names it with an empty value
(``source==`` is "direct", ``source!=`` is "from somewhere").

Adding a dimension is one entry in :data:`DIMENSIONS` (and a field of ``Event`` if it is
new information): stores, the breakdown endpoint, filters and the dashboard read this
table.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from privalytics.domain.models import Action, Event

if TYPE_CHECKING:
    from privalytics.domain.goals import Goal


class Scope(enum.StrEnum):
    EVENT = "event"
    SESSION = "session"
    # A value per custom event (its name, one of its properties): a filter selects custom
    # events, and the visitors and sessions are those holding a selected one.
    CUSTOM = "custom"
    # A value per conversion (an event and a goal it completes: see
    # :mod:`privalytics.domain.goals`): a filter selects conversions, and the visitors and
    # sessions are those holding a selected one. An event converts several goals at once.
    GOAL = "goal"


class Panel(enum.StrEnum):
    """The dashboard panel a dimension is a tab of."""

    PAGES = "pages"
    SOURCES = "sources"
    LOCATIONS = "locations"
    DEVICES = "devices"
    EVENTS = "events"
    GOALS = "goals"


class SessionRole(enum.StrEnum):
    """Where a session dimension's value comes from."""

    # The session's first event.
    FIRST = "first"
    # The path of the session's first page view.
    ENTRY = "entry"
    # The path of the session's last page view.
    EXIT = "exit"


def _no_conversions(_: Event) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    label: str
    panel: Panel
    scope: Scope
    # The value an event carries (for a session dimension: gives its session, when the
    # event is the one ``role`` names); None when it has none.
    read: Callable[[Event], str | None]
    # A session dimension: which of the session's events gives its value.
    role: SessionRole = SessionRole.FIRST
    # Regions and cities: cells of fewer visitors than the minimum are merged.
    merge_small_cells: bool = False
    # A goal dimension: the names of the goals an event converts (several at once).
    convert: Callable[[Event], tuple[str, ...]] = _no_conversions
    # A resolved goal dimension: the goals it was resolved with (a store that keeps
    # figures per goal reads them by the goals' ids).
    goals: tuple[Goal, ...] = ()


def _page(event: Event) -> str | None:
    # Only a page view is "on" a page in the sense of the pages panel; a click on that
    # page is an interaction, not a view.
    return event.path if event.action is Action.VISIT else None


def _custom_name(event: Event) -> str | None:
    return event.name if event.action is Action.CUSTOM else None


def _nothing(_: Event) -> str | None:
    return None


def _field(name: str) -> Callable[[Event], str | None]:
    def read(event: Event) -> str | None:
        value: str | None = getattr(event, name)
        return value

    read.__name__ = f"read_{name}"
    return read


def _session(name: str, label: str, panel: Panel, *, merge_small_cells: bool = False) -> Dimension:
    return Dimension(
        name=name,
        label=label,
        panel=panel,
        scope=Scope.SESSION,
        read=_field(name),
        merge_small_cells=merge_small_cells,
    )


_ORDERED = (
    Dimension(name="page", label="Page", panel=Panel.PAGES, scope=Scope.EVENT, read=_page),
    Dimension(
        name="entry_page",
        label="Entry page",
        panel=Panel.PAGES,
        scope=Scope.SESSION,
        read=_page,
        role=SessionRole.ENTRY,
    ),
    Dimension(
        name="exit_page",
        label="Exit page",
        panel=Panel.PAGES,
        scope=Scope.SESSION,
        read=_page,
        role=SessionRole.EXIT,
    ),
    _session("source", "Source", Panel.SOURCES),
    _session("referrer", "Referrer", Panel.SOURCES),
    _session("utm_source", "UTM source", Panel.SOURCES),
    _session("utm_medium", "UTM medium", Panel.SOURCES),
    _session("utm_campaign", "UTM campaign", Panel.SOURCES),
    _session("utm_term", "UTM term", Panel.SOURCES),
    _session("utm_content", "UTM content", Panel.SOURCES),
    _session("country", "Country", Panel.LOCATIONS),
    _session("region", "Region", Panel.LOCATIONS, merge_small_cells=True),
    _session("city", "City", Panel.LOCATIONS, merge_small_cells=True),
    _session("browser", "Browser", Panel.DEVICES),
    _session("browser_version", "Browser version", Panel.DEVICES),
    _session("os", "Operating system", Panel.DEVICES),
    _session("os_version", "Operating system version", Panel.DEVICES),
    _session("device", "Device", Panel.DEVICES),
    Dimension(
        name="event", label="Event", panel=Panel.EVENTS, scope=Scope.CUSTOM, read=_custom_name
    ),
    # A placeholder with no goals: the reporting use case resolves it against the
    # project's goals (privalytics.domain.goals.goal_dimension).
    Dimension(name="goal", label="Goal", panel=Panel.GOALS, scope=Scope.GOAL, read=_nothing),
)

# Every dimension by name, in the order the API lists them and the dashboard shows them.
DIMENSIONS: dict[str, Dimension] = {d.name: d for d in _ORDERED}


# A custom event's property KEY is the dimension ``prop:KEY``: one per key a site sends,
# so made on demand rather than listed.
PROP_PREFIX = "prop:"
# The most characters of a property name (domain/custom.py: MAX_PROP_KEY).
_MAX_KEY = 300


def _prop(key: str) -> Callable[[Event], str | None]:
    def read(event: Event) -> str | None:
        return event.props.get(key) if event.action is Action.CUSTOM else None

    return read


# Made once per name: a filter asks its dimension for every session.
@functools.lru_cache(maxsize=1024)
def dimension(name: str) -> Dimension | None:
    """The dimension called ``name`` (``prop:KEY`` for a custom event's property KEY);
    None when there is none."""
    found = DIMENSIONS.get(name)
    if found is None and name.startswith(PROP_PREFIX):
        key = name[len(PROP_PREFIX) :]
        if 0 < len(key) <= _MAX_KEY:
            found = Dimension(
                name=name,
                label=f"Property {key}",
                panel=Panel.EVENTS,
                scope=Scope.CUSTOM,
                read=_prop(key),
            )
    return found


def dimension_names() -> str:
    """The dimensions' names, for a message naming them."""
    return f"{', '.join(DIMENSIONS)}, {PROP_PREFIX}KEY"
