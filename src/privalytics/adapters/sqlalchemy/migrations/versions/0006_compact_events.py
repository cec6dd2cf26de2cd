"""Compact events: integers instead of repeated text, and a column for every derived field.

- ``project_numbers``: a small number per project (kept after the project is deleted, so
  that events stored for it later are still found and swept).
- ``texts``: per project number, each text once (paths, targets, referrers, sources,
  campaigns, browsers, systems, devices, places), under a small id.
- ``events``: the project's number, the time, the visitor hash's first 64 bits as a signed
  integer (domain/hashing.py now makes 64-bit hashes: the same visitor within the window),
  the action's code, one text id per field, the value and the properties. One index,
  (project, ts): the path index served no reader since the rollups (migration 0003).

Existing rows are converted on both backends; the rollups are unchanged (they hold texts
and counts, which the conversion keeps). On SQLite the trigger of migration 0004 is made
again on the new table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The fields stored as text ids, as of this revision (tables.TEXT_FIELDS may grow later).
_TEXTS = (
    "path",
    "target",
    "source",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
    "region",
    "city",
)
# The fields of the old table that were text.
_OLD_TEXTS = ("path", "referrer", "target")
_ACTIONS = ("visit", "click", "scroll", "download", "share")  # their codes: 0, 1, ...

# As in migration 0004, on the new columns: the project's id found by its number.
_TRIGGER = """
CREATE TRIGGER events_mark_day_stale AFTER INSERT ON events
BEGIN
    INSERT OR IGNORE INTO rollup_stale (project_id, day)
    SELECT project_id, (NEW.ts - ((NEW.ts % 86400000) + 86400000) % 86400000) / 86400000
    FROM project_numbers WHERE number = NEW.project;
END
"""
_OLD_TRIGGER = """
CREATE TRIGGER events_mark_day_stale AFTER INSERT ON events
BEGIN
    INSERT OR IGNORE INTO rollup_stale (project_id, day)
    VALUES (NEW.project_id, (NEW.ts - ((NEW.ts % 86400000) + 86400000) % 86400000) / 86400000);
END
"""


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _visitor_number(column: str) -> str:
    """SQL: the signed 64-bit integer of the first 16 hex digits of ``column``."""
    if _postgres():
        return f"('x' || substr({column}, 1, 16))::bit(64)::bigint"
    # SQLite has no hex parser; its shifts work on 64-bit two's complement integers.
    digits = [
        f"((instr('0123456789abcdef', lower(substr({column}, {i + 1}, 1))) - 1) << {60 - 4 * i})"
        for i in range(16)
    ]
    return "(" + " | ".join(digits) + ")"


def _action_code(column: str) -> str:
    cases = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(_ACTIONS))
    return f"CASE {column} {cases} END"


def _action_name(column: str) -> str:
    cases = " ".join(f"WHEN {code} THEN '{name}'" for code, name in enumerate(_ACTIONS))
    return f"CASE {column} {cases} END"


def _create_events() -> None:
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("visitor", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.SmallInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=name != "path") for name in _TEXTS),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("props", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )


def _set_id_sequence() -> None:
    if _postgres():
        op.execute(
            "SELECT setval(pg_get_serial_sequence('events', 'id'), "
            "coalesce(max(id), 0) + 1, false) FROM events"
        )


def _set_aside_old_events() -> None:
    """The old table renamed to events_old, its index, key and sequence out of the way."""
    for name in ("ix_events_project_id_path_ts", "ix_events_project_id_ts"):
        op.drop_index(name, table_name="events")
    if _postgres():
        op.execute("ALTER TABLE events RENAME CONSTRAINT pk_events TO pk_events_old")
        op.execute("ALTER SEQUENCE events_id_seq RENAME TO events_old_id_seq")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_mark_day_stale")
    op.rename_table("events", "events_old")


def upgrade() -> None:
    op.create_table(
        "project_numbers",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("texts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_project_numbers"),
        sa.UniqueConstraint("project_id", name="uq_project_numbers_project_id"),
    )
    op.create_table(
        "texts",
        sa.Column("project", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("project", "id", name="pk_texts"),
        sa.UniqueConstraint("project", "text", name="uq_texts_project_text"),
        sqlite_with_rowid=False,
    )
    _set_aside_old_events()
    _create_events()
    op.execute(
        "INSERT INTO project_numbers (project_id, texts) SELECT project_id, 0 FROM ("
        " SELECT id AS project_id FROM projects"
        " UNION SELECT DISTINCT project_id FROM events_old"
        ") AS p ORDER BY project_id"
    )
    every_text = " UNION ".join(
        f"SELECT project_id, {name} AS text FROM events_old WHERE {name} IS NOT NULL"  # noqa: S608
        for name in _OLD_TEXTS
    )
    op.execute(
        "INSERT INTO texts (project, id, text)"  # noqa: S608
        " SELECT n.number, ROW_NUMBER() OVER (PARTITION BY n.number ORDER BY u.text), u.text"
        f" FROM ({every_text}) AS u JOIN project_numbers n ON n.project_id = u.project_id"
    )
    op.execute(
        "UPDATE project_numbers SET texts = coalesce("
        "(SELECT max(id) FROM texts WHERE texts.project = project_numbers.number), 0)"
    )
    joins = " ".join(
        f"LEFT JOIN texts t_{name} ON t_{name}.project = n.number AND t_{name}.text = e.{name}"
        for name in _OLD_TEXTS
    )
    op.execute(
        "INSERT INTO events (id, project, ts, visitor, action, path, referrer, target, value,"  # noqa: S608
        " props)"
        f" SELECT e.id, n.number, e.ts, {_visitor_number('e.visitor_hash')},"
        f" {_action_code('e.action')}, t_path.id, t_referrer.id, t_target.id, e.value, e.props"
        f" FROM events_old e JOIN project_numbers n ON n.project_id = e.project_id {joins}"
    )
    op.drop_table("events_old")
    op.create_index("ix_events_project_ts", "events", ["project", "ts"])
    _set_id_sequence()
    if not _postgres():
        op.execute(_TRIGGER)


def downgrade() -> None:
    """Back to the text columns (the derived fields are lost; visitor hashes keep their 64
    bits, as 16 hex digits)."""
    if not _postgres():
        op.execute("DROP TRIGGER IF EXISTS events_mark_day_stale")
    op.drop_index("ix_events_project_ts", table_name="events")
    if _postgres():
        op.execute("ALTER TABLE events RENAME CONSTRAINT pk_events TO pk_events_new")
        op.execute("ALTER SEQUENCE events_id_seq RENAME TO events_new_id_seq")
    op.rename_table("events", "events_new")
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("visitor_hash", sa.CHAR(32), nullable=False),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("props", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    hexadecimal = (
        "lpad(to_hex(e.visitor), 16, '0')" if _postgres() else "printf('%016x', e.visitor)"
    )
    texts = ", ".join(
        f"(SELECT text FROM texts WHERE project = e.project AND id = e.{name})"  # noqa: S608
        for name in _OLD_TEXTS
    )
    op.execute(
        "INSERT INTO events (id, project_id, action, path, referrer, target, ts, visitor_hash,"  # noqa: S608
        " value, props)"
        f" SELECT e.id, n.project_id, {_action_name('e.action')}, {texts}, e.ts, {hexadecimal},"
        " e.value, e.props"
        " FROM events_new e JOIN project_numbers n ON n.number = e.project"
    )
    op.drop_table("events_new")
    op.create_index("ix_events_project_id_ts", "events", ["project_id", "ts"])
    op.create_index("ix_events_project_id_path_ts", "events", ["project_id", "path", "ts"])
    _set_id_sequence()
    op.drop_table("texts")
    op.drop_table("project_numbers")
    if not _postgres():
        op.execute(_OLD_TRIGGER)
