"""Rollups: per-day figures and their sums over aligned blocks of days, and the days whose
figures are stale. Every day that already holds events starts stale; the server computes
them in the background (`privalytics rollup` does it at once). Stored scroll depths are
rounded to whole percent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(*columns: sa.Column[object]) -> list[sa.Column[object]]:
    return [
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        *columns,
    ]


def _rollup(name: str, keys: list[str], *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        *_key(*columns),
        sa.PrimaryKeyConstraint("project_id", "level", "block", *keys, name=f"pk_{name}"),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.create_table(
        "rollup_stale",
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "day", name="pk_rollup_stale"),
        sqlite_with_rowid=False,
    )
    _rollup(
        "rollup_totals",
        [],
        sa.Column("visitors", sa.BigInteger(), nullable=False),
        sa.Column("visit_visitors", sa.BigInteger(), nullable=False),
    )
    _rollup(
        "rollup_actions",
        ["action"],
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("value_sum", sa.Double(), nullable=False),
        sa.Column("value_count", sa.BigInteger(), nullable=False),
    )
    _rollup(
        "rollup_pages",
        ["path"],
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=False),
        sa.Column("visitors", sa.BigInteger(), nullable=False),
    )
    _rollup(
        "rollup_referrers",
        ["referrer"],
        sa.Column("referrer", sa.Text(), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=False),
    )
    _rollup(
        "rollup_targets",
        ["action", "target"],
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
    )
    # Scroll depths are kept in whole percent from now on (halves up, as the validation
    # rounds them), so that sums add up exactly; the values stored before are rounded too.
    rounded = (
        "floor(value + 0.5)"
        if op.get_bind().dialect.name == "postgresql"
        # SQLite's CAST truncates: the floor of a non-negative number.
        else ("CAST(value + 0.5 AS INTEGER)")
    )
    op.execute(
        f"UPDATE events SET value = {rounded} "  # noqa: S608 (no input in it)
        "WHERE action = 'scroll' AND value IS NOT NULL"
    )
    # Events stored before this revision: their days are computed in the background.
    op.execute(
        "INSERT INTO rollup_stale (project_id, day) "
        "SELECT DISTINCT project_id, ts / 86400000 FROM events"
    )


def downgrade() -> None:
    for name in (
        "rollup_targets",
        "rollup_referrers",
        "rollup_pages",
        "rollup_actions",
        "rollup_totals",
        "rollup_stale",
    ):
        op.drop_table(name)
