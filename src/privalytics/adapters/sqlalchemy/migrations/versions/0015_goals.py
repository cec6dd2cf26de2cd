"""Goals: per project, page goals (a path pattern), event goals (a custom event's name)
and scroll goals (a path pattern and a depth), each with a name unique in its project.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("page", sa.Text(), nullable=True),
        sa.Column("event", sa.Text(), nullable=True),
        sa.Column("depth", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_goals"),
        # Deleting a project deletes its goals (SQLite: foreign_keys=ON per connection).
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_goals_project_id_projects",
            ondelete="CASCADE",
        ),
        # Also the index by project: the project's goals are read by it.
        sa.UniqueConstraint("project_id", "name", name="uq_goals_project_id_name"),
    )


def downgrade() -> None:
    op.drop_table("goals")
