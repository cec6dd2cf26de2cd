"""The Plausible zip: one CSV per table Plausible's CSV import reads, named as it expects,
its columns in Plausible's order, one line per day and value whose figures are the day's
breakdown figures."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from privalytics.adapters import plausiblezip
from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.daily import day_range, days_of
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.models import Action, Event, TimeRange
from privalytics.domain.services import Services
from privalytics.testing import ManualClock
from tests.unit.http.conftest import services_over

FIRST = date(2026, 3, 1)
SPAN = TimeRange(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 4, tzinfo=UTC))

# Plausible's tables and their columns, in the order its CSV import declares them.
PLAUSIBLE = {
    "imported_visitors": "date,visitors,pageviews,bounces,visits,visit_duration",
    "imported_sources": "date,source,referrer,utm_source,utm_medium,utm_campaign,"
    "utm_content,utm_term,pageviews,visitors,visits,visit_duration,bounces",
    "imported_pages": "date,hostname,page,visits,visitors,pageviews,total_scroll_depth,"
    "total_scroll_depth_visits,total_time_on_page,total_time_on_page_visits",
    "imported_entry_pages": "date,entry_page,visitors,entrances,visit_duration,bounces,pageviews",
    "imported_exit_pages": "date,exit_page,visitors,visit_duration,exits,bounces,pageviews",
    "imported_custom_events": "date,name,link_url,path,visitors,events",
    "imported_locations": "date,country,region,city,visitors,visits,visit_duration,bounces,"
    "pageviews",
    "imported_devices": "date,device,visitors,visits,visit_duration,bounces,pageviews",
    "imported_browsers": "date,browser,browser_version,visitors,visits,visit_duration,bounces,"
    "pageviews",
    "imported_operating_systems": "date,operating_system,operating_system_version,visitors,"
    "visits,visit_duration,bounces,pageviews",
}


def _hand_made(project_id: str) -> list[Event]:
    """Day 1: A views / then /pricing 5 minutes later (from Google, Firefox, DE, desktop);
    B views / alone (a bounce, nothing known). Day 2: C views /pricing and signs up a
    minute later."""
    day = datetime(2026, 3, 1, 10, tzinfo=UTC)
    known: dict[str, Any] = {
        "source": "Google",
        "browser": "Firefox",
        "country": "DE",
        "device": "desktop",
        "os": "Linux",
    }
    return [
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/",
            timestamp=day,
            visitor_hash="a" * 16,
            **known,
        ),
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/pricing",
            timestamp=day + timedelta(minutes=5),
            visitor_hash="a" * 16,
            **known,
        ),
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/",
            timestamp=day + timedelta(hours=1),
            visitor_hash="b" * 16,
        ),
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/pricing",
            timestamp=day + timedelta(days=1),
            visitor_hash="c" * 16,
        ),
        Event(
            project_id=project_id,
            action=Action.CUSTOM,
            name="Signup",
            path="/pricing",
            timestamp=day + timedelta(days=1, minutes=1),
            visitor_hash="c" * 16,
        ),
    ]


def _random_traffic(project_id: str, seed: int = 7) -> list[Event]:
    """Three days of sessions of 1 to 4 events, with every derived field varied (and
    sometimes unknown), custom events among the page views."""
    pick = random.Random(seed)
    events: list[Event] = []
    for visitor in range(60):
        moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(
            seconds=pick.randrange(3 * 86400 - 3600)
        )
        fields: dict[str, Any] = {
            "source": pick.choice(["Google", "Hacker News", "example.org", None]),
            "browser": pick.choice(["Firefox", "Chrome", None]),
            "os": pick.choice(["Linux", "Windows", None]),
            "device": pick.choice(["mobile", "tablet", "laptop", "desktop", None]),
            "country": pick.choice(["DE", "FR", "US", None]),
        }
        for _ in range(pick.randint(1, 4)):
            custom = pick.random() < 0.25
            events.append(
                Event(
                    project_id=project_id,
                    action=Action.CUSTOM if custom else Action.VISIT,
                    name=pick.choice(["Signup", "Play"]) if custom else None,
                    path=pick.choice(["/", "/pricing", "/blog/a,b", '/q"uote']),
                    timestamp=moment,
                    visitor_hash=f"{visitor:016x}",
                    **fields,
                )
            )
            moment += timedelta(seconds=pick.randint(1, 600))
    return events


async def _services(events: list[Event] | None = None) -> tuple[Services, str, InMemoryEventStore]:
    store = InMemoryEventStore()
    services = services_over(store, ManualClock(datetime(2026, 3, 10, tzinfo=UTC)))
    created = await services.admin.create_project(
        "Site", allowed_origins=["https://www.example.com"]
    )
    project_id = created.project.id
    await store.add(events if events is not None else _random_traffic(project_id))
    return services, project_id, store


async def _zip(services: Services, project_id: str, span: TimeRange = SPAN) -> dict[str, Any]:
    days = days_of(span)
    data = await plausiblezip.archive(
        await services.reporting.daily(project_id, span, plausiblezip.DIMENSIONS),
        days[0],
        days[-1],
        hostname="www.example.com",
    )
    packed = zipfile.ZipFile(io.BytesIO(data))
    assert packed.testzip() is None
    return {name: packed.read(name).decode() for name in packed.namelist()}


def _table(files: dict[str, str], table: str) -> list[dict[str, str]]:
    (text,) = [text for name, text in files.items() if name.startswith(table + "_2")]
    return list(csv.DictReader(io.StringIO(text)))


async def test_every_table_is_a_file_named_as_plausible_expects_with_its_columns() -> None:
    services, project_id, _ = await _services()
    files = await _zip(services, project_id)
    assert sorted(files) == sorted(f"{table}_20260301_20260303.csv" for table in PLAUSIBLE)
    for name, text in files.items():
        table = name.rsplit("_", 2)[0]
        assert text.split("\n", 1)[0] == PLAUSIBLE[table], table


async def test_a_small_day_is_what_a_person_counts() -> None:
    services, project_id, store = await _services([])
    await store.add(_hand_made(project_id))
    files = await _zip(services, project_id)
    assert _table(files, "imported_visitors") == [
        # 2 visitors, 3 page views, B's bounce, 2 visits, A's 300 seconds.
        dict(zip(PLAUSIBLE["imported_visitors"].split(","), row, strict=True))
        for row in (
            ["2026-03-01", "2", "3", "1", "2", "300"],
            ["2026-03-02", "1", "1", "0", "1", "60"],
        )
    ]
    pages = _table(files, "imported_pages")
    assert [
        (p["date"], p["hostname"], p["page"], p["visitors"], p["pageviews"]) for p in pages
    ] == [
        ("2026-03-01", "www.example.com", "/", "2", "2"),
        ("2026-03-01", "www.example.com", "/pricing", "1", "1"),
        ("2026-03-02", "www.example.com", "/pricing", "1", "1"),
    ]
    assert {p["total_time_on_page"] for p in pages} == {"0"}
    sources = _table(files, "imported_sources")
    # Direct traffic is an empty source, as in Plausible.
    assert [(s["date"], s["source"], s["visitors"], s["bounces"]) for s in sources] == [
        ("2026-03-01", "Google", "1", "0"),
        ("2026-03-01", "", "1", "1"),
        ("2026-03-02", "", "1", "0"),
    ]
    # An unknown country is left out; region and city are not in privalytics' day rows.
    assert _table(files, "imported_locations") == [
        {
            "date": "2026-03-01",
            "country": "DE",
            "region": "",
            "city": "0",
            "visitors": "1",
            "visits": "1",
            "visit_duration": "300",
            "bounces": "0",
            "pageviews": "2",
        }
    ]
    assert [d["device"] for d in _table(files, "imported_devices")][:2] == ["Desktop", ""]
    assert _table(files, "imported_custom_events") == [
        {
            "date": "2026-03-02",
            "name": "Signup",
            "link_url": "",
            "path": "",
            "visitors": "1",
            "events": "1",
        }
    ]
    exits = _table(files, "imported_exit_pages")
    assert [(e["exit_page"], e["exits"], e["visit_duration"]) for e in exits][:2] == [
        ("/pricing", "1", "300"),
        ("/", "1", "0"),
    ]


# Table -> (privalytics dimension, the column that names the value, and how to show it).
_BY: dict[str, tuple[str, str]] = {
    "imported_sources": ("source", "source"),
    "imported_pages": ("page", "page"),
    "imported_entry_pages": ("entry_page", "entry_page"),
    "imported_exit_pages": ("exit_page", "exit_page"),
    "imported_locations": ("country", "country"),
    "imported_devices": ("device", "device"),
    "imported_browsers": ("browser", "browser"),
    "imported_operating_systems": ("os", "operating_system"),
}


def _expected(table: str, row: Any) -> dict[str, int]:
    totals = row.figures.totals
    sessions = totals.sessions
    seconds = round(totals.duration.total_seconds())
    lines: dict[str, dict[str, int]] = {
        "imported_pages": {
            "visitors": row.figures.visitors,
            "visits": sessions,
            "pageviews": totals.pageviews,
        },
        "imported_entry_pages": {
            "visitors": row.figures.visitors,
            "entrances": sessions,
            "visit_duration": seconds,
            "bounces": totals.bounces,
            "pageviews": totals.pageviews,
        },
        "imported_exit_pages": {
            "visitors": row.figures.visitors,
            "exits": sessions,
            "visit_duration": seconds,
            "bounces": totals.bounces,
            "pageviews": totals.pageviews,
        },
    }
    return lines.get(
        table,
        {
            "visitors": row.figures.visitors,
            "visits": sessions,
            "visit_duration": seconds,
            "bounces": totals.bounces,
            "pageviews": totals.pageviews,
        },
    )


async def test_every_line_is_the_figures_of_that_days_breakdown() -> None:
    services, project_id, store = await _services()
    files = await _zip(services, project_id)
    for table, (name, column) in _BY.items():
        lines = _table(files, table)
        for day in days_of(SPAN):
            found = await services.reporting.breakdown(project_id, day_range(day), name, limit=100)
            # Plausible leaves out pages, entries and exits without a page, and unknown
            # countries; a device class is capitalised.
            rows = [
                r
                for r in found.rows
                if r.value is not None or name not in {"page", "entry_page", "exit_page", "country"}
            ]
            assert rows, (table, day)
            mine = [line for line in lines if line["date"] == day.isoformat()]
            shown = [
                (r.value or "").capitalize() if name == "device" else r.value or "" for r in rows
            ]
            assert [line[column] for line in mine] == shown, (table, day)
            for line, row in zip(mine, rows, strict=True):
                assert {k: int(line[k]) for k in _expected(table, row)} == _expected(table, row)
    for day in days_of(SPAN):
        figures = await store.figures(project_id, day_range(day), ())
        (line,) = [line for line in _table(files, "imported_visitors") if line["date"] == str(day)]
        assert {k: int(v) for k, v in line.items() if k != "date"} == {
            "visitors": figures.visitors,
            "pageviews": figures.totals.pageviews,
            "bounces": figures.totals.bounces,
            "visits": figures.totals.sessions,
            "visit_duration": round(figures.totals.duration.total_seconds()),
        }
        events = await services.reporting.breakdown(project_id, day_range(day), "event", limit=100)
        mine = [
            line for line in _table(files, "imported_custom_events") if line["date"] == str(day)
        ]
        assert [(e["name"], int(e["visitors"]), int(e["events"])) for e in mine] == [
            (r.value, r.figures.visitors, r.events) for r in events.rows
        ]


async def test_values_with_commas_and_quotes_survive_the_csv() -> None:
    services, project_id, _ = await _services()
    pages = {line["page"] for line in _table(await _zip(services, project_id), "imported_pages")}
    assert pages == {"/", "/pricing", "/blog/a,b", '/q"uote'}


async def test_a_range_without_events_is_every_header_and_no_line() -> None:
    services, project_id, _ = await _services([])
    files = await _zip(services, project_id)
    assert len(files) == len(PLAUSIBLE)
    assert all(text.count("\n") == 1 for text in files.values())


def test_the_days_are_every_utc_day_the_range_touches() -> None:
    start = datetime(2026, 3, 1, 22, tzinfo=UTC)
    assert days_of(TimeRange(start=start, end=start + timedelta(hours=4))) == [
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    # An end at midnight does not touch the day it begins.
    assert days_of(SPAN) == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    assert plausiblezip.file_name(plausiblezip.TABLES[0], FIRST, date(2026, 3, 3)) == (
        "imported_visitors_20260301_20260303.csv"
    )


def test_the_pages_host_is_the_first_allowed_origins() -> None:
    assert plausiblezip.hostname_of(["https://www.example.com:8443", "https://b.org"]) == (
        "www.example.com"
    )
    assert plausiblezip.hostname_of([]) == ""


async def test_an_unknown_project_or_dimension_is_refused_before_any_read() -> None:
    services, project_id, _ = await _services([])
    with pytest.raises(NotFound):
        await services.reporting.daily("prj_0000000000000000", SPAN, plausiblezip.DIMENSIONS)
    for name in ("region", "city", "goal", "nothing"):
        with pytest.raises(InvalidInput):
            await services.reporting.daily(project_id, SPAN, [name])


async def test_sparse_days_among_long_quiet_stretches_are_each_found_once() -> None:
    services, project_id, store = await _services([])
    hand = _hand_made(project_id)
    # The same traffic, moved to days 1, 2, 41 and 60 of a 60-day range.
    moved = [
        msgspec.structs.replace(event, timestamp=event.timestamp + timedelta(days=shift))
        for shift in (0, 40, 58)
        for event in hand
        if shift == 0 or event.timestamp.day == 1
    ]
    await store.add(moved)
    span = TimeRange(start=SPAN.start, end=SPAN.start + timedelta(days=60))
    days = days_of(span)
    seen: list[int] = []
    data = await plausiblezip.archive(
        await services.reporting.daily(project_id, span, plausiblezip.DIMENSIONS),
        days[0],
        days[-1],
        advance=lambda: seen.append(1),
    )
    assert len(seen) == 60  # the progress moves by every day, quiet ones included
    packed = zipfile.ZipFile(io.BytesIO(data))
    (name,) = [n for n in packed.namelist() if n.startswith("imported_visitors_")]
    assert name == "imported_visitors_20260301_20260429.csv"
    lines = list(csv.DictReader(io.StringIO(packed.read(name).decode())))
    assert [(line["date"], line["visitors"], line["pageviews"]) for line in lines] == [
        ("2026-03-01", "2", "3"),
        ("2026-03-02", "1", "1"),
        ("2026-04-10", "2", "3"),
        ("2026-04-28", "2", "3"),
    ]
