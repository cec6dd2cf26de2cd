"""Custom events: two more dictionary-id columns on ``events``, a custom event's ``name``
("Signup") and its revenue's ``currency`` (the amount is ``value``). Both NULL on every
existing row (no custom event was accepted before); action code 5 is a custom event.
Adding a nullable column rewrites no row on either backend.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("name", sa.Integer(), nullable=True))
    op.add_column("events", sa.Column("currency", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Custom events mean nothing to the older schema: they go with their columns.
    op.execute(sa.text("DELETE FROM events WHERE action = 5"))
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of the table would lose
    # its SQLite trigger (migration 0004).
    op.execute(sa.text("ALTER TABLE events DROP COLUMN currency"))
    op.execute(sa.text("ALTER TABLE events DROP COLUMN name"))
