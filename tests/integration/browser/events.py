"""Read what a privalytics server stored, straight from its SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stored:
    action: str
    path: str
    referrer: str | None
    target: str | None
    value: float | None
    props: dict[str, str]


def stored_events(database: Path, project_id: str) -> list[Stored]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT action, path, referrer, target, value, props FROM events"
            " WHERE project_id = ? ORDER BY ts, id",
            (project_id,),
        ).fetchall()
    return [
        Stored(
            action=action,
            path=path,
            referrer=referrer,
            target=target,
            value=value,
            props=json.loads(props) if props else {},
        )
        for action, path, referrer, target, value, props in rows
    ]


def settled_events(
    database: Path, project_id: str, expected: int, timeout: float = 30.0
) -> list[Stored]:
    """The stored events once ``expected`` of them arrived and no more came for a while
    (beacons are sent after the page's work; the server commits in groups)."""
    deadline = time.monotonic() + timeout
    events = stored_events(database, project_id)
    while len(events) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        events = stored_events(database, project_id)
    time.sleep(0.5)
    return stored_events(database, project_id)
