"""`privalytics export` over SQLite and PostgreSQL: every event of the range, oldest first,
across the pages the store reads (ties of one millisecond included), to a file written
whole or not at all."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from privalytics.adapters.export import COLUMNS
from privalytics.adapters.sqlalchemy import open_stores
from privalytics.domain.models import Action, Event
from privalytics.domain.reporting import EXPORT_CHUNK
from tests.servers import cli, cli_json

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'export.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _events(project_id: str, now: datetime) -> list[Event]:
    """More than a page of events in one millisecond, then one a minute, then another
    project's (never exported with this one)."""
    tie = now - timedelta(hours=5)
    same = [
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path=f"/tie/{index}",
            timestamp=tie,
            visitor_hash=f"{index:016x}",
        )
        for index in range(EXPORT_CHUNK + 7)
    ]
    later = [
        Event(
            project_id=project_id,
            action=Action.SCROLL,
            path=f"/later/{index}",
            timestamp=tie + timedelta(minutes=index + 1),
            visitor_hash="abcdef0123456789",
            value=float(index % 100),
            country="FR",
        )
        for index in range(50)
    ]
    other = [
        Event(
            project_id="prj_other",
            action=Action.VISIT,
            path="/elsewhere",
            timestamp=tie,
            visitor_hash="0000000000000001",
        )
    ]
    return same + later + other


async def _store(url: str, events: list[Event]) -> None:
    stores = open_stores(url)
    try:
        await stores.events.add(events)
    finally:
        await stores.dispose()


async def test_every_event_of_the_range_in_order_across_pages(
    database_url: str, tmp_path: Path
) -> None:
    project_id = cli_json(database_url, "project", "create", "Exported")["project"]["id"]
    now = datetime.now(UTC)
    events = _events(project_id, now)
    await _store(database_url, events)
    mine = [event for event in events if event.project_id == project_id]

    as_csv = tmp_path / "events.csv"
    done = cli(database_url, "export", project_id, "--output", str(as_csv))
    assert done.returncode == 0, done.stderr
    assert f"exported {len(mine)} events" in done.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.read_text())))
    assert tuple(rows[0]) == COLUMNS
    # The ties in the order they were stored; no event twice, none missing.
    assert [row["path"] for row in rows] == [event.path for event in mine]
    assert rows[-1]["country"] == "FR"

    as_jsonl = tmp_path / "events.jsonl"
    done = cli(database_url, "export", project_id, "--format", "jsonl", "--output", str(as_jsonl))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in as_jsonl.read_text().splitlines()]
    assert [record["path"] for record in records] == [event.path for event in mine]
    assert records[-1]["value"] == 49.0

    since = (now - timedelta(hours=5) + timedelta(minutes=30, seconds=30)).isoformat()
    done = cli(
        database_url, "export", project_id, "--from", since, "--format", "jsonl", "--output", "-"
    )
    assert done.returncode == 0, done.stderr
    paths = [json.loads(line)["path"] for line in done.stdout.splitlines()]
    assert paths == [f"/later/{index}" for index in range(30, 50)]


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (("--period", "7d", "--from", "2026-01-01"), 2, "not both"),
        (("--from", "yesterday"), 2, "is not a date"),
        (("--from", "2026-01-01T08:00"), 2, "needs an offset"),
        (("--format", "xml"), 2, "xml"),
    ],
)
def test_bad_arguments_are_one_clear_message_and_no_file(
    tmp_path: Path, arguments: tuple[str, ...], code: int, message: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'export.db'}"
    project_id = cli_json(url, "project", "create", "Exported")["project"]["id"]
    target = tmp_path / "out.csv"
    done = cli(url, "export", project_id, *arguments, "--output", str(target))
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()
    assert not list(tmp_path.glob(".*.partial"))


def test_an_unknown_project_or_folder_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'export.db'}"
    target = tmp_path / "out.csv"
    done = cli(url, "export", "prj_0000000000000000", "--output", str(target))
    assert done.returncode == 1
    assert "no project" in done.stderr
    assert not target.exists()
    project_id = cli_json(url, "project", "create", "Exported")["project"]["id"]
    done = cli(url, "export", project_id, "--output", str(tmp_path / "missing" / "out.csv"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr
