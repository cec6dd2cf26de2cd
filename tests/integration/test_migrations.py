"""Migrations build the schema of tables.py, once; engines accept only our URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text, true
from sqlalchemy.engine import Connection, make_url

from privalytics.adapters.sqlalchemy import create_engine, current_revision, migrate, open_stores
from privalytics.adapters.sqlalchemy.migrate import alembic_config
from privalytics.adapters.sqlalchemy.partitions import DEFAULT_PARTITION, month_named
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.adapters.sqlalchemy.tables import from_millis, metadata
from privalytics.domain import insight
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.errors import ConfigError, StorageUnavailable
from privalytics.domain.models import Action, Event, Ranked, TimeRange
from tests.integration.conftest import UNREACHABLE_POSTGRES_URL, assert_discreet, sqlite_url

HEAD = "0019"
TABLES = {
    "projects",
    "tokens",
    "admin_keys",
    "salts",
    "events",
    "users",
    "project_numbers",
    "texts",
    "goals",
}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _not_a_partition(name: str | None, kind: str, _parents: object) -> bool:
    """PostgreSQL's monthly event partitions (migration 0008) are tables of the database
    that tables.py does not list: made by the adapter, not declared."""
    return not (
        kind == "table"
        and name is not None
        and (name == DEFAULT_PARTITION or month_named(name) is not None)
    )


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _not_a_partition}
    )
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
                text(
                    "SELECT value FROM events JOIN project_numbers ON number = project"
                    " WHERE project_id = 's'"
                )
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


async def _upgrade(url: str, revision: str, rows: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    """Migrate ``url`` to ``revision``, then insert ``rows`` into ``events``."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
            for row in rows:
                columns = ", ".join(row)
                marks = ", ".join(f":{name}" for name in row)
                await connection.execute(
                    text(f"INSERT INTO events ({columns}) VALUES ({marks})"),
                    row,
                )
            # As the writer marks them on PostgreSQL (SQLite's trigger has).
            await connection.execute(
                text(
                    "INSERT INTO rollup_stale (project_id, day)"
                    " SELECT DISTINCT project_id, ts / 86400000 FROM events"
                    " WHERE project_id NOT IN (SELECT project_id FROM rollup_stale)"
                )
            )
    finally:
        await engine.dispose()


def _old(
    project: str, action: str, path: str, ts: int, visitor: str, **more: Any
) -> dict[str, Any]:
    return {
        "project_id": project,
        "action": action,
        "path": path,
        "ts": ts,
        "visitor_hash": visitor,
        **more,
    }


OLD_EVENTS = [
    _old(
        "p",
        "visit",
        "/a",
        1_000,
        "f" * 16 + "0123456789abcdef",
        referrer="https://r.org/",
        props='{"k": "v"}',
    ),
    _old("p", "click", "/a", 2_000, "0123456789abcdef" + "9" * 16, target="/a"),
    _old("q", "scroll", "/b", 3_000, "8000000000000000" + "1" * 16, value=50.0),
    _old(
        "p",
        "download",
        "/dl",
        86_400_000 * 2,
        "7fffffffffffffff" + "2" * 16,
        target="https://x.org/f.pdf",
        referrer="",
    ),
    _old("p", "share", "/a", 86_400_000 * 2 + 1, "0" * 32, target="mastodon"),
]


async def test_upgrading_to_compact_events_keeps_every_event_and_64_bits_of_its_visitor(
    empty_sql_url: str,
) -> None:
    url = empty_sql_url
    await _upgrade(url, "0005", OLD_EVENTS)
    await migrate(url)
    stores = open_stores(url)
    try:
        async with stores.engine.connect() as connection:
            stored = await read_events(connection, true())
            numbers = await connection.execute(text("SELECT project_id FROM project_numbers"))
            assert sorted(numbers.scalars()) == ["p", "q"]
        assert stored == [
            Event(
                project_id=row["project_id"],
                action=Action(row["action"]),
                path=row["path"],
                timestamp=from_millis(row["ts"]),
                visitor_hash=row["visitor_hash"][:16],
                referrer=row.get("referrer"),
                target=row.get("target"),
                value=row.get("value"),
                props={"k": "v"} if "props" in row else {},
            )
            for row in OLD_EVENTS
        ]
        # The days stay stale until computed; then the rollups count the same.
        assert await stores.events.refresh(datetime(1970, 1, 5, tzinfo=UTC)) == 3
        span = TimeRange(
            start=datetime(1970, 1, 1, tzinfo=UTC), end=datetime(1970, 1, 5, tzinfo=UTC)
        )
        assert await stores.events.count_by_action("p", span) == {
            Action.VISIT: 1,
            Action.CLICK: 1,
            Action.DOWNLOAD: 1,
            Action.SHARE: 1,
        }
        assert await stores.events.unique_visitors("p", span) == 4
        assert await stores.events.top_referrers("p", span, 5) == [
            Ranked(name="https://r.org/", count=1)
        ]
        # New events and texts take new ids: none of the converted ones is reused.
        new = Event(
            project_id="p",
            action=Action.VISIT,
            path="/new",
            timestamp=from_millis(5_000),
            visitor_hash="1" * 16,
            referrer="https://r.org/",
            country="DE",
        )
        await stores.events.add([new])
        async with stores.engine.connect() as connection:
            assert (await read_events(connection, true()))[-1] == new
            ids = await connection.execute(text("SELECT id FROM events ORDER BY id"))
            assert list(ids.scalars()) == [1, 2, 3, 4, 5, 6]
    finally:
        await stores.dispose()


async def test_upgrading_to_session_rollups_marks_every_day_with_events_stale(
    empty_sql_url: str,
) -> None:
    """Days rolled up before revision 0007 have no session totals: the migration marks
    every day with events stale, so they are read from the events until recomputed, and
    then the figures come from the rollups and still equal the reference."""
    url = empty_sql_url
    day = 86_400_000
    events = [
        Event(
            project_id=project,
            action=action,
            path="/",
            timestamp=from_millis(ts),
            visitor_hash=visitor,
        )
        for project, action, ts, visitor in (
            ("p", Action.VISIT, 1_000, "1" * 16),
            ("p", Action.CLICK, 61_000, "1" * 16),
            ("p", Action.VISIT, 2 * day + 5, "2" * 16),
            ("p", Action.VISIT, 2 * day + 9, "2" * 16),
            ("p", Action.VISIT, 2 * day + 50, "3" * 16),
            ("q", Action.VISIT, 3 * day, "1" * 16),
        )
    ]
    await migrate(url)
    stores = open_stores(url)
    try:
        # Stored by today's code, then taken back to 0006 (the events stay).
        await stores.events.add(events)
        async with stores.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0006"))
            # As if the days had been rolled up before 0007.
            await connection.execute(text("DELETE FROM rollup_stale"))
    finally:
        await stores.dispose()
    await migrate(url)
    stores = open_stores(url)
    span = TimeRange(start=from_millis(0), end=from_millis(4 * day))
    try:
        async with stores.engine.connect() as connection:
            stale = await connection.execute(text("SELECT project_id, day FROM rollup_stale"))
            assert sorted(stale.all()) == [("p", 0), ("p", 2), ("q", 3)]
        assert await stores.events.refresh(from_millis(4 * day)) == 3
        async with stores.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT block, sessions, pageviews, bounces, duration FROM rollup_sessions"
                    " WHERE project_id = 'p' AND level = 0 ORDER BY block"
                )
            )
            assert rows.all() == [(0, 1, 1, 0, 60_000), (2, 2, 3, 1, 4)]
        expected = insight.figures(events[:5], (), timedelta(days=1))
        assert await stores.events.figures("p", span, ()) == expected
    finally:
        await stores.dispose()


async def test_downgrading_compact_events_gives_back_the_text_columns(
    empty_sql_url: str,
) -> None:
    # A database of its own: the shared one holds the month partitions every other test
    # made, and a downgrade past 0008 locks each of them (and its indexes) in its one
    # transaction, past PostgreSQL's default max_locks_per_transaction.
    sql_url = empty_sql_url
    await migrate(sql_url)
    stores = open_stores(sql_url)
    event = Event(
        project_id="p",
        action=Action.CLICK,
        path="/a",
        timestamp=from_millis(1_000),
        visitor_hash="f" * 16,
        target="x",
        browser="Firefox",
    )
    try:
        await stores.events.add([event])
        async with stores.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0005"))
            rows = await connection.execute(
                text("SELECT project_id, action, path, target, visitor_hash FROM events")
            )
            # (PostgreSQL pads the CHAR(32) column.)
            assert [(*row[:4], row[4].rstrip()) for row in rows] == [
                ("p", "click", "/a", "x", "f" * 16)
            ]
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), HEAD))
        async with stores.engine.connect() as connection:
            back = await read_events(connection, true())
        assert back == [msgspec.structs.replace(event, browser=None)]
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
        visitor_hash="a" * 16,
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


@pytest.mark.postgres
async def test_postgresql_keeps_salts_in_an_unlogged_table_and_the_downgrade_logs_it_again(
    postgres_url: str,
) -> None:
    """Unlogged: no salt is ever written to the WAL (docs/privacy.md)."""
    persistence = text("SELECT relpersistence::text FROM pg_class WHERE relname = 'salts'")
    stores = open_stores(postgres_url)
    try:
        await stores.salts.get_or_create(1, b"kept")
        async with stores.engine.begin() as connection:
            assert await connection.scalar(persistence) == "u"
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0008"))
            assert await connection.scalar(persistence) == "p"
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), HEAD))
            assert await connection.scalar(persistence) == "u"
        assert await stores.salts.get_or_create(1, b"new") == b"kept"
    finally:
        await stores.dispose()


async def test_upgrading_to_dimension_rollups_marks_every_day_with_events_stale(
    empty_sql_url: str,
) -> None:
    """Days rolled up before revision 0011 have no dimension rows: the migration marks
    every day with events stale, so that the refresh computes them, and then the
    breakdowns come from the rollups and still equal the reference."""
    url = empty_sql_url
    day = 86_400_000
    events = [
        Event(
            project_id=project,
            action=Action.VISIT,
            path=path,
            timestamp=from_millis(ts),
            visitor_hash=visitor,
            country=country,
        )
        for project, path, ts, visitor, country in (
            ("p", "/", 1_000, "1" * 16, "DE"),
            ("p", "/a", 61_000, "1" * 16, "DE"),
            ("p", "/", 2 * day + 5, "2" * 16, "FR"),
            ("q", "/", 3 * day, "1" * 16, None),
        )
    ]
    # The events are written by today's code (whose columns a 0010 schema lacks), then
    # the schema goes back to 0010 with them, as if they had been stored and rolled up
    # before 0011, and comes up again.
    await migrate(url)
    stores = open_stores(url)
    try:
        await stores.events.add(events)
        async with stores.engine.begin() as connection:
            await connection.execute(text("DELETE FROM rollup_stale"))
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0010"))
            assert await connection.scalar(text("SELECT count(*) FROM events")) == len(events)
    finally:
        await stores.dispose()
    await migrate(url)
    stores = open_stores(url)
    span = TimeRange(start=from_millis(0), end=from_millis(4 * day))
    try:
        async with stores.engine.connect() as connection:
            stale = await connection.execute(text("SELECT project_id, day FROM rollup_stale"))
            assert sorted(stale.all()) == [("p", 0), ("p", 2), ("q", 3)]
        assert await stores.events.refresh(from_millis(4 * day)) == 3
        async with stores.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT block, sessions, visitors, pageviews FROM rollup_dimensions"
                    " WHERE project_id = 'p' AND level = 0 AND dimension = 11 ORDER BY block"
                )
            )
            assert rows.all() == [(0, 1, 1, 2), (2, 1, 1, 1)]
        for name in ("page", "country", "exit_page"):
            dimension = DIMENSIONS[name]
            expected = insight.breakdown(events[:3], dimension, (), timedelta(days=1))
            assert await stores.events.breakdown("p", span, dimension, (), None) == expected
    finally:
        await stores.dispose()


async def test_downgrading_goals_drops_their_table_and_upgrading_makes_it_again(
    sql_url: str,
) -> None:
    """Migration 0015: the goals table goes with a downgrade (goals are definitions, not
    traffic: nothing else refers to them) and comes back, empty, with the upgrade."""
    engine = create_engine(sql_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0014"))
            assert "goals" not in await connection.run_sync(_tables)
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), HEAD))
            assert "goals" in await connection.run_sync(_tables)
            assert await connection.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_downgrading_funnels_drops_their_table_and_upgrading_makes_it_again(
    sql_url: str,
) -> None:
    """Migration 0016: the funnels table goes with a downgrade (nothing refers to it) and
    comes back, empty, with the upgrade; the schema then equals the tables' metadata."""
    engine = create_engine(sql_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0015"))
            assert "funnels" not in await connection.run_sync(_tables)
            assert "goals" in await connection.run_sync(_tables)
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), HEAD))
            assert "funnels" in await connection.run_sync(_tables)
            assert await connection.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_upgrading_to_event_rollups_marks_the_days_with_custom_events_stale(
    empty_sql_url: str,
) -> None:
    """Days rolled up before revision 0017 have no rows of custom event names: the
    migration marks the days that hold a custom event stale, the refresh adds their rows,
    and then the breakdown by event comes from the rollups and equals the reference."""
    url = empty_sql_url
    day = 86_400_000

    def event(path: str, ts: int, visitor: str, name: str | None = None) -> Event:
        action = Action.VISIT if name is None else Action.CUSTOM
        return Event(
            project_id="p",
            action=action,
            path=path,
            timestamp=from_millis(ts),
            visitor_hash=visitor,
            name=name,
        )

    events = [
        event("/", 1_000, "1" * 16),
        event("/", 2_000, "1" * 16, "Signup"),
        event("/", 3_000, "1" * 16, "Signup"),
        event("/", day + 5, "2" * 16),
        event("/", 2 * day, "3" * 16),
        event("/b", 2 * day + 9, "3" * 16, "Purchase"),
    ]
    await migrate(url)
    stores = open_stores(url)
    try:
        await stores.events.add(events)
        assert await stores.events.refresh(from_millis(3 * day)) == 3
        async with stores.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0016"))
            assert await connection.scalar(text("SELECT count(*) FROM rollup_stale")) == 0
    finally:
        await stores.dispose()
    await migrate(url)
    stores = open_stores(url)
    span = TimeRange(start=from_millis(0), end=from_millis(3 * day))
    try:
        async with stores.engine.connect() as connection:
            stale = await connection.execute(text("SELECT project_id, day FROM rollup_stale"))
            assert sorted(stale.all()) == [("p", 0), ("p", 2)]
        assert await stores.events.refresh(from_millis(3 * day)) == 2
        async with stores.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT block, sessions, visitors, pageviews, events FROM rollup_dimensions"
                    " WHERE project_id = 'p' AND level = 0 AND dimension = 19 ORDER BY block"
                )
            )
            assert rows.all() == [(0, 1, 1, 1, 2), (2, 1, 1, 1, 1)]
        expected = insight.breakdown(events, DIMENSIONS["event"], (), timedelta(days=1))
        assert [row.value for row in expected] == ["Signup", "Purchase"]
        got = await stores.events.breakdown("p", span, DIMENSIONS["event"], (), None)
        assert got == expected
    finally:
        await stores.dispose()


async def test_downgrading_imports_drops_their_registry_and_upgrading_makes_it_again(
    sql_url: str,
) -> None:
    """Migration 0019: the imports table goes with a downgrade (the imported events stay,
    as events) and comes back, empty, with the upgrade; the schema then equals tables.py."""
    engine = create_engine(sql_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0018"))
            assert "imports" not in await connection.run_sync(_tables)
            assert "rollup_goals" in await connection.run_sync(_tables)
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), HEAD))
            assert "imports" in await connection.run_sync(_tables)
            assert await connection.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()
