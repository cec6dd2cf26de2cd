"""The files ``privalytics import`` reads, line by line into
:data:`~privalytics.domain.importing.Parsed` items (the use case,
:class:`~privalytics.domain.importing.Importing`, does the rest).

**Access logs** in the combined log format (nginx's default ``combined``, Apache's
``LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-agent}i\\""``);
fields after the agent (nginx's ``$request_time``...) are ignored. A gzip-compressed log
(``access.log.2.gz``) is read as well. What is a page view:

- the method is ``GET`` (``HEAD``, ``POST``... are dropped: ``method``);
- the status is 2xx or 304 (a page served from the browser's cache); redirects (other
  3xx: the page they lead to is a request of its own) and errors are dropped;
- the path does not end in an asset's or a file's extension (:data:`ASSETS`: styles,
  scripts, images, fonts, media, feeds, archives, documents);
- the agent is no bot's (the live classifier, in the use case).

**GoatCounter exports** (version 2, the CSV from *Settings → Export*): one line per page
view or event, with the browser, system, screen size and location GoatCounter derived
(kept as it named them) and a session id (the visitor within a salt window). Bots
(``Bot`` not ``0``) are dropped.

Nothing here quotes a line's content in a message: a line holds an address and an agent.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, cast

from privalytics.domain.devices import device_of
from privalytics.domain.geography import location
from privalytics.domain.importing import (
    ACCESS_LOG,
    GOATCOUNTER,
    ImportedHit,
    Malformed,
    Parsed,
    Skipped,
)
from privalytics.domain.models import Derived

ASSETS = frozenset(
    {
        # styles, scripts, maps, data
        "css", "js", "mjs", "map", "json", "xml", "txt", "rss", "atom", "webmanifest",
        # images
        "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "bmp", "tif", "tiff",
        # fonts
        "woff", "woff2", "ttf", "otf", "eot",
        # media
        "mp4", "webm", "ogg", "ogv", "mp3", "wav", "flac", "m4a", "mov", "avi",
        # archives and documents (downloads, not pages)
        "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "pdf", "doc", "docx",
        "xls", "xlsx", "ppt", "pptx", "csv", "exe", "dmg", "msi", "apk", "iso", "wasm",
    }
)  # fmt: skip
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
# "...", with \" and \\ inside; unrolled (no alternation per character): fast on long agents.
_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_COMBINED = re.compile(
    r"(\S+) \S+ \S+ \[([^\]]+)\] " + _QUOTED + r" (\d{3}) (?:\d+|-) " + _QUOTED + " " + _QUOTED
)
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)")
_GOATCOUNTER_FIELDS = 14
_GZIP = b"\x1f\x8b"


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex), as the imports registry knows it."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _open(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP
    raw: IO[bytes] = cast("IO[bytes]", gzip.GzipFile(path, "rb")) if compressed else path.open("rb")
    # Invalid UTF-8 (a log writes what clients sent) is replaced, never refused.
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def detect(path: Path) -> str | None:
    """The file's format by its first line that is not blank; None when neither."""
    with _open(path) as file:
        for line in file:
            if line.strip():
                if _is_goatcounter_header(next(csv.reader([line.lstrip("\ufeff")]))):
                    return GOATCOUNTER
                return ACCESS_LOG if _COMBINED.match(line) else None
    return None


def parse(path: Path, form: str) -> Iterator[Parsed]:
    """The file's lines as parsed items (blank lines yield nothing)."""
    with _open(path) as file:
        if form == GOATCOUNTER:
            yield from goatcounter_lines(file)
        else:
            yield from access_log_lines(file)


# --- access logs ------------------------------------------------------------------------


def _unescape(text: str) -> str:
    """A quoted field as the client sent it: Apache writes ``\\"`` and ``\\\\``, nginx
    ``\\xHH`` for a quote and for bytes outside printable ASCII."""
    if "\\" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if len(code) == 3 else code

    decoded = _ESCAPE.sub(one, text)
    # \xHH are bytes of UTF-8: as a browser sent them.
    return decoded.encode("latin-1", "replace").decode("utf-8", "replace")


def _log_time(text: str) -> datetime | None:
    """``10/Oct/2026:13:55:36 -0700`` in UTC; None when it is not such a time. Fixed
    positions, not strptime (locale-dependent month names, and ten times slower)."""
    if (
        len(text) != 26
        or text[2] != "/"
        or text[6] != "/"
        or text[11] != ":"
        or text[14] != ":"
        or text[17] != ":"
        or text[20] != " "
        or text[21] not in "+-"
    ):
        return None
    month = _MONTHS.get(text[3:6])
    digits = text[0:2] + text[7:11] + text[12:14] + text[15:17] + text[18:20] + text[22:26]
    if month is None or not (digits.isascii() and digits.isdigit()):
        return None
    try:
        moment = datetime(
            int(text[7:11]),
            month,
            int(text[0:2]),
            int(text[12:14]),
            int(text[15:17]),
            int(text[18:20]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    shift = timedelta(hours=int(text[22:24]), minutes=int(text[24:26]))
    # 13:55 at -0700 is 20:55 UTC.
    return moment - shift if text[21] == "+" else moment + shift


def _extension(target: str) -> str:
    path = target.split("?", 1)[0].split("#", 1)[0]
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last else ""


def access_log_line(number: int, line: str) -> Parsed | None:
    """One line of a combined-format log; None for a blank line."""
    if not line.strip():
        return None
    match = _COMBINED.match(line)
    if match is None:
        return Malformed(line=number, message="not in the combined log format")
    ip, when, request, status, referrer, agent = match.groups()
    moment = _log_time(when)
    if moment is None:
        return Malformed(line=number, message="the time is not like 10/Oct/2026:13:55:36 +0000")
    parts = request.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        # nginx logs "-" or the raw bytes of what was no HTTP request (a TLS handshake on
        # the plain port, a scanner); a server answers those 400.
        return Skipped(line=number, reason="not an HTTP request")
    method, target, _ = parts
    if method != "GET":
        return Skipped(line=number, reason="method")
    code = int(status)
    if not (200 <= code < 300 or code == 304):
        return Skipped(line=number, reason="redirect" if 300 <= code < 400 else "error status")
    if _extension(target) in ASSETS:
        return Skipped(line=number, reason="asset")
    referrer = _unescape(referrer)
    return ImportedHit(
        line=number,
        timestamp=moment,
        page=_unescape(target),
        referrer=None if referrer in ("", "-") else referrer,
        ip=ip,
        user_agent="" if agent == "-" else _unescape(agent),
    )


def access_log_lines(lines: IO[str]) -> Iterator[Parsed]:
    for number, line in enumerate(lines, 1):
        parsed = access_log_line(number, line)
        if parsed is not None:
            yield parsed


# --- GoatCounter --------------------------------------------------------------------------


def _is_goatcounter_header(cells: list[str]) -> bool:
    # "2Path" as GoatCounter writes it; "2,Path" (a version cell of its own) accepted too.
    return bool(cells) and (
        re.fullmatch(r"\d+Path", cells[0]) is not None
        or (len(cells) > 1 and cells[0].isdigit() and cells[1] == "Path")
    )


def _name_version(text: str) -> tuple[str | None, str | None]:
    """``Chrome 120`` -> (Chrome, 120); ``Linux`` -> (Linux, None)."""
    text = text.strip()
    if not text:
        return None, None
    name, _, version = text.rpartition(" ")
    if name and version[:1].isdigit():
        return name, version
    return text, None


def _goatcounter_row(number: int, row: list[str]) -> Parsed:
    if len(row) != _GOATCOUNTER_FIELDS:
        return Malformed(line=number, message=f"has {len(row)} fields; a version 2 export has 14")
    (path, _title, event, _agent, browser, system, session, bot, referrer, scheme,
     screen, place, _first, date) = row  # fmt: skip
    try:
        moment = datetime.fromisoformat(date.strip())
    except ValueError:
        return Malformed(line=number, message="Date is not an RFC 3339 time")
    if moment.tzinfo is None:
        return Malformed(line=number, message="Date has no offset")
    if bot.strip() not in ("", "0"):
        return Skipped(line=number, reason="bot", bot_at=moment)
    if event not in ("true", "false"):
        return Malformed(line=number, message="Event is neither true nor false")
    url: str | None = None
    source: str | None = None
    referrer = referrer.strip()
    if referrer and scheme == "h":
        url = referrer if "://" in referrer else f"https://{referrer}"
    elif referrer:
        # Generated ("Hacker News"), a campaign's text, or another app: a source's name.
        source = referrer
    width: int | None = None
    first = screen.split(",", 1)[0].strip()
    if first.isdigit():
        width = int(first)
    country, _, subdivision = place.strip().partition("-")
    where = location(country=country, subdivision=subdivision or None)
    device = device_of(width)
    browser_name, browser_version = _name_version(browser)
    os_name, os_version = _name_version(system)
    known = Derived(
        source=source,
        browser=browser_name,
        browser_version=browser_version,
        os=os_name,
        os_version=os_version,
        device=None if device is None else device.value,
        country=where.country,
        region=where.region,
    )
    page = path if path.startswith("/") or "://" in path else f"/{path}"
    return ImportedHit(
        line=number,
        timestamp=moment.astimezone(UTC),
        page=page,
        referrer=url,
        session=session.strip() or None,
        known=known,
        name=path.strip() if event == "true" else None,
    )


def goatcounter_lines(lines: IO[str]) -> Iterator[Parsed]:
    reader = csv.reader(lines)
    header_seen = False
    try:
        for row in reader:
            number = reader.line_num
            if not row or row == [""]:
                continue
            if not header_seen:
                header_seen = True
                # A byte-order mark, as a spreadsheet saving CSV writes one.
                row = [row[0].lstrip("\ufeff"), *row[1:]]
                if not _is_goatcounter_header(row):
                    yield Malformed(line=number, message="not a GoatCounter export's header")
                    return
                version = row[0].removesuffix("Path")
                if version != "2":
                    yield Malformed(
                        line=number,
                        message=f"a version {version} export; only version 2 is read "
                        "(export again from GoatCounter)",
                    )
                    return
                continue
            yield _goatcounter_row(number, row)
    except csv.Error:
        yield Malformed(line=reader.line_num, message="not valid CSV (an unclosed quote?)")
