"""A storage failure reaches a client in our words, with the database's documented code:
never the driver's class name or message (which may quote SQL, values or the URL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from privalytics.adapters.sqlalchemy.engine import storage_failure
from privalytics.domain.errors import StorageUnavailable


def test_a_locked_sqlite_database_is_busy_in_our_words(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN EXCLUSIVE")
        try:
            writer.execute("INSERT INTO t VALUES (1)")
        except sqlite3.OperationalError as exc:
            failure = storage_failure(exc, "store events")
        else:
            raise AssertionError("the write went through a held lock")
    finally:
        writer.close()
        holder.close()
    assert isinstance(failure, StorageUnavailable)
    assert str(failure) == (
        "the database is unavailable: could not store events "
        "(the database is busy with another write: SQLITE_BUSY)"
    )


def test_an_unknown_code_is_named_by_its_code_alone(tmp_path: Path) -> None:
    error = sqlite3.OperationalError("a message that must not be shown")
    error.sqlite_errorname = "SQLITE_WEIRD"  # type: ignore[attr-defined]
    failure = storage_failure(error, "count visits")
    assert str(failure) == "the database is unavailable: could not count visits (code SQLITE_WEIRD)"


def test_a_refused_connection_names_no_address() -> None:
    failure = storage_failure(ConnectionRefusedError(111, "refused 10.0.0.1:5432"), "read")
    assert str(failure) == (
        "the database is unavailable: could not read (nothing answers at the database's address)"
    )


def test_a_failure_without_a_code_or_reason_says_no_answer() -> None:
    failure = storage_failure(BrokenPipeError(32, "broken pipe to 10.0.0.1"), "read")
    assert str(failure) == (
        "the database is unavailable: could not read (no answer from the database)"
    )
