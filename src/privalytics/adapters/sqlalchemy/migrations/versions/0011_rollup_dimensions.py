"""Rollups: per dimension value, the figures of a breakdown (sessions, distinct visitors,
page views, bounces, summed durations) per day and per block of days, from which the
unfiltered breakdowns read whole days. Every day that already holds events is marked
stale, so that the refresh computes its rows and, until then, it is read from the events.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_MS = 86_400_000


def upgrade() -> None:
    op.create_table(
        "rollup_dimensions",
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dimension", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sessions", sa.BigInteger(), nullable=False),
        sa.Column("visitors", sa.BigInteger(), nullable=False),
        sa.Column("pageviews", sa.BigInteger(), nullable=False),
        sa.Column("bounces", sa.BigInteger(), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "level", "block", "dimension", "value", name="pk_rollup_dimensions"
        ),
        sqlite_with_rowid=False,
    )
    # One scan of the events: the days they fall on, per project (days already stale
    # stay as they are).
    op.execute(
        sa.text(
            "INSERT INTO rollup_stale (project_id, day)"
            " SELECT DISTINCT p.project_id, e.ts / :day"
            " FROM events e JOIN project_numbers p ON p.number = e.project"
            " WHERE NOT EXISTS (SELECT 1 FROM rollup_stale s"
            "  WHERE s.project_id = p.project_id AND s.day = e.ts / :day)"
        ).bindparams(day=DAY_MS)
    )


def downgrade() -> None:
    op.drop_table("rollup_dimensions")
