"""`privalytics import` on a real SQLite file and on PostgreSQL: an access log's page views
give the figures the same requests sent live give (rollups included: the import marks its
days stale as live inserts do), once per file, and a malformed file stores nothing; the
command's messages are plain lines, never a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from privalytics import bootstrap
from privalytics.adapters.importformats import parse, sha256_of
from privalytics.cli import main
from privalytics.config import Settings
from privalytics.domain.errors import NotFound
from privalytics.domain.importing import ACCESS_LOG, ImportSummary, MalformedFile
from privalytics.domain.models import Action, ClientInfo, IncomingEvent, TimeRange, TokenKind
from privalytics.domain.services import Services
from privalytics.testing import ManualClock
from tests.unit.test_importing import DAY, REQUESTS, log_line, write_log

BREAKDOWNS = ("page", "source", "browser", "os", "device", "country", "utm_source")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'imports.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def world(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Services, ManualClock]]:
    monkeypatch.setenv("PRIVALYTICS_BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("PRIVALYTICS_BOT_FILTER", raising=False)
    chosen = bootstrap.settings(database_url=database_url)
    await bootstrap.migrate(chosen)
    clock = ManualClock()
    clock.set(DAY + timedelta(hours=23))
    services = bootstrap.build(chosen, clock=clock)
    try:
        yield services, clock
    finally:
        await services.aclose()


async def _import(services: Services, project_id: str, path: Path) -> ImportSummary:
    assert services.importing is not None
    return await services.importing.run(
        project_id, form=ACCESS_LOG, sha256=sha256_of(path), read=lambda: parse(path, ACCESS_LOG)
    )


async def _count(services: Services, project_id: str) -> int:
    span = TimeRange(start=DAY - timedelta(days=10), end=DAY + timedelta(days=10))
    return await services.reporting.count_events(project_id, span)


async def test_imported_figures_equal_live_ones_and_a_second_import_adds_nothing(
    world: tuple[Services, ManualClock], tmp_path: Path
) -> None:
    services, clock = world
    imported = (await services.admin.create_project("imported")).project.id
    live = (await services.admin.create_project("live")).project.id
    path = write_log(tmp_path / "access.log", REQUESTS)
    summary = await _import(services, imported, path)
    assert summary.record.events == 5
    token = (await services.admin.issue_token(live, kind=TokenKind.SERVER)).token
    backend = ClientInfo(ip="192.0.2.1", user_agent="privalytics-client/1")
    for ip, agent, minutes, target, status, referrer in REQUESTS:
        if status not in (200, 304) or target.endswith(".css"):
            continue  # no tracker reports those
        sent = IncomingEvent(
            action=Action.VISIT,
            path=target,
            referrer=None if referrer == "-" else referrer,
            timestamp=DAY + timedelta(hours=8, minutes=minutes),
            visitor_ip=ip,
            user_agent="" if agent == "-" else agent,
        )
        await services.ingestion.record(token, [sent], backend)
    # The day is over: its figures come from the rollups, which the import marked stale.
    clock.set(DAY + timedelta(days=2))
    assert await services.refresh_rollups() >= 2
    day = TimeRange(start=DAY, end=DAY + timedelta(days=1))
    a = await services.reporting.stats(imported, day)
    b = await services.reporting.stats(live, day)
    assert a.visits == b.visits == 5
    assert (a.unique_visitors, a.sessions, a.bounce_rate, a.visit_duration) == (
        b.unique_visitors,
        b.sessions,
        b.bounce_rate,
        b.visit_duration,
    )
    assert a.top_pages == b.top_pages
    assert a.imported
    assert not b.imported
    for dimension in BREAKDOWNS:
        found = await services.reporting.breakdown(imported, day, dimension)
        expected = await services.reporting.breakdown(live, day, dimension)
        assert found.rows == expected.rows, dimension
        assert found.imported
    again = await _import(services, imported, path)
    assert again.already
    assert again.record.id == summary.record.id
    assert await _count(services, imported) == 5
    assert services.importing is not None
    assert [r.id for r in await services.importing.imports(imported)] == [summary.record.id]


async def test_a_malformed_file_stores_nothing(
    world: tuple[Services, ManualClock], tmp_path: Path
) -> None:
    services, _ = world
    project_id = (await services.admin.create_project("site")).project.id
    path = tmp_path / "bad.log"
    path.write_text("".join(log_line(*r) for r in REQUESTS) + "truncated line\n")
    with pytest.raises(MalformedFile, match=f"line {len(REQUESTS) + 1}:"):
        await _import(services, project_id, path)
    assert await _count(services, project_id) == 0
    assert services.importing is not None
    assert await services.importing.imports(project_id) == []
    # The file, corrected, imports: the refusal left no registry line behind.
    path.write_text("".join(log_line(*r) for r in REQUESTS))
    assert (await _import(services, project_id, path)).record.events == 5


async def test_a_large_import_is_stored_in_batches_in_one_go(
    world: tuple[Services, ManualClock], tmp_path: Path
) -> None:
    """More events than a batch (5,000), many distinct texts: every one stored."""
    services, _ = world
    project_id = (await services.admin.create_project("site")).project.id
    requests = [
        (f"10.0.{n // 250}.{n % 250}", REQUESTS[0][1], n % 600, f"/p/{n}", 200, "-")
        for n in range(12_000)
    ]
    summary = await _import(services, project_id, write_log(tmp_path / "big.log", requests))
    assert summary.record.events == 12_000
    assert await _count(services, project_id) == 12_000
    stats = await services.reporting.stats(project_id, TimeRange(start=DAY, end=DAY + timedelta(1)))
    assert stats.unique_visitors == 12_000


async def _bot_days(url: str, project_id: str) -> list[tuple[object, str, int]]:
    services = bootstrap.build(Settings(database_url=url))
    try:
        report = await services.bot_report(
            project_id, TimeRange(start=DAY, end=DAY + timedelta(days=1))
        )
        return [(d.day, d.reason, d.count) for d in report.days]
    finally:
        await services.aclose()


def test_the_command_says_what_it_did_in_plain_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVALYTICS_BCRYPT_ROUNDS", "4")
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["--database-url", url, *args])

    created = run("project", "create", "site", "--json")
    assert created.exit_code == 0, created.output
    project_id = __import__("json").loads(created.output)["project"]["id"]
    log = write_log(tmp_path / "access.log", REQUESTS)
    done = run("import", project_id, str(log))
    assert done.exit_code == 0, done.output
    assert f"imported 5 events from {log} into {project_id}" in done.output
    assert "10 lines read" in done.output
    assert "dropped: " in done.output
    assert "1 bot: Googlebot" in done.output
    stored = b"".join(
        path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("cli.db")
    )
    for ip, agent, *_ in REQUESTS:
        assert ip.encode() not in stored
        if agent != "-":
            assert agent.encode() not in stored
            assert agent.split(") ")[0].encode() not in stored
    again = run("import", project_id, str(log), "--format", "access-log")
    assert again.exit_code == 0
    assert "imported into" in again.output
    assert "nothing was stored again" in again.output
    # The file's bots were written to the stored bot log by the command, once.
    assert asyncio.run(_bot_days(url, project_id)) == [
        (DAY.date(), "Googlebot", 1),
        (DAY.date(), "empty user agent", 1),
    ]
    listed = run("project", "imports", project_id)
    assert listed.exit_code == 0
    assert "access-log" in listed.output
    assert "5 events" in listed.output
    assert listed.output.count("imp_") == 1
    bad = tmp_path / "bad.log"
    bad.write_text(log_line(*REQUESTS[0]) + "81.2.69.142 secret-agent\n")
    refused = run("import", project_id, str(bad))
    assert refused.exit_code == 2
    assert "line 2: not in the combined log format" in refused.output
    assert "nothing was imported" in refused.output
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\n")
    for args, words in (
        ((project_id, str(unknown)), "cannot tell the format"),
        ((project_id, str(tmp_path / "missing.log")), "cannot read"),
        (("prj_missing", str(log)), "no project"),
    ):
        result = run("import", *args)
        assert result.exit_code != 0
        assert words in result.output
        assert "Traceback" not in result.output
    for result in (done, again, refused):
        assert "81.2.69.142" not in result.output
        assert "secret-agent" not in result.output
        assert "Chrome/120" not in result.output


async def test_a_goatcounter_export_is_imported(
    world: tuple[Services, ManualClock], tmp_path: Path
) -> None:
    services, _ = world
    project_id = (await services.admin.create_project("site")).project.id
    path = tmp_path / "export.csv"
    path.write_text(
        "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,"
        "Screen size,Location,FirstVisit,Date\n"
        '/a,A,false,,Firefox 121,Linux,s1,0,www.google.com/,h,"1920,1080,1",DE-BE,true,'
        "2026-12-05T10:00:00Z\n"
        '/b,B,false,,Firefox 121,Linux,s1,0,,,"1920,1080,1",DE-BE,false,2026-12-05T10:05:00Z\n'
        '/a,A,false,,Safari 17,iOS 17.4,s2,0,,,"390,844,3",US,true,2026-12-05T11:00:00Z\n'
        '/a,A,false,,Chrome 120,Linux,s3,7,,,"",,true,2026-12-05T12:00:00Z\n'
    )
    assert services.importing is not None
    summary = await services.importing.run(
        project_id,
        form="goatcounter",
        sha256=sha256_of(path),
        read=lambda: parse(path, "goatcounter"),
    )
    assert summary.record.events == 3
    assert summary.dropped == {"bot": 1}
    day = TimeRange(start=DAY, end=DAY + timedelta(days=1))
    stats = await services.reporting.stats(project_id, day)
    assert (stats.visits, stats.unique_visitors, stats.sessions) == (3, 2, 2)
    countries = await services.reporting.breakdown(project_id, day, "country")
    assert [(row.value, row.figures.visitors) for row in countries.rows] == [("DE", 1), ("US", 1)]
    assert countries.imported


async def test_deleting_the_project_deletes_its_registry(
    world: tuple[Services, ManualClock], tmp_path: Path
) -> None:
    services, _ = world
    project_id = (await services.admin.create_project("site")).project.id
    await _import(services, project_id, write_log(tmp_path / "access.log", REQUESTS))
    await services.admin.delete_project(project_id)
    assert services.importing is not None
    with pytest.raises(NotFound):
        await services.importing.imports(project_id)
    # The registry's lines went with the project (a foreign key on SQL).
    assert await services.importing._imports.list_imports(project_id) == []
    recreated = (await services.admin.create_project("site")).project.id
    # The same file into a new project: imported, not "already".
    again = await _import(services, recreated, tmp_path / "access.log")
    assert not again.already
