"""SqlAlchemyBotLogStore: the bot log in the ``bot_log`` table, one row per project, UTC
day and reason, added to with an upsert (``INSERT ... ON CONFLICT DO UPDATE``, which
SQLite and PostgreSQL both have)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.domain.models import BotCount

_bot_log = tables.bot_log
_EPOCH = date(1970, 1, 1)


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


class SqlAlchemyBotLogStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert

    async def add_bot_counts(self, counts: Sequence[BotCount]) -> None:
        # One row per key: PostgreSQL refuses an upsert that touches a row twice.
        totals: Counter[tuple[str, int, str]] = Counter()
        for line in counts:
            totals[line.project_id, _day_number(line.day), line.reason] += line.count
        if not totals:
            return
        statement = self._insert(_bot_log)
        statement = statement.on_conflict_do_update(
            index_elements=[_bot_log.c.project_id, _bot_log.c.day, _bot_log.c.reason],
            set_={"count": _bot_log.c.count + statement.excluded.count},
        )
        rows = [
            {"project_id": project, "day": day, "reason": reason, "count": count}
            for (project, day, reason), count in sorted(totals.items())
        ]
        async with unavailable_on_failure("store the bot log"), self.engine.begin() as connection:
            await connection.execute(statement, rows)

    async def bot_counts(self, project_id: str, first: date, last: date) -> list[BotCount]:
        query = (
            select(_bot_log.c.day, _bot_log.c.reason, _bot_log.c.count)
            .where(
                _bot_log.c.project_id == project_id,
                _bot_log.c.day >= _day_number(first),
                _bot_log.c.day <= _day_number(last),
            )
            .order_by(_bot_log.c.day, _bot_log.c.reason)
        )
        async with unavailable_on_failure("read the bot log"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            BotCount(
                project_id=project_id,
                day=_EPOCH + timedelta(days=day),
                reason=reason,
                count=count,
            )
            for day, reason, count in rows
        ]

    async def delete_project_bot_counts(self, project_id: str) -> int:
        statement = delete(_bot_log).where(_bot_log.c.project_id == project_id)
        async with unavailable_on_failure("delete a bot log"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount
