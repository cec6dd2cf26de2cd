"""Migrations build the schema of tables.py, once; engines accept only our URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from privalytics.adapters.sqlalchemy import create_engine, current_revision, migrate, open_stores
from privalytics.adapters.sqlalchemy.migrate import alembic_config
from privalytics.adapters.sqlalchemy.tables import metadata
from privalytics.domain.errors import ConfigError, StorageUnavailable
from privalytics.domain.models import Action, Event, TimeRange
from tests.integration.conftest import UNREACHABLE_POSTGRES_URL, assert_discreet, sqlite_url

HEAD = "0005"
TABLES = {"projects", "tokens", "admin_keys", "salts", "events", "users"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrating_an_empty_database_creates_every_table(empty_sql_url: str) -> None:
    assert await current_revision(empty_sql_url) is None
    await migrate(empty_sql_url)
    assert await current_revision(empty_sql_url) == HEAD
    engine = create_engine(empty_sql_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) >= TABLES
    finally:
        await engine.dispose()


async def test_the_migrated_schema_matches_tables_py(sql_url: str) -> None:
    engine = create_engine(sql_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_migrating_again_changes_nothing_and_keeps_the_data(sql_url: str) -> None:
    stores = open_stores(sql_url)
    try:
        await stores.salts.get_or_create(1, b"kept")
        await migrate(sql_url)
        assert await current_revision(sql_url) == HEAD
        assert await stores.salts.get_or_create(1, b"new") == b"kept"
    finally:
        await stores.dispose()


async def test_upgrading_to_rollups_marks_every_day_with_events_stale(empty_sql_url: str) -> None:
    """Events stored before revision 0003 have no rollups: their days start stale, so
    they are read from the events until computed."""
    url = empty_sql_url
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0002"))
            for project_id, ts in (("p", 5), ("p", 86_400_000 * 3 + 7), ("p", 9), ("q", 1)):
                await connection.execute(
                    text(
                        "INSERT INTO events (project_id, action, path, ts, visitor_hash)"
                        " VALUES (:p, 'visit', '/', :ts, :h)"
                    ),
                    {"p": project_id, "ts": ts, "h": "0" * 32},
                )
            for value in (37.5, 37.49, 0.2, 100.0):
                await connection.execute(
                    text(
                        "INSERT INTO events (project_id, action, path, ts, visitor_hash, value)"
                        " VALUES ('s', 'scroll', '/', 1, :h, :v)"
                    ),
                    {"h": "0" * 32, "v": value},
                )
    finally:
        await engine.dispose()
    await migrate(url)
    stores = open_stores(url)
    try:
        async with stores.engine.connect() as connection:
            stale = await connection.execute(text("SELECT project_id, day FROM rollup_stale"))
            assert sorted(stale.all()) == [("p", 0), ("p", 3), ("q", 0), ("s", 0)]
            values = await connection.execute(
                text("SELECT value FROM events WHERE project_id = 's'")
            )
            # Scroll depths in whole percent, halves up, as the validation stores them now.
            assert sorted(values.scalars()) == [0.0, 37.0, 38.0, 100.0]
        assert await stores.events.refresh(datetime(1970, 1, 5, tzinfo=UTC)) == 4
        span = TimeRange(
            start=datetime(1970, 1, 1, tzinfo=UTC), end=datetime(1970, 1, 5, tzinfo=UTC)
        )
        assert await stores.events.count_by_action("p", span) == {Action.VISIT: 3}
    finally:
        await stores.dispose()


async def test_event_ids_are_the_sqlite_rowid(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    await migrate(url)
    stores = open_stores(url)
    event = Event(
        project_id="p",
        action=Action.VISIT,
        path="/",
        timestamp=datetime(2026, 3, 1, tzinfo=UTC),
        visitor_hash="a" * 32,
    )
    try:
        await stores.events.add([event, event])
        async with stores.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT rowid, id FROM events"))).all()
        assert [tuple(row) for row in rows] == [(1, 1), (2, 2)]
    finally:
        await stores.dispose()


async def test_migrating_an_unreachable_database_raises_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await migrate(UNREACHABLE_POSTGRES_URL)
    assert_discreet(raised.value)
    with pytest.raises(StorageUnavailable):
        await current_revision(UNREACHABLE_POSTGRES_URL)


# Engines.


@pytest.mark.parametrize(
    "url",
    [
        "mysql+aiomysql://user:pw-hunter2@db/analytics",
        "sqlite:///sync-driver.db",
        "postgresql://user:pw-hunter2@db/analytics",
        "postgresql+psycopg://user:pw-hunter2@db/analytics",
        "memory://",
        "not a url",
    ],
)
def test_create_engine_refuses_other_urls_naming_the_accepted_forms(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        create_engine(url)
    message = str(raised.value)
    assert "sqlite+aiosqlite://" in message
    assert "postgresql+asyncpg://" in message
    assert "hunter2" not in message


def test_a_postgres_url_may_set_the_connect_timeout_in_seconds() -> None:
    create_engine("postgresql+asyncpg://user@db/analytics?timeout=2.5")
    with pytest.raises(ConfigError, match="timeout"):
        create_engine("postgresql+asyncpg://user@db/analytics?timeout=soon")


@pytest.mark.postgres
async def test_an_unknown_postgres_database_or_role_is_storage_unavailable(
    postgres_url: str,
) -> None:
    base = make_url(postgres_url)
    cases = (
        (base.set(database="privalytics_no_such_db"), "no_database", "does not exist"),
        (base.set(username="no_such_role"), "sign_in_refused", "refused the user name"),
    )
    for url, reason, words in cases:
        stores = open_stores(url.render_as_string(hide_password=False))
        try:
            with pytest.raises(StorageUnavailable, match=rf"could not reach it \(.*{words}") as e:
                await stores.tokens.ping()
            # Why, for the CLI to name the database or user; the words are ours.
            assert e.value.reason == reason
            assert "Error" not in str(e.value)
        finally:
            await stores.dispose()


def test_create_engine_refuses_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"):
        create_engine(sqlite_url(tmp_path / "missing"))
    assert not (tmp_path / "missing").exists()


async def test_sqlite_connections_are_durable_and_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    # synchronous 2 is FULL.
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }
