"""A project's figures day by day as a zip of CSV files in the layout of Plausible's CSV
export, which Plausible's CSV import reads (Site settings > Imports & exports).

The archive holds one file per table Plausible imports, named
``imported_<table>_<first day>_<last day>.csv`` (days as YYYYMMDD, both included), each with
a header line naming its columns in Plausible's order, then one line per UTC day and value
(Plausible reads the table and the dates from the name). The layout is the one Plausible's
exporter writes since its pages table keeps scroll depth and time on page as totals with
their visits (``total_scroll_depth``, ``total_time_on_page``...).

Every figure is privalytics' own, read day by day through the reporting use case
(:meth:`~privalytics.domain.reporting.Reporting.daily`): ``visitors`` the day's unique
visitors, ``visits`` (``entrances``, ``exits``) its sessions, ``pageviews`` its page views,
``bounces`` its bounced sessions, ``visit_duration`` the sum of its sessions' lengths in whole
seconds. What privalytics does not measure is written as Plausible writes it for a day
without it: 0 for a count (scroll depth, time on page), an empty text for a name. The
people's docs (docs/data-lifecycle.md, "Export") list every such column.

privalytics keeps each dimension's day figures apart, not their combinations, so the
tables that Plausible keys by several columns carry one: sources by source (referrer and
campaign empty), locations by country (no region, no city: a day's small regions and
cities are what k-anonymity hides), browsers and systems without their versions. Summing
any table's visitors still gives each value's visitors, as Plausible reads them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from privalytics.domain.daily import DayFigures
from privalytics.domain.insight import Figures, Row

FORMAT = "plausible-zip"
MEDIA_TYPE = "application/zip"


def _session_cells(figures: Figures) -> dict[str, int]:
    totals = figures.totals
    return {
        "visitors": figures.visitors,
        "visits": totals.sessions,
        "pageviews": totals.pageviews,
        "bounces": totals.bounces,
        # Plausible sums whole seconds; privalytics keeps the exact total.
        "visit_duration": round(totals.duration.total_seconds()),
    }


def _text(value: str | None) -> str:
    # Plausible's text columns are never null: an unknown value is empty.
    return "" if value is None else value


Cells = Callable[[DayFigures, str], Iterable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Table:
    """One CSV of the archive: Plausible's table name, its columns in Plausible's order
    (``date`` first) and the lines of one day, by column name."""

    name: str
    columns: tuple[str, ...]
    # The privalytics dimension its lines come from (None: the day's totals).
    dimension: str | None
    cells: Cells


def _visitors(day: DayFigures, _: str) -> Iterable[dict[str, Any]]:
    if day.figures.totals.sessions or day.figures.visitors:
        yield _session_cells(day.figures)


def _by(
    dimension: str, column: str, *, skip_unknown: bool = False, show: Callable[[str], str] = str
) -> Cells:
    """A table of one line per value of ``dimension``, named in ``column``."""

    def cells(day: DayFigures, _: str) -> Iterable[dict[str, Any]]:
        for row in day.rows[dimension]:
            if row.value is None and skip_unknown:
                continue
            yield {
                column: "" if row.value is None else show(row.value),
                **_session_cells(row.figures),
            }

    return cells


def _pages(day: DayFigures, hostname: str) -> Iterable[dict[str, Any]]:
    for row in day.rows["page"]:
        if row.value is None:
            continue
        yield {"hostname": hostname, "page": row.value, **_session_cells(row.figures)}


def _entry_or_exit(dimension: str, column: str, count: str) -> Cells:
    """Entry or exit pages: the sessions that began (ended) on a page are its entrances
    (exits)."""
    inner = _by(dimension, column, skip_unknown=True)

    def cells(day: DayFigures, hostname: str) -> Iterable[dict[str, Any]]:
        for line in inner(day, hostname):
            yield {**line, count: line["visits"]}

    return cells


def _custom_events(day: DayFigures, _: str) -> Iterable[dict[str, Any]]:
    for row in day.rows["event"]:
        if row.value is None:
            continue
        yield _event_line(row)


def _event_line(row: Row) -> dict[str, Any]:
    # link_url and path belong to Plausible's own events (outbound links, file downloads,
    # 404s); a custom event of privalytics has neither.
    return {"name": row.value, "visitors": row.figures.visitors, "events": row.events or 0}


def _device(value: str) -> str:
    # privalytics' classes are lower case (mobile, tablet, laptop, desktop); Plausible's
    # are capitalised.
    return value.capitalize()


_SESSION = ("visitors", "visits", "visit_duration", "bounces", "pageviews")

TABLES: tuple[Table, ...] = (
    Table(
        "imported_visitors",
        ("date", "visitors", "pageviews", "bounces", "visits", "visit_duration"),
        None,
        _visitors,
    ),
    Table(
        "imported_sources",
        (
            "date",
            "source",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_content",
            "utm_term",
            "pageviews",
            "visitors",
            "visits",
            "visit_duration",
            "bounces",
        ),
        "source",
        _by("source", "source"),
    ),
    Table(
        "imported_pages",
        (
            "date",
            "hostname",
            "page",
            "visits",
            "visitors",
            "pageviews",
            "total_scroll_depth",
            "total_scroll_depth_visits",
            "total_time_on_page",
            "total_time_on_page_visits",
        ),
        "page",
        _pages,
    ),
    Table(
        "imported_entry_pages",
        ("date", "entry_page", "visitors", "entrances", "visit_duration", "bounces", "pageviews"),
        "entry_page",
        _entry_or_exit("entry_page", "entry_page", "entrances"),
    ),
    Table(
        "imported_exit_pages",
        ("date", "exit_page", "visitors", "visit_duration", "exits", "bounces", "pageviews"),
        "exit_page",
        _entry_or_exit("exit_page", "exit_page", "exits"),
    ),
    Table(
        "imported_custom_events",
        ("date", "name", "link_url", "path", "visitors", "events"),
        "event",
        _custom_events,
    ),
    Table(
        "imported_locations",
        ("date", "country", "region", "city", *_SESSION),
        "country",
        # Plausible leaves visits of an unknown country out of its locations.
        _by("country", "country", skip_unknown=True),
    ),
    Table(
        "imported_devices",
        ("date", "device", *_SESSION),
        "device",
        _by("device", "device", show=_device),
    ),
    Table(
        "imported_browsers",
        ("date", "browser", "browser_version", *_SESSION),
        "browser",
        _by("browser", "browser"),
    ),
    Table(
        "imported_operating_systems",
        ("date", "operating_system", "operating_system_version", *_SESSION),
        "os",
        _by("os", "operating_system"),
    ),
)

# The privalytics dimensions the archive is read by, each once.
DIMENSIONS: tuple[str, ...] = tuple(t.dimension for t in TABLES if t.dimension is not None)
# What a column holds where privalytics has no figure or name for it: a count is 0
# (Plausible's own value for a day without it), a name empty.
_UNKNOWN: dict[str, Any] = {
    "referrer": "",
    "utm_source": "",
    "utm_medium": "",
    "utm_campaign": "",
    "utm_content": "",
    "utm_term": "",
    "total_scroll_depth": 0,
    "total_scroll_depth_visits": 0,
    "total_time_on_page": 0,
    "total_time_on_page_visits": 0,
    "link_url": "",
    "path": "",
    "region": "",
    # Plausible names a city by its GeoNames id; 0 is none.
    "city": 0,
    "browser_version": "",
    "operating_system_version": "",
}


def file_name(table: Table, first: date, last: date) -> str:
    """The name Plausible's import recognises the table by, with the days it spans."""
    return f"{table.name}_{first:%Y%m%d}_{last:%Y%m%d}.csv"


def hostname_of(allowed_origins: Iterable[str]) -> str:
    """The host Plausible's pages table names: the project's first allowed origin's
    (empty when any origin may send)."""
    for origin in allowed_origins:
        host = urlsplit(origin).hostname
        if host:
            return host
    return ""


def _line(table: Table, day: date, cells: dict[str, Any]) -> list[Any]:
    known = {"date": day.isoformat(), **cells}
    return [known[c] if c in known else _UNKNOWN[c] for c in table.columns]


async def archive(
    days: AsyncIterator[DayFigures],
    first: date,
    last: date,
    *,
    hostname: str = "",
    advance: Callable[[], None] | None = None,
) -> bytes:
    """The zip of every table over ``days`` (the days ``first`` to ``last``, read one at
    a time; ``advance`` is called after each). The figures of a range are small (a line
    per day and value), so the archive is made in memory and answered whole."""
    texts: dict[str, io.StringIO] = {}
    writers = {}
    for table in TABLES:
        texts[table.name] = io.StringIO()
        writers[table.name] = csv.writer(texts[table.name], lineterminator="\n")
        writers[table.name].writerow(table.columns)
    async for day in days:
        for table in TABLES:
            writers[table.name].writerows(
                _line(table, day.day, cells) for cells in table.cells(day, hostname)
            )
        if advance is not None:
            advance()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        for table in TABLES:
            packed.writestr(file_name(table, first, last), texts[table.name].getvalue())
    return out.getvalue()
