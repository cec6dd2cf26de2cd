"""Managing a project's goals: the use cases that add, list and remove them."""

from __future__ import annotations

import secrets

from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.goals import MAX_GOALS, Goal, GoalSpec, check_goal
from privalytics.domain.ports import Clock, GoalStore, TokenStore


class Goals:
    """A project's goals (see :mod:`privalytics.domain.goals`); their figures are read
    through :meth:`privalytics.domain.reporting.Reporting.goal_report`."""

    def __init__(
        self, *, goals: GoalStore, tokens: TokenStore, clock: Clock, limit: int = MAX_GOALS
    ) -> None:
        self._goals = goals
        self._tokens = tokens
        self._clock = clock
        self._limit = limit

    async def _project(self, project_id: str) -> None:
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")

    async def add(self, project_id: str, spec: GoalSpec) -> Goal:
        """A new goal of the project; InvalidInput for a malformed definition, a name the
        project has already, or a project with :data:`MAX_GOALS` goals."""
        kind, checked = check_goal(spec)
        await self._project(project_id)
        assert checked.name is not None
        goal = Goal(
            id=secrets.token_hex(8),
            project_id=project_id,
            name=checked.name,
            kind=kind,
            page=checked.page,
            event=checked.event,
            depth=checked.depth,
            created_at=self._clock.now(),
        )
        if not await self._goals.add_goal(goal, self._limit):
            await self._refused(goal)
        return goal

    async def _refused(self, goal: Goal) -> None:
        """Why the store refused ``goal``: the name, the limit, or the project gone."""
        kept = await self._goals.list_goals(goal.project_id)
        if any(other.name == goal.name for other in kept):
            raise InvalidInput(
                f"the project has a goal named {goal.name!r} already; give another name",
                field="name",
            )
        if len(kept) >= self._limit:
            raise InvalidInput(
                f"a project has at most {self._limit} goals; remove one first", field="goals"
            )
        raise NotFound(f"no project {goal.project_id!r}")

    async def list(self, project_id: str) -> list[Goal]:
        """The project's goals, oldest first."""
        await self._project(project_id)
        return await self._goals.list_goals(project_id)

    async def remove(self, project_id: str, goal_id: str) -> Goal:
        """Remove the project's goal ``goal_id`` (its figures go with it: they are
        computed from the events, which stay); NotFound when there is none."""
        await self._project(project_id)
        removed = await self._goals.delete_goal(project_id, goal_id)
        if removed is None:
            raise NotFound(f"no goal {goal_id!r} in project {project_id!r}")
        return removed
