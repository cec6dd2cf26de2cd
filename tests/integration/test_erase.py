"""`privalytics project erase`: the events of a range go, and every figure is then what a
database that never held them shows (rollups of whole and partial days recomputed)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.domain.models import Action, Event
from tests.servers import CLI, _env, cli, cli_json

pytestmark = pytest.mark.slow

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases: the one erased from, and the one that never held the events."""
    if request.param == "sqlite":
        yield (
            f"sqlite+aiosqlite:///{tmp_path / 'erased.db'}",
            f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
        )
        return
    from tests.integration.conftest import (
        create_database,
        drop_database,
        fresh_database_name,
        run_in_thread,
    )

    names = [fresh_database_name(), fresh_database_name()]
    urls = [run_in_thread(create_database(name)) for name in names]
    try:
        yield urls[0], urls[1]
    finally:
        for name in names:
            run_in_thread(drop_database(name))


def _events(project_id: str) -> list[Event]:
    """Six days back to yesterday, every three hours, two pages, a visitor per slot."""
    found = []
    for hours in range(0, 6 * 24, 3):
        moment = TODAY - timedelta(days=6) + timedelta(hours=hours, minutes=7)
        found.append(
            Event(
                project_id=project_id,
                action=Action.VISIT if hours % 2 == 0 else Action.CLICK,
                path=f"/{hours % 2}",
                target=None if hours % 2 == 0 else "https://else.example/",
                timestamp=moment,
                visitor_hash=f"{hours:016x}",
            )
        )
    return found


async def _copy_project(source: str, target: str, project_id: str) -> None:
    await migrate(target)
    before, after = open_stores(source), open_stores(target)
    try:
        project = await before.tokens.get_project(project_id)
        (token,) = await before.tokens.list_tokens(project_id)
        assert project is not None
        await after.tokens.add_project(project, token)
    finally:
        await before.dispose()
        await after.dispose()


async def _store(url: str, events: list[Event]) -> None:
    stores = open_stores(url)
    try:
        await stores.events.add(events)
    finally:
        await stores.dispose()


def _stats(url: str, project_id: str) -> object:
    """The last 7 days' numbers, without the ranges (now moves between two reads)."""
    done = cli(url, "stats", project_id, "--period", "7d", "--json")
    assert done.returncode == 0, done.stderr

    def without_ranges(value: object) -> object:
        if isinstance(value, dict):
            return {k: without_ranges(v) for k, v in value.items() if k != "range"}
        if isinstance(value, list):
            return [without_ranges(item) for item in value]
        return value

    return without_ranges(json.loads(done.stdout))


async def test_after_an_erase_the_figures_are_those_of_a_database_without_the_events(
    database_urls: tuple[str, str],
) -> None:
    erased_url, never_url = database_urls
    project_id = cli_json(erased_url, "project", "create", "Erased")["project"]["id"]
    events = _events(project_id)
    await _store(erased_url, events)
    assert cli(erased_url, "rollup").returncode == 0  # the days' figures, computed first
    # From the middle of the fifth day back to the start of the third: a partial day and
    # two whole ones.
    start, end = TODAY - timedelta(days=5, hours=-12), TODAY - timedelta(days=2)
    done = cli(
        erased_url,
        "project",
        "erase",
        project_id,
        "--from",
        start.isoformat(),
        "--to",
        end.strftime("%Y-%m-%d"),
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    kept = [event for event in events if not start <= event.timestamp < end]
    assert f"erased {len(events) - len(kept)} events" in done.stdout

    # The same project in a database that only ever held what was kept.
    await _copy_project(erased_url, never_url, project_id)
    await _store(never_url, kept)
    assert cli(never_url, "rollup").returncode == 0
    assert _stats(erased_url, project_id) == _stats(never_url, project_id)


def test_erase_asks_first_and_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'erase.db'}"
    project_id = cli_json(url, "project", "create", "Kept")["project"]["id"]
    declined = subprocess.run(
        [*CLI, "project", "erase", project_id, "--from", "2026-01-01", "--to", "2026-02-01"],
        env=_env(url),
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert declined.returncode == 1
    assert "erased" not in declined.stdout
    for arguments, code, message in [
        (("--from", "2026-02-01", "--to", "2026-01-01"), 2, "--to must be after --from"),
        (("--from", "soon", "--to", "2026-01-01"), 2, "is not a date"),
    ]:
        done = cli(url, "project", "erase", project_id, *arguments, "--yes")
        assert done.returncode == code, done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr
    unknown = cli(
        url,
        "project",
        "erase",
        "prj_0000000000000000",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
        "--yes",
    )
    assert unknown.returncode == 1
    assert "no project" in unknown.stderr
