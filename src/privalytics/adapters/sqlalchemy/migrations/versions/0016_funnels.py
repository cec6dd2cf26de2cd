"""Funnels: per project, 2 to 8 ordered steps (JSON) and a name unique in the project.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "funnels",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_funnels"),
        # Deleting a project deletes its funnels (SQLite: foreign_keys=ON per connection).
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_funnels_project_id_projects",
            ondelete="CASCADE",
        ),
        # Also the index by project: the project's funnels are read by it.
        sa.UniqueConstraint("project_id", "name", name="uq_funnels_project_id_name"),
    )


def downgrade() -> None:
    op.drop_table("funnels")
