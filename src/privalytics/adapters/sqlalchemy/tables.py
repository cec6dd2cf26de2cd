"""The schema, in SQLAlchemy Core. Migrations (not ``create_all``) create it.

Storage conventions:

- ``created_at`` / ``revoked_at`` columns: epoch **microseconds** UTC (exact for datetime).
- ``events.ts``: epoch **milliseconds** UTC. An event's timestamp is truncated to the
  millisecond when stored; ranges are compared against the truncated value.
- ``allowed_origins``: a JSON array; ``events.props``: a JSON object, NULL when empty.
- ``events``: integers only but for ``value`` and ``props`` (migration 0006): the project's
  number, the visitor hash's 64 bits, the action's code, and a dictionary id (``texts``)
  for each text (a custom event's name and currency too, migration 0013); ``value``: a
  scroll's depth, or a custom event's revenue amount.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from privalytics.domain.models import Action, Derived

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
    # "browser" or "server" (domain.models.TokenKind).
    Column("kind", String(16), nullable=False, server_default="browser"),
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

# Every project that ever had an event (or existed at migration 0006) has a small number
# for ever: events and the dictionary are keyed by it. Independent of ``projects`` and
# never deleted, so that events stored for a project after its deletion (another process
# still trusting a cached token) are still found and swept. ``texts``: the dictionary ids
# handed out so far (ids are never reused, even after the project's texts are deleted).
project_numbers = Table(
    "project_numbers",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("project_id", String(32), nullable=False),
    Column("texts", Integer, nullable=False),
    UniqueConstraint("project_id"),
)

# Per project, every text an event holds (a path, a target, a referrer, a source, a
# browser, a country, ...) once: events hold its id. Ids are small per project.
texts = Table(
    "texts",
    metadata,
    Column("project", Integer, primary_key=True, autoincrement=False),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False),
    UniqueConstraint("project", "text"),
    sqlite_with_rowid=False,
)

# The event fields stored as dictionary ids, in column order: the page, the target, then
# every derived field of domain/models.py (``Derived``), which is where a new one is added
# (with a migration adding its column); then a custom event's name and its revenue's
# currency (migration 0013: custom events are rare next to page views, and a name is a
# small id like any other text).
TEXT_FIELDS: tuple[str, ...] = ("path", "target", *Derived.__struct_fields__, "name", "currency")

# An event's action as a small integer (0 and 1 take no byte of a SQLite record); a stored
# format: never renumber.
ACTION_CODES: dict[Action, int] = {
    Action.VISIT: 0,
    Action.CLICK: 1,
    Action.SCROLL: 2,
    Action.DOWNLOAD: 3,
    Action.SHARE: 4,
    Action.CUSTOM: 5,
}

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
    # project_numbers.number. No foreign key: events are deleted explicitly with their
    # project, and a key check per row would slow the hot write path.
    Column("project", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    # The visitor hash's 64 bits as a signed integer (domain/hashing.py).
    Column("visitor", BigInteger, nullable=False),
    Column("action", SmallInteger, nullable=False),
    # texts.id of the project, for each of TEXT_FIELDS (only the page is never NULL).
    *(Column(name, Integer, nullable=name != "path") for name in TEXT_FIELDS),
    Column("value", Double, nullable=True),
    Column("props", Text, nullable=True),
    Index("ix_events_project_ts", "project", "ts"),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)


# --- rollups: per-day figures, and sums of them over aligned blocks of 2**level days ------
# (see privalytics.domain.rollups). A block's rows are only read while none of its days is
# in rollup_stale; a day with events but no row there has been computed from them.

# Days whose figures are not computed from their events yet, or no longer match them: a
# day is marked in the transaction that stores an event for it (days since the epoch).
rollup_stale = Table(
    "rollup_stale",
    metadata,
    Column("project_id", String(32), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)


def _rollup(name: str, *items: Column[object] | Index) -> Table:
    """A rollup table: keyed by project, level and block, then its own key columns (and
    its other columns and indexes)."""
    return Table(
        name,
        metadata,
        Column("project_id", String(32), primary_key=True),
        Column("level", SmallInteger, primary_key=True, autoincrement=False),
        Column("block", Integer, primary_key=True, autoincrement=False),
        *items,
        # Clustered by key on SQLite: a block's rows lie together.
        sqlite_with_rowid=False,
    )


# Distinct visitors of the block (of any action, and of visits), summed over its days.
rollup_totals = _rollup(
    "rollup_totals",
    Column("visitors", BigInteger, nullable=False),
    Column("visit_visitors", BigInteger, nullable=False),
)

# Events per action; the sum and count of their values (for the average scroll depth).
rollup_actions = _rollup(
    "rollup_actions",
    Column("action", String(16), primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("value_sum", Double, nullable=False),
    Column("value_count", BigInteger, nullable=False),
)

# Visits per path and their distinct visitors (summed over the block's days).
rollup_pages = _rollup(
    "rollup_pages",
    Column("path", Text, primary_key=True),
    Column("visits", BigInteger, nullable=False),
    Column("visitors", BigInteger, nullable=False),
    # A block's pages by visits, for the first of a ranking (see domain/rollups.py).
    Index("ix_rollup_pages_rank", "project_id", "level", "block", "visits"),
)

# Visits per referrer (visits without one are not counted here).
rollup_referrers = _rollup(
    "rollup_referrers",
    Column("referrer", Text, primary_key=True),
    Column("visits", BigInteger, nullable=False),
    Index("ix_rollup_referrers_rank", "project_id", "level", "block", "visits"),
)

# Events per action and target (events without one are not counted here).
rollup_targets = _rollup(
    "rollup_targets",
    Column("action", String(16), primary_key=True),
    Column("target", Text, primary_key=True),
    Column("events", BigInteger, nullable=False),
    Index("ix_rollup_targets_rank", "project_id", "level", "block", "action", "events"),
)

# The additive session totals (domain/sessions.py: SessionTotals) of the block's sessions,
# summed over its days (a session never crosses a UTC midnight, so each is in one day);
# ``duration``: the sum of the sessions' lengths in milliseconds (events' timestamps are
# whole milliseconds, so the sum is exact). Migration 0007.
rollup_sessions = _rollup(
    "rollup_sessions",
    Column("sessions", BigInteger, nullable=False),
    Column("pageviews", BigInteger, nullable=False),
    Column("bounces", BigInteger, nullable=False),
    Column("duration", BigInteger, nullable=False),
)

# Day segments (segments.py): per project, field and closed day, that day's sessions (or
# page views) as one compressed array, written by the refresh with the day's rollups; the
# filtered reports read them instead of the day's events.
day_segments = Table(
    "day_segments",
    metadata,
    Column("project_id", String(32), primary_key=True),
    Column("field", String(32), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# A dimension (domain/dimensions.py) as rollup_dimensions stores it; a stored format: never
# renumber (a new dimension takes the next number).
DIMENSION_CODES: dict[str, int] = {
    "page": 1,
    "entry_page": 2,
    "exit_page": 3,
    "source": 4,
    "referrer": 5,
    "utm_source": 6,
    "utm_medium": 7,
    "utm_campaign": 8,
    "utm_term": 9,
    "utm_content": 10,
    "country": 11,
    "region": 12,
    "city": 13,
    "browser": 14,
    "browser_version": 15,
    "os": 16,
    "os_version": 17,
    "device": 18,
    # A custom event's name (migration 0017): its rows' ``events`` count its events.
    "event": 19,
}

# Per dimension value (a ``texts`` id of the project; 0: no value), the figures of a
# breakdown (domain/insight.py) of the block's sessions: sessions, distinct visitors
# (per day, summed over the block's days), page views, bounces and the sessions' summed
# lengths in milliseconds. A session dimension counts each session under its value; the
# page counts a session under every page it viewed, and its views of that page. Exact sums
# over days, since a session never crosses a UTC midnight. Migration 0011.
rollup_dimensions = _rollup(
    "rollup_dimensions",
    Column("dimension", SmallInteger, primary_key=True, autoincrement=False),
    Column("value", Integer, primary_key=True, autoincrement=False),
    Column("sessions", BigInteger, nullable=False),
    Column("visitors", BigInteger, nullable=False),
    Column("pageviews", BigInteger, nullable=False),
    Column("bounces", BigInteger, nullable=False),
    Column("duration", BigInteger, nullable=False),
    # A custom event name's events (dimension "event"); 0 for the other dimensions.
    Column("events", BigInteger, nullable=False, server_default="0"),
)

# Per goal (its id) and UTC day, the figures of the goal's row of a breakdown by goal
# (domain/insight.py): the sessions that converted it, their distinct visitors, page views,
# bounces and summed lengths, and its conversions. Not a rollup the refresh keeps: a
# goal's rows are computed when a read first needs a whole, up-to-date day of it (or by
# the refresh's warming), a row of zeros where it had no conversion, and the refresh
# deletes a day's rows when it recomputes the day. Migration 0018.
rollup_goals = Table(
    "rollup_goals",
    metadata,
    Column("project_id", String(32), primary_key=True),
    Column("goal_id", String(32), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("sessions", BigInteger, nullable=False),
    Column("visitors", BigInteger, nullable=False),
    Column("pageviews", BigInteger, nullable=False),
    Column("bounces", BigInteger, nullable=False),
    Column("duration", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

ROLLUPS = (
    rollup_totals,
    rollup_actions,
    rollup_pages,
    rollup_referrers,
    rollup_targets,
    rollup_sessions,
    rollup_dimensions,
)

# The bot log (domain/bots.py): how many events the bot filter turned away, per project,
# UTC day (days since the epoch) and reason. No address, no agent. Migration 0012.
bot_log = Table(
    "bot_log",
    metadata,
    Column("project_id", String(32), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("reason", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# A project's goals (domain/goals.py; migration 0015): a page goal has ``page`` (a path
# pattern), an event goal ``event`` (a custom event's name), a scroll goal ``page`` and
# ``depth``. Names are unique within a project (a filter names a goal by its name).
goals = Table(
    "goals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "project_id",
        String(32),
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(200), nullable=False),
    # "page", "event" or "scroll" (domain.goals.GoalKind).
    Column("kind", String(16), nullable=False),
    Column("page", Text, nullable=True),
    Column("event", Text, nullable=True),
    Column("depth", SmallInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

# A project's funnels (domain/funnels.py; migration 0016): ``steps`` is the ordered steps
# as a JSON array of {"page": PATTERN} or {"event": NAME} (2 to 8 of them, read whole,
# never queried into). Names are unique within a project, as goals'.
funnels = Table(
    "funnels",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "project_id",
        String(32),
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(200), nullable=False),
    Column("steps", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name"),
)

# Files imported into a project (migration 0019): one line per file, so that the same file
# is never imported twice, and a range can tell it holds imported events. ``first_ts`` /
# ``last_ts``: epoch milliseconds of the first and last stored event (NULL: none stored).
imports = Table(
    "imports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "project_id",
        String(32),
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("sha256", String(64), nullable=False),
    Column("format", String(32), nullable=False),
    Column("first_ts", BigInteger, nullable=True),
    Column("last_ts", BigInteger, nullable=True),
    Column("events", BigInteger, nullable=False),
    Column("imported_at", BigInteger, nullable=False),
    UniqueConstraint("project_id", "sha256"),
)
