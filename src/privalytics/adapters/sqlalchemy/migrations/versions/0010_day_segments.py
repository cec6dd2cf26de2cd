"""Day segments: per project, field and closed day, the day's sessions (or page views)
column by column, one compressed array each (adapters/sqlalchemy/segments.py), read by the
filtered reports instead of the day's events. The refresh writes a day's segments with its
rollups; until then (and for days made stale again by late events) the events are read,
so an upgraded database needs no backfill here: every day that holds events and has no
segments is marked stale, and the next refresh writes them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_MS = 86_400_000


def upgrade() -> None:
    op.create_table(
        "day_segments",
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "field", "day", name="pk_day_segments"),
        sqlite_with_rowid=False,
    )
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
    op.drop_table("day_segments")
