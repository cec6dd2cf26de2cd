"""Raw events as CSV or JSON Lines, one chunk of text per list of events, so that an
export of any size streams in constant memory (the HTTP route and ``privalytics export``
both write what these yield).

The columns are the stored event's fields, in one fixed order: the time (RFC 3339, UTC,
milliseconds), the action, the page, the target, the value, the properties (a JSON
object), the visitor hash (16 hex digits, meaningful within one salt window only), then
every field derived on arrival (source, referrer, campaign, browser, system, device,
place). A field added to the event is a column added at the end.

CSV cells that a spreadsheet would run as a formula (text beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) get a leading ``'``, as OWASP recommends: a
page path or a referrer is text anyone on the internet can choose.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import msgspec

from privalytics.domain.models import Derived, Event

FORMATS = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
_FIRST = ("timestamp", "action", "path", "target", "value", "props", "visitor")
_REST = tuple(
    name
    for name in Event.__struct_fields__
    if name not in {*_FIRST, "visitor_hash", "project_id"} and name not in Derived.__struct_fields__
)
COLUMNS: tuple[str, ...] = (*_FIRST, *Derived.__struct_fields__, *_REST)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_json = msgspec.json.Encoder()


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def record(event: Event) -> dict[str, Any]:
    """The event as the export's columns, by name."""
    fields = msgspec.structs.asdict(event)
    fields["timestamp"] = _time(event.timestamp)
    fields["action"] = str(event.action)
    fields["visitor"] = event.visitor_hash
    return {name: fields[name] for name in COLUMNS}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return _json.encode(value).decode() if value else ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _csv(events: list[Event]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([_cell(value) for value in record(event).values()] for event in events)
    return buffer.getvalue().encode()


def _jsonl(events: list[Event]) -> bytes:
    return b"".join(_json.encode(record(event)) + b"\n" for event in events)


_WRITERS: dict[str, Callable[[list[Event]], bytes]] = {"csv": _csv, "jsonl": _jsonl}


async def encoded(form: str, batches: AsyncIterator[list[Event]]) -> AsyncIterator[bytes]:
    """The export in ``form`` (csv: a header line first), chunk by chunk."""
    if form == "csv":
        yield (",".join(COLUMNS) + "\n").encode()
    write = _WRITERS[form]
    async for events in batches:
        yield write(events)
