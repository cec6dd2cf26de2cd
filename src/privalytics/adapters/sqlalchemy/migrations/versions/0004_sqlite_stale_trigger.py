"""SQLite: a trigger marks the day of every stored event stale (rollup_stale), so that an
insert of events is one statement, its own transaction.

The event writer (sqlitewriter.py) used to mark the days itself, in a second statement of
the same transaction. Each statement of a transaction costs its writer thread the GIL back
(after BEGIN, the insert, the marks and COMMIT), which it waits for while the event loop
answers requests: a single-statement transaction took the server from 0.73 to 0.84-0.95
of its ceiling on single events (docs/performance.md). The trigger also marks what any
other insert stores. PostgreSQL's writer marks the days in its one statement already.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The day is the UTC day of NEW.ts (ms), floored as domain/rollups.py's day_of floors it
# (SQLite's integer division truncates toward zero, which differs before 1970).
_CREATE = """
CREATE TRIGGER events_mark_day_stale AFTER INSERT ON events
BEGIN
    INSERT OR IGNORE INTO rollup_stale (project_id, day)
    VALUES (NEW.project_id, (NEW.ts - ((NEW.ts % 86400000) + 86400000) % 86400000) / 86400000);
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_mark_day_stale")
