"""Managing a project's funnels: the use cases that add, list, find and remove them."""

from __future__ import annotations

import secrets

from privalytics.domain.errors import InvalidInput, NotFound
from privalytics.domain.funnels import MAX_FUNNELS, Funnel, FunnelSpec, check_funnel
from privalytics.domain.ports import Clock, FunnelStore, TokenStore


class Funnels:
    """A project's funnels (see :mod:`privalytics.domain.funnels`); their figures are read
    through :meth:`privalytics.domain.reporting.Reporting.funnel_report`."""

    def __init__(
        self, *, funnels: FunnelStore, tokens: TokenStore, clock: Clock, limit: int = MAX_FUNNELS
    ) -> None:
        self._funnels = funnels
        self._tokens = tokens
        self._clock = clock
        self._limit = limit

    async def _project(self, project_id: str) -> None:
        if await self._tokens.get_project(project_id) is None:
            raise NotFound(f"no project {project_id!r}")

    async def add(self, project_id: str, spec: FunnelSpec) -> Funnel:
        """A new funnel of the project; InvalidInput for malformed steps or name, a name
        the project has already, or a project with :data:`MAX_FUNNELS` funnels."""
        checked = check_funnel(spec)
        await self._project(project_id)
        assert checked.name is not None
        funnel = Funnel(
            id=secrets.token_hex(8),
            project_id=project_id,
            name=checked.name,
            steps=checked.steps,
            created_at=self._clock.now(),
        )
        if not await self._funnels.add_funnel(funnel, self._limit):
            await self._refused(funnel)
        return funnel

    async def _refused(self, funnel: Funnel) -> None:
        """Why the store refused ``funnel``: the name, the limit, or the project gone."""
        kept = await self._funnels.list_funnels(funnel.project_id)
        if any(other.name == funnel.name for other in kept):
            raise InvalidInput(
                f"the project has a funnel named {funnel.name!r} already; give another name",
                field="name",
            )
        if len(kept) >= self._limit:
            raise InvalidInput(
                f"a project has at most {self._limit} funnels; remove one first",
                field="funnels",
            )
        raise NotFound(f"no project {funnel.project_id!r}")

    async def list(self, project_id: str) -> list[Funnel]:
        """The project's funnels, oldest first."""
        await self._project(project_id)
        return await self._funnels.list_funnels(project_id)

    async def remove(self, project_id: str, funnel_id: str) -> Funnel:
        """Remove the project's funnel ``funnel_id`` (the events stay); NotFound when
        there is none."""
        await self._project(project_id)
        removed = await self._funnels.delete_funnel(project_id, funnel_id)
        if removed is None:
            raise NotFound(f"no funnel {funnel_id!r} in project {project_id!r}")
        return removed
