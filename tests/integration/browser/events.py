"""Read what a privalytics server stored, straight from its SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from privalytics.adapters.sqlalchemy.dictionary import ACTIONS


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
        texts = {
            (number, id_): text
            for number, id_, text in db.execute(
                "SELECT t.project, t.id, t.text FROM texts t"
                " JOIN project_numbers n ON n.number = t.project WHERE n.project_id = ?",
                (project_id,),
            )
        }
        rows = [
            (
                ACTIONS[action].value,
                texts[n, path],
                texts.get((n, referrer)),
                texts.get((n, target)),
                value,
                props,
            )
            for n, action, path, referrer, target, value, props in db.execute(
                "SELECT e.project, action, path, referrer, target, value, props FROM events e"
                " JOIN project_numbers n ON n.number = e.project WHERE n.project_id = ?"
                " ORDER BY ts, id",
                (project_id,),
            )
        ]
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
