"""PostgreSQL: the salts table is UNLOGGED, so that no salt is ever written to the
write-ahead log, from which a deleted one could be read back (docs/privacy.md, "Deleted
salts on disk"). SQLite has no such thing: its purge deletes securely instead
(adapters/sqlalchemy/salts.py).

The change rewrites the table into a new file (the old one is truncated at commit); salts
written to the WAL before it stay in the WAL segments until PostgreSQL reuses them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE salts SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE salts SET LOGGED")
