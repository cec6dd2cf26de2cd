"""PostgreSQL: the events table partitioned by month of its timestamp
(adapters/sqlalchemy/partitions.py), so that expiring old events drops whole months.

The table is rebuilt: the old one set aside, the partitioned one made with the same
columns, ids and sequence, a partition for every month that holds events and the months
around now, and a default partition; the events copied over, the old table dropped. The
primary key becomes (id, ts), as a partitioned table's key must hold the partition key;
ids stay unique, drawn from the same sequence. SQLite keeps one table: nothing changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from alembic import op

from privalytics.adapters.sqlalchemy.partitions import (
    DEFAULT_PARTITION,
    MONTHS_AHEAD,
    MONTHS_BEHIND,
    bounds,
    month_of,
    name_of,
    shifted,
)

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('events_id_seq'::regclass),
    project integer NOT NULL,
    ts bigint NOT NULL,
    visitor bigint NOT NULL,
    action smallint NOT NULL,
    {texts},
    value double precision,
    props text
"""


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _text_columns() -> list[str]:
    rows = op.get_bind().exec_driver_sql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'events'"
        " AND data_type = 'integer' AND column_name NOT IN ('project')"
        " ORDER BY ordinal_position"
    )
    return [row[0] for row in rows]


def _months() -> list[tuple[int, int]]:
    """Every month from the oldest event's to two after now (two before now at least)."""
    now = int(time.time() * 1000)
    oldest = op.get_bind().exec_driver_sql("SELECT min(ts) FROM events_unpartitioned").scalar()
    first = shifted(month_of(now), -MONTHS_BEHIND)
    if oldest is not None:
        first = min(first, month_of(oldest))
    last = shifted(month_of(now), MONTHS_AHEAD)
    months = []
    while first <= last:
        months.append(first)
        first = shifted(first, 1)
    return months


def upgrade() -> None:
    if not _postgres():
        return
    texts = _text_columns()
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER TABLE events_unpartitioned RENAME CONSTRAINT pk_events TO pk_events_old")
    op.execute("ALTER INDEX ix_events_project_ts RENAME TO ix_events_old_project_ts")
    # The sequence outlives the old table: the new one draws its ids from it.
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")
    columns = _COLUMNS.format(texts=",\n    ".join(f"{name} integer" for name in texts))
    columns = columns.replace("path integer", "path integer NOT NULL")
    op.execute(
        f"CREATE TABLE events ({columns},"
        " CONSTRAINT pk_events PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts)"
    )
    op.execute("ALTER TABLE events_unpartitioned ALTER COLUMN id DROP DEFAULT")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    op.execute("CREATE INDEX ix_events_project_ts ON events (project, ts)")
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF events DEFAULT")
    for month in _months():
        start, end = bounds(month)
        op.execute(
            f"CREATE TABLE {name_of(month)} PARTITION OF events"
            f" FOR VALUES FROM ({start}) TO ({end})"
        )
    listed = ", ".join(["id", "project", "ts", "visitor", "action", *texts, "value", "props"])
    op.execute(
        f"INSERT INTO events ({listed}) SELECT {listed} FROM events_unpartitioned"  # noqa: S608
    )
    op.execute("DROP TABLE events_unpartitioned")


def downgrade() -> None:
    if not _postgres():
        return
    texts = _text_columns()
    op.execute("ALTER TABLE events RENAME TO events_partitioned")
    op.execute("ALTER TABLE events_partitioned RENAME CONSTRAINT pk_events TO pk_events_part")
    op.execute("ALTER INDEX ix_events_project_ts RENAME TO ix_events_part_project_ts")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY NONE")
    columns = _COLUMNS.format(texts=",\n    ".join(f"{name} integer" for name in texts))
    columns = columns.replace("path integer", "path integer NOT NULL")
    op.execute(f"CREATE TABLE events ({columns}, CONSTRAINT pk_events PRIMARY KEY (id))")
    op.execute("ALTER TABLE events_partitioned ALTER COLUMN id DROP DEFAULT")
    op.execute("ALTER SEQUENCE events_id_seq OWNED BY events.id")
    listed = ", ".join(["id", "project", "ts", "visitor", "action", *texts, "value", "props"])
    op.execute(
        f"INSERT INTO events ({listed}) SELECT {listed} FROM events_partitioned"  # noqa: S608
    )
    op.execute("DROP TABLE events_partitioned")
    op.execute("CREATE INDEX ix_events_project_ts ON events (project, ts)")
