"""Rollups: an index per ranked rollup table giving a block's rows by count, so that a
ranking (top pages, referrers, targets) over a long range reads the first rows of each
block instead of all of them (see domain/rollups.py). The 12-month top pages of the
dashboard benchmark read 36,596 rollup rows before; see docs/performance.md for after.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_rollup_pages_rank", "rollup_pages", ["project_id", "level", "block", "visits"]),
    ("ix_rollup_referrers_rank", "rollup_referrers", ["project_id", "level", "block", "visits"]),
    (
        "ix_rollup_targets_rank",
        "rollup_targets",
        ["project_id", "level", "block", "action", "events"],
    ),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
