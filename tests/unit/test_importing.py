"""Importing a file (the use case, on the memory adapters): imported requests become the
events the same requests sent live would have been; bots and non-pages are dropped; a
file is stored whole or not at all, once; no address or agent is kept or told."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from privalytics.adapters.importformats import parse, sha256_of
from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.importing import ACCESS_LOG, GOATCOUNTER, MalformedFile
from privalytics.domain.models import (
    Action,
    ClientInfo,
    Event,
    IncomingEvent,
    TimeRange,
    TokenKind,
)
from privalytics.domain.services import IngestSettings, Services
from privalytics.testing import ManualClock, bot_detector, make_services

DAY = datetime(2026, 12, 5, tzinfo=UTC)
DAY_LENGTH = timedelta(days=1)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
# (address, agent, minutes after 08:00, request target, status, referrer)
REQUESTS = [
    ("81.2.69.142", CHROME, 0, "/?utm_source=newsletter&utm_campaign=dec", 200, "-"),
    ("81.2.69.142", CHROME, 1, "/style.css", 200, "https://blog.example/"),
    ("81.2.69.142", CHROME, 2, "/pricing", 200, "https://blog.example/"),
    ("2001:db8::1", IPHONE, 5, "/", 200, "https://www.google.com/search?q=x"),
    ("2001:0db8:0000::0001", IPHONE, 45, "/docs/start", 304, "-"),
    ("66.249.66.1", GOOGLEBOT, 50, "/", 200, "-"),
    ("198.51.100.9", "-", 55, "/", 200, "-"),
    ("198.51.100.9", CHROME, 56, "/login", 302, "-"),
    ("198.51.100.9", CHROME, 57, "/nope", 404, "-"),
    ("175.45.176.1", CHROME, 90, "/pricing", 200, "https://news.ycombinator.com/item?id=1"),
]


def log_line(ip: str, agent: str, minutes: int, target: str, status: int, referrer: str) -> str:
    moment = DAY + timedelta(hours=8, minutes=minutes)
    when = moment.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{ip} - - [{when}] "GET {target} HTTP/1.1" {status} 100 "{referrer}" "{agent}"\n'


def write_log(path: Path, requests: Iterable[tuple[str, str, int, str, int, str]]) -> Path:
    path.write_text("".join(log_line(*request) for request in requests))
    return path


@pytest.fixture
def services(clock: ManualClock) -> Services:
    clock.set(DAY + timedelta(hours=23))
    return make_services(clock, bots=bot_detector())


async def new_project(services: Services) -> str:
    return (await services.admin.create_project("site")).project.id


async def import_file(services: Services, project_id: str, path: Path, form: str = ACCESS_LOG):
    assert services.importing is not None
    return await services.importing.run(
        project_id, form=form, sha256=sha256_of(path), read=lambda: parse(path, form)
    )


async def stored(services: Services, project_id: str) -> list[Event]:
    span = TimeRange(start=DAY - timedelta(days=30), end=DAY + timedelta(days=30))
    found: list[Event] = []
    async for chunk in await services.reporting.export(project_id, span):
        found.extend(chunk)
    return found


async def test_page_views_are_stored_and_the_rest_dropped_with_reasons(
    services: Services, tmp_path: Path
) -> None:
    project_id = await new_project(services)
    summary = await import_file(services, project_id, write_log(tmp_path / "a.log", REQUESTS))
    assert not summary.already
    assert summary.lines == len(REQUESTS)
    assert summary.dropped == {
        "asset": 1,
        "bot: Googlebot": 1,
        "bot: empty user agent": 1,
        "redirect": 1,
        "error status": 1,
    }
    events = await stored(services, project_id)
    assert [e.path for e in events] == ["/", "/pricing", "/", "/docs/start", "/pricing"]
    assert summary.record.events == 5
    assert summary.record.first == DAY + timedelta(hours=8)
    assert summary.record.last == DAY + timedelta(hours=9, minutes=30)
    first = events[0]
    assert (first.utm_source, first.utm_campaign, first.source) == (
        "newsletter",
        "dec",
        "newsletter",
    )
    assert (first.browser, first.os) == ("Chrome", "Windows")
    assert events[2].source == "Google"
    assert events[2].device == "mobile"
    assert events[4].source == "Hacker News"


async def test_one_visitor_per_address_and_agent_within_a_day_not_across_days(
    services: Services, clock: ManualClock, tmp_path: Path
) -> None:
    clock.set(DAY + timedelta(days=2))
    project_id = await new_project(services)
    requests = [
        ("81.2.69.142", CHROME, 0, "/a", 200, "-"),
        ("81.2.69.142", CHROME, 60, "/b", 200, "-"),
        # The same address written another way: the same visitor, as live.
        ("2001:db8::1", IPHONE, 61, "/a", 200, "-"),
        ("2001:0db8::0:1", IPHONE, 62, "/b", 200, "-"),
        ("81.2.69.142", CHROME, 24 * 60, "/c", 200, "-"),
    ]
    await import_file(services, project_id, write_log(tmp_path / "v.log", requests))
    hashes = [e.visitor_hash for e in await stored(services, project_id)]
    assert hashes[0] == hashes[1]
    assert hashes[2] == hashes[3] != hashes[0]
    # Another day, another (fresh, unstored) salt: not linkable to the first day.
    assert hashes[4] not in hashes[:4]


async def test_imported_events_equal_the_same_requests_sent_live(
    services: Services, tmp_path: Path
) -> None:
    imported_id = await new_project(services)
    live_id = await new_project(services)
    await import_file(services, imported_id, write_log(tmp_path / "a.log", REQUESTS))
    token = (await services.admin.issue_token(live_id, kind=TokenKind.SERVER)).token
    backend = ClientInfo(ip="192.0.2.1", user_agent="privalytics-client/1")
    pages = [r for r in REQUESTS if r[4] in (200, 304) and not r[3].endswith(".css")]
    for ip, agent, minutes, target, _, referrer in pages:
        sent = IncomingEvent(
            action=Action.VISIT,
            path=target,
            referrer=None if referrer == "-" else referrer,
            timestamp=DAY + timedelta(hours=8, minutes=minutes),
            visitor_ip=ip,
            user_agent="" if agent == "-" else agent,
        )
        await services.ingestion.record(token, [sent], backend)
    imported, live = await stored(services, imported_id), await stored(services, live_id)

    def fields(event: Event) -> dict[str, object]:
        kept = msgspec.structs.asdict(event)
        del kept["project_id"], kept["visitor_hash"]
        return kept

    assert [fields(e) for e in imported] == [fields(e) for e in live]

    def visitors(events: list[Event]) -> list[int]:
        first: dict[str, int] = {}
        return [first.setdefault(e.visitor_hash, len(first)) for e in events]

    assert visitors(imported) == visitors(live)
    span = TimeRange(start=DAY, end=DAY + timedelta(days=1))
    a = await services.reporting.stats(imported_id, span)
    b = await services.reporting.stats(live_id, span)
    assert (a.visits, a.unique_visitors, a.sessions, a.bounce_rate) == (
        b.visits,
        b.unique_visitors,
        b.sessions,
        b.bounce_rate,
    )
    assert a.imported
    assert not b.imported


async def test_no_address_or_agent_is_stored_or_told(services: Services, tmp_path: Path) -> None:
    project_id = await new_project(services)
    await import_file(services, project_id, write_log(tmp_path / "a.log", REQUESTS))
    text = msgspec.json.encode(await stored(services, project_id)).decode()
    for ip, agent, *_ in REQUESTS:
        assert ip not in text
        if agent != "-":
            assert agent not in text
    bad = tmp_path / "bad.log"
    bad.write_text(log_line(*REQUESTS[0]) + "81.2.69.142 Mozilla/5.0 secret-agent\n")
    with pytest.raises(MalformedFile) as refused:
        await import_file(services, project_id, bad)
    assert "81.2.69.142" not in str(refused.value)
    assert "secret-agent" not in str(refused.value)


async def test_a_malformed_line_stores_nothing_and_names_its_line(
    services: Services, tmp_path: Path
) -> None:
    project_id = await new_project(services)
    path = tmp_path / "bad.log"
    good = [log_line(*r) for r in REQUESTS]
    path.write_text("".join(good[:3]) + "\nnot a log line\n" + "".join(good[3:]) + "also bad\n")
    with pytest.raises(MalformedFile) as refused:
        await import_file(services, project_id, path)
    assert refused.value.count == 2
    assert [number for number, _ in refused.value.lines] == [5, len(good) + 3]
    assert "line 5: not in the combined log format" in str(refused.value)
    assert isinstance(refused.value, InvalidInput)
    assert await stored(services, project_id) == []
    assert services.importing is not None
    assert await services.importing.imports(project_id) == []


async def test_the_bots_of_an_imported_file_are_counted_in_the_bot_log_once(
    services: Services, tmp_path: Path
) -> None:
    """As live bots are: per UTC day and reason, and only for a file that was stored
    (a refused file counts nothing, the same file again nothing more)."""
    project_id = await new_project(services)
    early_bot = ("66.249.66.1", GOOGLEBOT, -60 * 9, "/", 200, "-")  # 23:00 the day before
    span = TimeRange(start=DAY - DAY_LENGTH, end=DAY + DAY_LENGTH)
    bad = tmp_path / "bad.log"
    bad.write_text("".join(log_line(*r) for r in [*REQUESTS, early_bot]) + "not a log line\n")
    with pytest.raises(MalformedFile):
        await import_file(services, project_id, bad)
    assert (await services.bot_report(project_id, span)).total == 0
    good = write_log(tmp_path / "good.log", [*REQUESTS, early_bot])
    await import_file(services, project_id, good)
    await services.flush_bot_log()
    expected = [
        ((DAY - DAY_LENGTH).date(), "Googlebot", 1),
        (DAY.date(), "Googlebot", 1),
        (DAY.date(), "empty user agent", 1),
    ]
    report = await services.bot_report(project_id, span)
    assert [(d.day, d.reason, d.count) for d in report.days] == expected
    assert (await import_file(services, project_id, good)).already
    report = await services.bot_report(project_id, span)
    assert [(d.day, d.reason, d.count) for d in report.days] == expected


async def test_a_path_validation_refuses_is_a_malformed_line(
    services: Services, tmp_path: Path
) -> None:
    project_id = await new_project(services)
    path = write_log(
        tmp_path / "long.log", [("81.2.69.142", CHROME, 0, "/" + "a" * 3000, 200, "-")]
    )
    with pytest.raises(MalformedFile, match="line 1: path"):
        await import_file(services, project_id, path)


async def test_importing_the_same_file_again_stores_nothing(
    services: Services, tmp_path: Path
) -> None:
    project_id = await new_project(services)
    path = write_log(tmp_path / "a.log", REQUESTS)
    first = await import_file(services, project_id, path)
    again = await import_file(services, project_id, path.rename(tmp_path / "renamed.log"))
    assert again.already
    assert again.record == first.record
    assert len(await stored(services, project_id)) == 5
    # Another project may import it.
    other = await new_project(services)
    assert not (await import_file(services, other, tmp_path / "renamed.log")).already


async def test_only_ranges_holding_imported_events_say_so(
    services: Services, tmp_path: Path
) -> None:
    project_id = await new_project(services)
    await import_file(services, project_id, write_log(tmp_path / "a.log", REQUESTS))
    day = TimeRange(start=DAY, end=DAY + timedelta(days=1))
    before = TimeRange(start=DAY - timedelta(days=1), end=DAY)
    assert (await services.reporting.stats(project_id, day)).imported
    assert not (await services.reporting.stats(project_id, before)).imported
    assert (await services.reporting.breakdown(project_id, day, "browser")).imported
    assert not (await services.reporting.breakdown(project_id, before, "browser")).imported


async def test_an_unknown_project_is_not_found(services: Services, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await import_file(services, "prj_missing", write_log(tmp_path / "a.log", REQUESTS))


async def test_events_before_the_kept_raw_events_are_refused(
    clock: ManualClock, tmp_path: Path
) -> None:
    clock.set(DAY + timedelta(days=40))
    services = make_services(clock, IngestSettings(event_retention_days=30))
    project_id = await new_project(services)
    with pytest.raises(InvalidInput, match="before 2026-12-15"):
        await import_file(services, project_id, write_log(tmp_path / "a.log", REQUESTS))
    assert await stored(services, project_id) == []


GC_HEADER = (
    "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,"
    "Screen size,Location,FirstVisit,Date\n"
)


async def test_a_goatcounter_export_is_imported_with_its_sessions_as_visitors(
    services: Services, tmp_path: Path
) -> None:
    project_id = await new_project(services)
    path = tmp_path / "gc.csv"
    path.write_text(
        GC_HEADER + '/a,T,false,,Firefox 121,Linux,s1,0,www.google.com/,h,"1920,1080,1",DE-BE,true,'
        "2026-12-05T10:00:00Z\n"
        + '/b,T,false,,Firefox 121,Linux,s1,0,,,"1920,1080,1",DE-BE,false,2026-12-05T10:01:00Z\n'
        + '/a,T,false,,Safari 17,iOS 17.4,s2,0,Hacker News,g,"390,844,3",US,true,'
        "2026-12-05T11:00:00Z\n"
        + '/a,T,false,,Chrome 120,Linux,s3,7,,,"",,true,2026-12-05T12:00:00Z\n'
        + 'signup,,true,,Safari 17,iOS 17.4,s2,0,,,"390,844,3",US,false,2026-12-05T11:01:00Z\n'
    )
    summary = await import_file(services, project_id, path, GOATCOUNTER)
    assert summary.dropped == {"bot": 1}
    # GoatCounter's own bot flag: counted in the bot log on its day, as a live bot.
    report = await services.bot_report(project_id, TimeRange(start=DAY, end=DAY + DAY_LENGTH))
    assert [(d.day, d.reason, d.count) for d in report.days] == [(DAY.date(), "bot", 1)]
    events = await stored(services, project_id)
    assert [(e.action, e.path, e.name) for e in events] == [
        (Action.VISIT, "/a", None),
        (Action.VISIT, "/b", None),
        (Action.VISIT, "/a", None),
        (Action.CUSTOM, "/", "signup"),
    ]
    assert events[0].visitor_hash == events[1].visitor_hash != events[2].visitor_hash
    assert events[2].visitor_hash == events[3].visitor_hash
    assert (events[0].source, events[0].country, events[0].region) == ("Google", "DE", "DE-BE")
    assert (events[2].source, events[2].device, events[2].os_version) == (
        "Hacker News",
        "mobile",
        "17.4",
    )
