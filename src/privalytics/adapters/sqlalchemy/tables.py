"""The schema, in SQLAlchemy Core. Migrations (not ``create_all``) create it.

Storage conventions:

- ``created_at`` / ``revoked_at`` columns: epoch **microseconds** UTC (exact for datetime).
- ``events.ts``: epoch **milliseconds** UTC. An event's timestamp is truncated to the
  millisecond when stored; ranges are compared against the truncated value.
- ``allowed_origins``: a JSON array; ``events.props``: a JSON object, NULL when empty.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Epoch microseconds of an aware datetime, exactly."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds, truncated (floored): what an event's timestamp is stored as."""
    return to_micros(moment) // 1000


def from_millis(value: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=value)


# Deterministic constraint names: the same on SQLite and PostgreSQL, so later migrations
# can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

projects = Table(
    "projects",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("rate_limit_events", Integer, nullable=False),
    Column("rate_limit_period", Integer, nullable=False),
    Column("allowed_origins", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "project_id",
        String(32),
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Index("ix_tokens_project_id", "project_id"),
)

admin_keys = Table(
    "admin_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

salts = Table(
    "salts",
    metadata,
    # "window" is a reserved word in both dialects. The window's start, in seconds since
    # the epoch (rows of versions that stored window numbers sort before any start, so
    # the first purge deletes them).
    Column("salt_window", BigInteger, primary_key=True, autoincrement=False),
    Column("salt", LargeBinary, nullable=False),
    # When the row was written (wall clock, audit only).
    Column("created_at", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    # INTEGER PRIMARY KEY on SQLite is the rowid: no separate index, cheapest insert.
    Column(
        "id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    # No foreign key: events are deleted explicitly with their project, and a key check
    # per row would slow the hot write path.
    Column("project_id", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("visitor_hash", CHAR(32), nullable=False),
    Column("referrer", Text, nullable=True),
    Column("target", Text, nullable=True),
    Column("value", Double, nullable=True),
    Column("props", Text, nullable=True),
    Index("ix_events_project_id_ts", "project_id", "ts"),
    Index("ix_events_project_id_path_ts", "project_id", "path", "ts"),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
