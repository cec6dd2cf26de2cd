"""A consistent copy of a SQLite database while the server writes to it: SQLite's online
backup API, in one step.

One step is one read transaction on the source: in WAL mode writers go on meanwhile, and
the copy holds exactly what was committed when the step began (an event acknowledged
before then is in it; one committed later is not, or is whole). The copy is written to a
file of its own next to the target, checked (``PRAGMA integrity_check``) and only then
renamed to the target, so a copy that failed half-way is never mistaken for a backup.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from privalytics.adapters.sqlalchemy.engine import names_a_plain_file, parse_url
from privalytics.domain.errors import ConfigError, InvalidInput, StorageUnavailable

_BUSY_MS = 5000


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL; ConfigError for any other database."""
    parsed = parse_url(url)
    if not parsed.drivername.startswith("sqlite") or not names_a_plain_file(parsed):
        raise ConfigError(
            "privalytics backup copies a SQLite database file; for PostgreSQL use "
            "pg_dump (docs/data-lifecycle.md#backup)"
        )
    return Path(parsed.database or "").resolve()


def backup_sqlite(url: str, target: Path) -> int:
    """Copy the database of ``url`` to ``target`` (which must not exist); returns how many
    events the copy holds."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise InvalidInput(f"there is no database file at {source_path}")
    target = target.resolve()
    if target == source_path:
        raise InvalidInput("the backup file must not be the database itself")
    if target.exists():
        raise InvalidInput(f"{target} exists already; choose a new file name")
    if not target.parent.is_dir():
        raise InvalidInput(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        source = sqlite3.connect(source_path, timeout=_BUSY_MS / 1000)
    except sqlite3.Error as exc:
        raise StorageUnavailable("the database file could not be opened") from exc
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=-1)  # one step: one consistent snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one file to move around
            if copy.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise StorageUnavailable("the copy did not pass SQLite's integrity check")
            events = copy.execute("SELECT count(*) FROM events").fetchone()
        finally:
            copy.close()
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise StorageUnavailable("the database could not be copied") from exc
    finally:
        source.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return int(events[0]) if events else 0
