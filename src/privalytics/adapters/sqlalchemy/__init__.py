"""SQL storage (SQLite via aiosqlite, PostgreSQL via asyncpg) over SQLAlchemy Core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy.bots import SqlAlchemyBotLogStore
from privalytics.adapters.sqlalchemy.engine import ACCEPTED_URLS, create_engine
from privalytics.adapters.sqlalchemy.events import SqlAlchemyEventStore
from privalytics.adapters.sqlalchemy.funnels import SqlAlchemyFunnelStore
from privalytics.adapters.sqlalchemy.goals import SqlAlchemyGoalStore
from privalytics.adapters.sqlalchemy.imports import SqlAlchemyImportStore
from privalytics.adapters.sqlalchemy.migrate import current_revision, migrate
from privalytics.adapters.sqlalchemy.rollups import RollupReader
from privalytics.adapters.sqlalchemy.salts import SqlAlchemySaltStore
from privalytics.adapters.sqlalchemy.tokens import SqlAlchemyTokenStore
from privalytics.adapters.sqlalchemy.users import SqlAlchemyUserStore

__all__ = [
    "ACCEPTED_URLS",
    "SqlAlchemyBotLogStore",
    "SqlAlchemyEventStore",
    "SqlAlchemyFunnelStore",
    "SqlAlchemyGoalStore",
    "SqlAlchemyImportStore",
    "SqlAlchemySaltStore",
    "SqlAlchemyTokenStore",
    "SqlAlchemyUserStore",
    "SqlStores",
    "create_engine",
    "current_revision",
    "migrate",
    "open_stores",
]


@dataclass(frozen=True, kw_only=True)
class SqlStores:
    """The SQL stores over one engine; ``dispose()`` closes its connections."""

    engine: AsyncEngine
    events: SqlAlchemyEventStore
    tokens: SqlAlchemyTokenStore
    salts: SqlAlchemySaltStore
    users: SqlAlchemyUserStore
    bots: SqlAlchemyBotLogStore
    goals: SqlAlchemyGoalStore
    funnels: SqlAlchemyFunnelStore
    imports: SqlAlchemyImportStore

    async def dispose(self) -> None:
        await self.events.aclose()
        await self.engine.dispose()


# Seconds a background statement (the rollup refresh, the goals' warming) may last on
# PostgreSQL.
BACKGROUND_TIMEOUT = 1800.0


def open_stores(
    url: str, visitor_window: timedelta = timedelta(days=1), statement_timeout: float | None = None
) -> SqlStores:
    """Stores over a new engine for ``url``; connects lazily, never migrates.

    ``visitor_window``: the salt window, over which the event store counts distinct
    visitors. Raises ConfigError for an unsupported URL or a SQLite file
    whose folder is missing. ``statement_timeout``: see :func:`create_engine`.
    """
    engine = create_engine(url, statement_timeout)
    rollups = RollupReader(engine, visitor_window)
    # The refresh's statements recompute days of events (many thousands each on a busy
    # site): on PostgreSQL they get an engine of their own with a bound of their own, not
    # the requests' (SQLite's bound is the wait for a writer's lock, the same for both).
    background = None
    if statement_timeout is not None and engine.dialect.name == "postgresql":
        background = create_engine(url, max(statement_timeout, BACKGROUND_TIMEOUT))
    events = SqlAlchemyEventStore(
        engine, rollups, busy_timeout=statement_timeout, background=background
    )
    return SqlStores(
        engine=engine,
        events=events,
        tokens=SqlAlchemyTokenStore(engine),
        salts=SqlAlchemySaltStore(engine),
        users=SqlAlchemyUserStore(engine),
        bots=SqlAlchemyBotLogStore(engine),
        goals=SqlAlchemyGoalStore(engine),
        funnels=SqlAlchemyFunnelStore(engine),
        imports=SqlAlchemyImportStore(events),
    )
