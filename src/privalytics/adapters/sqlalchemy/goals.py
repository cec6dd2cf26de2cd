"""SqlAlchemyGoalStore: each project's goals in the ``goals`` table."""

from __future__ import annotations

from sqlalchemy import RowMapping, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from privalytics.adapters.sqlalchemy import tables
from privalytics.adapters.sqlalchemy.engine import unavailable_on_failure
from privalytics.adapters.sqlalchemy.tables import from_micros, to_micros
from privalytics.domain.goals import Goal, GoalKind

_goals = tables.goals
_projects = tables.projects


def goal_of(row: RowMapping) -> Goal:
    """A goal from its stored row."""
    return Goal(
        id=row["id"],
        project_id=row["project_id"],
        name=row["name"],
        kind=GoalKind(row["kind"]),
        page=row["page"],
        event=row["event"],
        depth=row["depth"],
        created_at=from_micros(row["created_at"]),
    )


class SqlAlchemyGoalStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_goal(self, goal: Goal, limit: int) -> bool:
        # One INSERT ... SELECT whose WHERE checks the project, the limit and the name:
        # the check and the write are one statement.
        same = _goals.c.project_id == goal.project_id
        fits = (
            (select(_projects.c.id).where(_projects.c.id == goal.project_id).exists())
            & (select(func.count()).where(same).scalar_subquery() < limit)
            & ~select(_goals.c.id).where(same & (_goals.c.name == goal.name)).exists()
        )
        values = {
            "id": goal.id,
            "project_id": goal.project_id,
            "name": goal.name,
            "kind": goal.kind.value,
            "page": goal.page,
            "event": goal.event,
            "depth": goal.depth,
            "created_at": to_micros(goal.created_at),
        }
        row = select(
            *(literal(value, _goals.c[key].type).label(key) for key, value in values.items())
        )
        statement = _goals.insert().from_select(list(values), row.where(fits))
        async with unavailable_on_failure("store a goal"), self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                # Read committed: two adds at once would each count the goals before the
                # other's insert. Adds to one project take turns on its row. (SQLite runs
                # one writing statement at a time.) The unique name is the constraint's
                # too, but a clash must be False, not an error.
                await connection.execute(
                    select(_projects.c.id)
                    .where(_projects.c.id == goal.project_id)
                    .with_for_update()
                )
            return (await connection.execute(statement)).rowcount == 1

    async def list_goals(self, project_id: str) -> list[Goal]:
        query = (
            select(_goals)
            .where(_goals.c.project_id == project_id)
            .order_by(_goals.c.created_at, _goals.c.id)
        )
        async with unavailable_on_failure("read goals"), self.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [goal_of(row) for row in rows]

    async def delete_goal(self, project_id: str, goal_id: str) -> Goal | None:
        statement = (
            delete(_goals)
            .where((_goals.c.project_id == project_id) & (_goals.c.id == goal_id))
            .returning(*_goals.c)
        )
        async with unavailable_on_failure("delete a goal"), self.engine.begin() as connection:
            row = (await connection.execute(statement)).mappings().first()
            # Its figures per day (goalrollups.py) go with it.
            await connection.execute(
                delete(tables.rollup_goals).where(
                    (tables.rollup_goals.c.project_id == project_id)
                    & (tables.rollup_goals.c.goal_id == goal_id)
                )
            )
        return None if row is None else goal_of(row)

    async def delete_project_goals(self, project_id: str) -> int:
        statement = delete(_goals).where(_goals.c.project_id == project_id)
        async with unavailable_on_failure("delete goals"), self.engine.begin() as connection:
            await connection.execute(
                delete(tables.rollup_goals).where(tables.rollup_goals.c.project_id == project_id)
            )
            return int((await connection.execute(statement)).rowcount)
