"""SqlAlchemyFunnelStore: each project's funnels in the ``funnels`` table."""

from __future__ import annotations

import msgspec
from sqlalchemy import RowMapping, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.tables import from_micros, to_micros
from privalytics.domain.funnels import Funnel, Step

_funnels = tables.funnels
_projects = tables.projects
# Steps as stored: [{"page": ...} | {"event": ...}], the unset field left out.
_encode = msgspec.json.Encoder()
_steps = msgspec.json.Decoder(tuple[Step, ...])


def _funnel(row: RowMapping) -> Funnel:
    return Funnel(
        id=row["id"],
        project_id=row["project_id"],
        name=row["name"],
        steps=_steps.decode(row["steps"]),
        created_at=from_micros(row["created_at"]),
    )


def _stored(steps: tuple[Step, ...]) -> str:
    return _encode.encode(
        [{"page": s.page} if s.event is None else {"event": s.event} for s in steps]
    ).decode()


class SqlAlchemyFunnelStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_funnel(self, funnel: Funnel, limit: int) -> bool:
        # One INSERT ... SELECT whose WHERE checks the project, the limit and the name, as
        # the goal store does (see there for PostgreSQL's lock on the project's row).
        same = _funnels.c.project_id == funnel.project_id
        fits = (
            (select(_projects.c.id).where(_projects.c.id == funnel.project_id).exists())
            & (select(func.count()).where(same).scalar_subquery() < limit)
            & ~select(_funnels.c.id).where(same & (_funnels.c.name == funnel.name)).exists()
        )
        values = {
            "id": funnel.id,
            "project_id": funnel.project_id,
            "name": funnel.name,
            "steps": _stored(funnel.steps),
            "created_at": to_micros(funnel.created_at),
        }
        row = select(
            *(literal(value, _funnels.c[key].type).label(key) for key, value in values.items())
        )
        statement = _funnels.insert().from_select(list(values), row.where(fits))
        async with unavailable_on_failure("store a funnel"), self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                await connection.execute(
                    select(_projects.c.id)
                    .where(_projects.c.id == funnel.project_id)
                    .with_for_update()
                )
            return (await connection.execute(statement)).rowcount == 1

    async def list_funnels(self, project_id: str) -> list[Funnel]:
        query = (
            select(_funnels)
            .where(_funnels.c.project_id == project_id)
            .order_by(_funnels.c.created_at, _funnels.c.id)
        )
        async with unavailable_on_failure("read funnels"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_funnel(row) for row in rows]

    async def get_funnel(self, project_id: str, funnel_id: str) -> Funnel | None:
        query = select(_funnels).where(
            (_funnels.c.project_id == project_id) & (_funnels.c.id == funnel_id)
        )
        async with unavailable_on_failure("read a funnel"), self.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _funnel(row)

    async def delete_funnel(self, project_id: str, funnel_id: str) -> Funnel | None:
        statement = (
            delete(_funnels)
            .where((_funnels.c.project_id == project_id) & (_funnels.c.id == funnel_id))
            .returning(*_funnels.c)
        )
        async with unavailable_on_failure("delete a funnel"), self.engine.begin() as connection:
            row = (await connection.execute(statement)).mappings().first()
        return None if row is None else _funnel(row)

    async def delete_project_funnels(self, project_id: str) -> int:
        statement = delete(_funnels).where(_funnels.c.project_id == project_id)
        async with unavailable_on_failure("delete funnels"), self.engine.begin() as connection:
            return (await connection.execute(statement)).rowcount
