"""The project page's breakdown panels, its filters and the links between them.

The page's state lives in its address, so that any view can be bookmarked or shared:
the range (``period``, ``from``, ``to``), the filters (``filter``, repeated, written as the
API writes them: ``source==Google``) and the tab each panel shows (``sources``,
``pages``, ``locations``, ``devices``; the first tab when absent). Every row of every
panel links to the same page with one more filter; every filter chip links to it
without that filter. Nothing here needs the script: links are links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from privalytics.adapters.http.dashboard.views import Choice, bar
from privalytics.adapters.words import duration_text, missing_label
from privalytics.domain.dimensions import PROP_PREFIX, dimension
from privalytics.domain.filters import MAX_FILTERS, Filter, Op
from privalytics.domain.insight import Row


@dataclass(frozen=True)
class Tab:
    dimension: str
    label: str


@dataclass(frozen=True)
class PanelSpec:
    """A panel: its query parameter, title, tabs (the first is the default) and the
    drill-downs: a tab shown instead of another while a filter on it is set (the
    referrers of a filtered source, the versions of a filtered browser)."""

    key: str
    title: str
    tabs: tuple[Tab, ...]
    drill: Mapping[str, Tab] = field(default_factory=dict)


PANELS = (
    PanelSpec(
        "sources",
        "Sources",
        (
            Tab("source", "Sources"),
            Tab("utm_medium", "Medium"),
            Tab("utm_source", "UTM source"),
            Tab("utm_campaign", "Campaign"),
        ),
        {"source": Tab("referrer", "Referrers")},
    ),
    PanelSpec(
        "pages",
        "Pages",
        (
            Tab("page", "Top pages"),
            Tab("entry_page", "Entry pages"),
            Tab("exit_page", "Exit pages"),
        ),
    ),
    PanelSpec(
        "locations",
        "Locations",
        (Tab("country", "Countries"), Tab("region", "Regions"), Tab("city", "Cities")),
    ),
    PanelSpec(
        "devices",
        "Devices",
        (Tab("browser", "Browsers"), Tab("os", "Operating systems"), Tab("device", "Screen sizes")),
        {
            "browser": Tab("browser_version", "Browser versions"),
            "os": Tab("os_version", "OS versions"),
        },
    ),
    # Custom events; with an event filter, a tab per property of that event too
    # (:func:`with_properties`).
    PanelSpec("events", "Events", (Tab("event", "Events"),)),
)
PANEL_KEYS = tuple(panel.key for panel in PANELS)

_OPS = {Op.IS: "is", Op.IS_NOT: "is not", Op.CONTAINS: "contains"}


def flag(code: str | None) -> str:
    """A country's flag as the two regional indicator symbols of its ISO code (drawn by
    the visitor's own fonts: no image, no third party); empty for anything else."""
    if code is None or len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code.upper())


def chip_label(given: Filter) -> str:
    found = dimension(given.dimension)
    label = given.dimension if found is None else found.label
    value = given.value if given.value else missing_label(given.dimension)
    return f"{label} {_OPS[given.op]} {value}"


@dataclass(frozen=True)
class Address:
    """The page's address: what it shows, and the links to what it could show."""

    base: str
    choice: Choice
    filters: tuple[Filter, ...] = ()
    tabs: Mapping[str, str] = field(default_factory=dict)

    def _pairs(self, filters: Sequence[Filter], tabs: Mapping[str, str]) -> list[tuple[str, str]]:
        pairs = [(k, v) for k, _, v in (p.partition("=") for p in self.choice.query().split("&"))]
        pairs += [("filter", str(f)) for f in filters]
        pairs += [(key, tabs[key]) for key in PANEL_KEYS if key in tabs]
        return pairs

    def href(
        self,
        *,
        add: Filter | None = None,
        remove: Filter | None = None,
        tab: tuple[str, str] | None = None,
        base: str | None = None,
    ) -> str:
        filters = [f for f in self.filters if f != remove]
        if add is not None:
            # One filter per dimension and operator: a new value replaces the old one.
            filters = [f for f in filters if (f.dimension, f.op) != (add.dimension, add.op)]
            filters.append(add)
        tabs = dict(self.tabs)
        if tab is not None:
            tabs[tab[0]] = tab[1]
        query = urlencode(self._pairs(filters, tabs))
        return f"{base or self.base}?{query}"

    @property
    def query(self) -> str:
        """The address's query, without the base: what a link to another page keeps."""
        return urlencode(self._pairs(self.filters, self.tabs))

    @property
    def texts(self) -> list[str]:
        """The filters as the use cases take them."""
        return [str(f) for f in self.filters]

    def for_period(self, name: str) -> str:
        """This address over the named period instead."""
        return Address(self.base, Choice(name), self.filters, self.tabs).href()

    def kept(self) -> list[tuple[str, str]]:
        """The query's parts besides the range: what a form choosing a range keeps."""
        filters = [("filter", str(f)) for f in self.filters]
        return filters + [(key, self.tabs[key]) for key in PANEL_KEYS if key in self.tabs]

    def can_add(self, add: Filter) -> bool:
        """Whether a link may add ``add``: a filter on the same dimension and operator is
        replaced, any other counts towards the :data:`MAX_FILTERS` a page takes."""
        others = [f for f in self.filters if (f.dimension, f.op) != (add.dimension, add.op)]
        return len(others) < MAX_FILTERS

    def chips(self) -> list[tuple[str, str]]:
        """Each filter's words and the link that drops it."""
        return [(chip_label(f), self.href(remove=f)) for f in self.filters]

    def filtered(self, dimension: str) -> bool:
        return any(f.dimension == dimension and f.op is Op.IS for f in self.filters)

    def tab_of(self, panel: PanelSpec) -> Tab:
        """The tab ``panel`` shows: the chosen one (or the first), or its drill-down while
        a filter selects one of its values."""
        chosen = self.tabs.get(panel.key)
        current = next((t for t in panel.tabs if t.dimension == chosen), panel.tabs[0])
        drill = panel.drill.get(current.dimension)
        if drill is not None and self.filtered(current.dimension):
            return drill
        return current


def tabs_of(given: Mapping[str, str | None]) -> dict[str, str]:
    """The panels' tabs named in a query (unknown panels and tabs ignored: a stale
    bookmark still opens)."""
    chosen: dict[str, str] = {}
    for panel in PANELS:
        value = given.get(panel.key)
        names = {t.dimension for t in panel.tabs}
        custom = panel.key == "events" and value is not None and value.startswith(PROP_PREFIX)
        if (value in names or custom) and value != panel.tabs[0].dimension:
            chosen[panel.key] = value  # type: ignore[assignment]
    return chosen


def with_properties(spec: PanelSpec, keys: Sequence[str]) -> PanelSpec:
    """The events panel with a tab per property name (of the chosen event)."""
    tabs = tuple(Tab(f"{PROP_PREFIX}{key}", f"Property: {key}") for key in keys)
    return PanelSpec(spec.key, spec.title, (*spec.tabs, *tabs), spec.drill)


@dataclass(frozen=True)
class PanelRow:
    label: str
    flag: str
    visitors: int
    pageviews: int
    sessions: int
    bounce_rate: str
    visit_duration: str
    width: int
    # A custom-event dimension's row: its custom events.
    events: int | None
    # The same page with this row's value as a filter; None when the page has as many
    # filters as it takes.
    href: str | None


def _label(dimension: str, value: str | None) -> str:
    return missing_label(dimension) if value is None else value


def rows_of(address: Address, dimension: str, rows: Sequence[Row]) -> list[PanelRow]:
    """A breakdown's rows as a panel shows them, each a link that filters by its value."""
    largest = max((row.figures.visitors for row in rows), default=0)
    shown = []
    for row in rows:
        figures = row.figures.reported
        wanted = Filter(dimension=dimension, op=Op.IS, value=row.value or "")
        shown.append(
            PanelRow(
                label=_label(dimension, row.value),
                flag=flag(row.value) if dimension == "country" else "",
                visitors=row.figures.visitors,
                pageviews=figures.pageviews,
                sessions=figures.sessions,
                bounce_rate="\u2013" if figures.bounce_rate is None else f"{figures.bounce_rate}%",
                visit_duration=duration_text(figures.visit_duration),
                width=bar(row.figures.visitors, largest),
                events=row.events,
                href=address.href(add=wanted) if address.can_add(wanted) else None,
            )
        )
    return shown


@dataclass(frozen=True)
class PanelTab:
    label: str
    href: str
    active: bool


@dataclass(frozen=True)
class PanelView:
    key: str
    title: str
    tabs: list[PanelTab]
    # The column's heading: the tab shown (a drill-down's, too).
    column: str
    dimension: str
    rows: list[PanelRow]
    details: str


def panel_view(
    spec: PanelSpec, address: Address, rows: Sequence[Row], details_base: str
) -> PanelView:
    shown = address.tab_of(spec)
    chosen = address.tabs.get(spec.key, spec.tabs[0].dimension)
    tabs = [
        PanelTab(
            label=t.label,
            href=address.href(tab=(spec.key, t.dimension)) + f"#panel-{spec.key}",
            active=t.dimension == chosen,
        )
        for t in spec.tabs
    ]
    return PanelView(
        key=spec.key,
        title=spec.title,
        tabs=tabs,
        column=shown.label,
        dimension=shown.dimension,
        rows=rows_of(address, shown.dimension, rows),
        details=address.href(base=f"{details_base}/{shown.dimension}"),
    )
