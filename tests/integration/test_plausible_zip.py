"""`privalytics export --format plausible-zip` over SQLite and PostgreSQL: the days'
figures, read from the rolled-up days, as Plausible's CSV files; bad input is one clear
message and no file."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from privalytics.adapters.sqlalchemy import open_stores
from privalytics.domain.daily import day_range
from privalytics.domain.dimensions import dimension
from privalytics.domain.models import Action, Event
from tests.servers import cli, cli_json

pytestmark = pytest.mark.slow

DAYS = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
NAMES = (
    "visitors",
    "sources",
    "pages",
    "entry_pages",
    "exit_pages",
    "custom_events",
    "locations",
    "devices",
    "browsers",
    "operating_systems",
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'zip.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _traffic(project_id: str) -> list[Event]:
    """Day 1: A views / then /pricing 5 minutes later (from Google, Firefox, DE,
    desktop); B views / alone. Day 2: C views /pricing and signs up a minute later. Then
    a spread of random sessions over the three days."""
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    known: dict[str, Any] = {
        "source": "Google",
        "browser": "Firefox",
        "country": "DE",
        "device": "desktop",
        "os": "Linux",
    }
    events = [
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/",
            timestamp=start,
            visitor_hash="a" * 16,
            **known,
        ),
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/pricing",
            timestamp=start + timedelta(minutes=5),
            visitor_hash="a" * 16,
            **known,
        ),
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/",
            timestamp=start + timedelta(hours=1),
            visitor_hash="b" * 16,
        ),
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/pricing",
            timestamp=start + timedelta(days=1),
            visitor_hash="c" * 16,
        ),
        Event(
            project_id=project_id,
            action=Action.CUSTOM,
            name="Signup",
            path="/pricing",
            timestamp=start + timedelta(days=1, minutes=1),
            visitor_hash="c" * 16,
        ),
    ]
    pick = random.Random(11)
    for visitor in range(40):
        # Day 3 only: days 1 and 2 stay the hand-counted ones.
        moment = datetime(2026, 3, 3, tzinfo=UTC) + timedelta(seconds=pick.randrange(80000))
        fields: dict[str, Any] = {
            "source": pick.choice(["Google", "example.org", None]),
            "browser": pick.choice(["Firefox", "Chrome", None]),
            "device": pick.choice(["mobile", "laptop", None]),
            "country": pick.choice(["DE", "FR", None]),
        }
        for _ in range(pick.randint(1, 3)):
            events.append(
                Event(
                    project_id=project_id,
                    action=Action.VISIT,
                    path=pick.choice(["/", "/docs", "/a,b"]),
                    timestamp=moment,
                    visitor_hash=f"{visitor + 16:016x}",
                    **fields,
                )
            )
            moment += timedelta(seconds=pick.randint(1, 300))
    return events


async def _store(url: str, events: list[Event]) -> None:
    stores = open_stores(url)
    try:
        await stores.events.add(events)
        # The days are over: roll them up, so the export reads the per-day figures.
        await stores.events.refresh(datetime(2026, 3, 10, tzinfo=UTC))
    finally:
        await stores.dispose()


def _tables(path: Path) -> dict[str, list[dict[str, str]]]:
    packed = zipfile.ZipFile(path)
    assert sorted(packed.namelist()) == sorted(
        f"imported_{name}_20260301_20260303.csv" for name in NAMES
    )
    return {
        name.rsplit("_", 2)[0]: list(csv.DictReader(io.StringIO(packed.read(name).decode())))
        for name in packed.namelist()
    }


async def _day_rows(url: str, project_id: str, name: str, day: date) -> list[Any]:
    stores = open_stores(url)
    try:
        found = dimension(name)
        assert found is not None
        return await stores.events.breakdown(project_id, day_range(day), found, (), None)
    finally:
        await stores.dispose()


async def test_the_zip_holds_each_days_figures(database_url: str, tmp_path: Path) -> None:
    project_id = cli_json(database_url, "project", "create", "Zipped")["project"]["id"]
    await _store(database_url, _traffic(project_id))
    target = tmp_path / "site.zip"
    done = cli(
        database_url,
        "export",
        project_id,
        "--format",
        "plausible-zip",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-04",
        "--output",
        str(target),
    )
    assert done.returncode == 0, done.stderr
    assert f"exported 3 days to {target}" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".partial") == []  # noqa: ASYNC240
    tables = _tables(target)

    visitors = tables["imported_visitors"]
    assert [tuple(v.values()) for v in visitors[:2]] == [
        ("2026-03-01", "2", "3", "1", "2", "300"),
        ("2026-03-02", "1", "1", "0", "1", "60"),
    ]
    assert [
        (c["date"], c["name"], c["visitors"], c["events"]) for c in tables["imported_custom_events"]
    ] == [("2026-03-02", "Signup", "1", "1")]
    assert tables["imported_locations"][0] == {
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

    # The random day: each table's lines are the store's breakdown of that day.
    day = DAYS[2]
    for table, name, column in (
        ("imported_pages", "page", "page"),
        ("imported_sources", "source", "source"),
        ("imported_browsers", "browser", "browser"),
        ("imported_exit_pages", "exit_page", "exit_page"),
    ):
        rows = await _day_rows(database_url, project_id, name, day)
        mine = [line for line in tables[table] if line["date"] == day.isoformat()]
        assert [(line[column], int(line["visitors"])) for line in mine] == [
            (row.value or "", row.figures.visitors) for row in rows
        ], table
        assert [int(line["pageviews"]) for line in mine] == [
            row.figures.totals.pageviews for row in rows
        ], table


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--from", "2026-03-05", "--to", "2026-03-01"), "must be after from"),
        (("--from", "2026-02-30"), "is not a date"),
        (("--format", "plausible"), "plausible-zip"),
    ],
)
def test_bad_input_is_one_clear_message_and_no_zip(
    tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'zip.db'}"
    project_id = cli_json(url, "project", "create", "Zipped")["project"]["id"]
    target = tmp_path / "out.zip"
    done = cli(
        url, "export", project_id, "--format", "plausible-zip", *arguments, "--output", str(target)
    )
    assert done.returncode in (1, 2), done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()
    assert not list(tmp_path.glob(".*.partial"))


def test_an_unknown_project_writes_no_zip(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'zip.db'}"
    target = tmp_path / "out.zip"
    done = cli(
        url, "export", "prj_0000000000000000", "--format", "plausible-zip", "--output", str(target)
    )
    assert done.returncode == 1
    assert "no project" in done.stderr
    assert not target.exists()
