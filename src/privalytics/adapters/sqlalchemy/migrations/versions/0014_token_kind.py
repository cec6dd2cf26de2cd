"""Tokens have a kind: "browser" (public, in pages; every existing token) or "server"
(secret, the only kind whose events may name their visitor's address and user agent).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: existing rows become browser tokens without a rewrite on
    # PostgreSQL; SQLite adds the column in place too (no batch copy needed for ADD).
    op.add_column(
        "tokens",
        sa.Column("kind", sa.String(16), nullable=False, server_default="browser"),
    )


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("kind")
