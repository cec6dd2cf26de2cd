"""Rollups of custom event names: ``rollup_dimensions`` gains ``events`` (a custom event
name's events; 0 for the other dimensions) and the rows of dimension 19 (``event``), from
which the unfiltered breakdowns by event read whole days. Every day that holds a custom
event is marked stale, so that the refresh adds its rows and, until then, it is read from
the events.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_MS = 86_400_000
# tables.DIMENSION_CODES["event"] and tables.ACTION_CODES[Action.CUSTOM], as stored.
EVENT_DIMENSION = 19
CUSTOM_ACTION = 5


def upgrade() -> None:
    op.add_column(
        "rollup_dimensions",
        sa.Column("events", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute(
        sa.text(
            "INSERT INTO rollup_stale (project_id, day)"
            " SELECT DISTINCT p.project_id, e.ts / :day"
            " FROM events e JOIN project_numbers p ON p.number = e.project"
            " WHERE e.action = :custom AND NOT EXISTS (SELECT 1 FROM rollup_stale s"
            "  WHERE s.project_id = p.project_id AND s.day = e.ts / :day)"
        ).bindparams(day=DAY_MS, custom=CUSTOM_ACTION)
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM rollup_dimensions WHERE dimension = :event").bindparams(
            event=EVENT_DIMENSION
        )
    )
    op.execute(sa.text("ALTER TABLE rollup_dimensions DROP COLUMN events"))
