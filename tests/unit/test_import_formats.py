"""The files `privalytics import` reads: combined-format access logs and GoatCounter
exports, parsed line by line into hits, dropped lines (with a reason) and malformed ones
(with their line number, never their content)."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privalytics.adapters.importformats import (
    access_log_line,
    access_log_lines,
    detect,
    goatcounter_lines,
    parse,
    sha256_of,
)
from privalytics.domain.importing import (
    ACCESS_LOG,
    GOATCOUNTER,
    ImportedHit,
    Malformed,
    Skipped,
)

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IP = "203.0.113.77"


def line(
    *,
    request: str = "GET /blog/post?utm_source=news HTTP/1.1",
    status: int = 200,
    referrer: str = "https://www.google.com/",
    agent: str = CHROME,
    when: str = "05/Dec/2026:10:00:00 +0100",
) -> str:
    return f'{IP} - alice [{when}] "{request}" {status} 1234 "{referrer}" "{agent}"\n'


def test_a_page_view_is_read_whole() -> None:
    hit = access_log_line(3, line())
    assert hit == ImportedHit(
        line=3,
        timestamp=datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
        page="/blog/post?utm_source=news",
        referrer="https://www.google.com/",
        ip=IP,
        user_agent=CHROME,
    )


def test_nginx_extra_fields_and_a_dash_size_are_read() -> None:
    text = line().rstrip("\n").replace(" 1234 ", " - ") + ' 0.012 "-"\n'
    assert isinstance(access_log_line(1, text), ImportedHit)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"request": "POST /login HTTP/1.1"}, "method"),
        ({"request": "HEAD / HTTP/1.1"}, "method"),
        ({"status": 404}, "error status"),
        ({"status": 500}, "error status"),
        ({"status": 301}, "redirect"),
        ({"status": 302}, "redirect"),
        ({"request": "GET /static/app.CSS?v=3 HTTP/1.1"}, "asset"),
        ({"request": "GET /favicon.ico HTTP/1.1"}, "asset"),
        ({"request": "GET /img/a.webp HTTP/2.0"}, "asset"),
        ({"request": "GET /fonts/x.woff2 HTTP/1.1"}, "asset"),
        ({"request": "GET /robots.txt HTTP/1.1"}, "asset"),
        ({"request": "-"}, "not an HTTP request"),
        ({"request": "\\x16\\x03\\x01"}, "not an HTTP request"),
    ],
)
def test_non_page_requests_are_dropped_with_a_reason(
    kwargs: dict[str, object], reason: str
) -> None:
    assert access_log_line(9, line(**kwargs)) == Skipped(line=9, reason=reason)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [200, 204, 304])
def test_successes_and_not_modified_are_page_views(status: int) -> None:
    assert isinstance(access_log_line(1, line(status=status)), ImportedHit)


def test_a_dotted_directory_is_not_an_asset() -> None:
    assert isinstance(access_log_line(1, line(request="GET /v1.2/docs HTTP/1.1")), ImportedHit)


def test_dashes_are_no_referrer_and_an_empty_agent() -> None:
    hit = access_log_line(1, line(referrer="-", agent="-"))
    assert isinstance(hit, ImportedHit)
    assert hit.referrer is None
    assert hit.user_agent == ""


def test_escaped_quotes_and_bytes_are_decoded() -> None:
    hit = access_log_line(
        1, line(request="GET /caf\\xC3\\xA9 HTTP/1.1", agent='Mozilla/5.0 \\"quoted\\"')
    )
    assert isinstance(hit, ImportedHit)
    assert hit.page == "/café"
    assert hit.user_agent == 'Mozilla/5.0 "quoted"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("garbage here\n", "not in the combined log format"),
        (line(when="2026-12-05T10:00:00Z"), "the time is not like"),
        (line(when="05/Foo/2026:10:00:00 +0000"), "the time is not like"),
        (line(when="31/Feb/2026:10:00:00 +0000"), "the time is not like"),
        (line(when="05/Dec/2026:10:00:00 0000"), "the time is not like"),
        (f'{IP} - - [05/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1234\n', "combined"),
    ],
)
def test_malformed_lines_name_their_number_not_their_content(text: str, message: str) -> None:
    found = access_log_line(41, text)
    assert isinstance(found, Malformed)
    assert found.line == 41
    assert message in found.message
    assert IP not in found.message
    assert "Mozilla" not in found.message


def test_line_numbers_count_blank_lines() -> None:
    parsed = list(access_log_lines(io.StringIO(line() + "\n" + "oops\n" + line(status=404))))
    assert [item.line for item in parsed] == [1, 3, 4]
    assert isinstance(parsed[1], Malformed)


def test_the_format_is_told_from_the_first_line(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("\n" + line())
    export = tmp_path / "export.csv"
    export.write_text(HEADER)
    other = tmp_path / "other.txt"
    other.write_text("hello\n")
    assert detect(log) == ACCESS_LOG
    assert detect(export) == GOATCOUNTER
    assert detect(other) is None


def test_a_gzip_compressed_log_is_read(tmp_path: Path) -> None:
    log = tmp_path / "access.log.2.gz"
    log.write_bytes(gzip.compress((line() + line(status=404)).encode()))
    assert detect(log) == ACCESS_LOG
    parsed = list(parse(log, ACCESS_LOG))
    assert isinstance(parsed[0], ImportedHit)
    assert parsed[1] == Skipped(line=2, reason="error status")
    assert len(sha256_of(log)) == 64


HEADER = (
    "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,"
    "Screen size,Location,FirstVisit,Date\n"
)


def gc_row(
    *,
    path: str = "/post",
    event: str = "false",
    browser: str = "Firefox 121",
    system: str = "Linux",
    session: str = "abc123",
    bot: str = "0",
    referrer: str = "news.ycombinator.com/item?id=1",
    scheme: str = "h",
    screen: str = "1920,1080,1",
    location: str = "DE-BE",
    date: str = "2026-12-05T10:00:00Z",
) -> str:
    return (
        f'{path},"A title, with a comma",{event},,{browser},{system},{session},{bot},'
        f'{referrer},{scheme},"{screen}",{location},true,{date}\n'
    )


def test_a_goatcounter_row_keeps_what_goatcounter_derived() -> None:
    (hit,) = list(goatcounter_lines(io.StringIO(HEADER + gc_row())))
    assert isinstance(hit, ImportedHit)
    assert hit.line == 2
    assert hit.timestamp == datetime(2026, 12, 5, 10, tzinfo=UTC)
    assert hit.page == "/post"
    assert hit.referrer == "https://news.ycombinator.com/item?id=1"
    assert hit.session == "abc123"
    assert hit.ip is None
    assert hit.user_agent is None
    assert hit.name is None
    known = hit.known
    assert known is not None
    assert (known.browser, known.browser_version) == ("Firefox", "121")
    assert (known.os, known.os_version) == ("Linux", None)
    assert (known.country, known.region) == ("DE", "DE-BE")
    assert known.device == "desktop"


def test_goatcounter_generated_referrers_are_source_names_and_events_are_named() -> None:
    rows = gc_row(referrer="Hacker News", scheme="g") + gc_row(path="signup-click", event="true")
    first, second = list(goatcounter_lines(io.StringIO(HEADER + rows)))
    assert isinstance(first, ImportedHit)
    assert isinstance(second, ImportedHit)
    assert first.referrer is None
    assert first.known is not None
    assert first.known.source == "Hacker News"
    assert second.name == "signup-click"


def test_goatcounter_bots_are_dropped_with_their_time_for_the_bot_log() -> None:
    parsed = list(goatcounter_lines(io.StringIO(HEADER + gc_row(bot="150"))))
    assert parsed == [
        Skipped(line=2, reason="bot", bot_at=datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (gc_row(date="yesterday"), "Date"),
        (gc_row(date="2026-12-05T10:00:00"), "offset"),
        (gc_row(event="maybe"), "Event"),
        ("/only,three,fields\n", "has 3 fields"),
    ],
)
def test_malformed_goatcounter_rows_name_their_line(rows: str, message: str) -> None:
    parsed = list(goatcounter_lines(io.StringIO(HEADER + gc_row() + rows)))
    assert isinstance(parsed[1], Malformed)
    assert parsed[1].line == 3
    assert message in parsed[1].message


def test_a_version_1_export_or_another_csv_is_refused_at_its_header() -> None:
    old = list(goatcounter_lines(io.StringIO(HEADER.replace("2Path", "1Path") + gc_row())))
    assert len(old) == 1
    assert isinstance(old[0], Malformed)
    assert "version 1" in old[0].message
    other = list(goatcounter_lines(io.StringIO("a,b,c\n1,2,3\n")))
    assert len(other) == 1
    assert isinstance(other[0], Malformed)
    assert other[0].line == 1


def test_an_unclosed_quote_is_malformed() -> None:
    parsed = list(goatcounter_lines(io.StringIO(HEADER + '/x,"never closed\n')))
    assert isinstance(parsed[-1], Malformed)


def test_times_west_of_utc_are_later_in_utc() -> None:
    hit = access_log_line(1, line(when="31/Dec/2026:20:30:00 -0700"))
    assert isinstance(hit, ImportedHit)
    assert hit.timestamp == datetime(2027, 1, 1, 3, 30, tzinfo=UTC)


def test_a_goatcounter_export_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("\ufeff" + HEADER + gc_row(), encoding="utf-8")
    assert detect(export) == GOATCOUNTER
    (hit,) = list(parse(export, GOATCOUNTER))
    assert isinstance(hit, ImportedHit)


@given(st.text(max_size=300))
def test_no_line_makes_the_access_log_parser_raise(text: str) -> None:
    found = access_log_line(1, text)
    assert found is None or isinstance(found, ImportedHit | Skipped | Malformed)


@given(st.lists(st.text(max_size=40), min_size=14, max_size=14))
def test_no_row_makes_the_goatcounter_parser_raise(cells: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    for found in goatcounter_lines(io.StringIO(HEADER + out.getvalue())):
        assert isinstance(found, ImportedHit | Skipped | Malformed)
