"""Imports: the registry of files imported into a project (``privalytics import``), one
line per file, unique by the project and the file's SHA-256.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=True),
        sa.Column("last_ts", sa.BigInteger(), nullable=True),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
        # Deleting a project deletes its registry (SQLite: foreign_keys=ON per connection).
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_imports_project_id_projects",
            ondelete="CASCADE",
        ),
        # Also the index by project.
        sa.UniqueConstraint("project_id", "sha256", name="uq_imports_project_id_sha256"),
    )


def downgrade() -> None:
    op.drop_table("imports")
