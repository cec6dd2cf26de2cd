"""Which project a site is, for senders that name a site instead of holding a token.

Plausible's tracker names its site by domain, Umami's by a website id; both are public,
like a page token. A project takes part only when it lists its site's origins in
``allowed_origins``: that list is the opt-in, and what a domain is matched against.
"""

from __future__ import annotations

from privalytics.domain.models import Project
from privalytics.domain.ports import Clock, TokenStore
from privalytics.domain.validation import normalize_origin


def host_of(origin: str) -> str:
    """The host of a clean origin (``https://Example.com:8443`` -> ``example.com``)."""
    rest = origin.split("://", 1)[-1]
    if rest.startswith("["):
        return rest[: rest.index("]") + 1]
    return rest.split(":", 1)[0]


def _without_www(host: str) -> str:
    return host.removeprefix("www.")


class SiteDirectory:
    """The projects that list origins, re-read at most every ``ttl`` seconds."""

    def __init__(self, tokens: TokenStore, clock: Clock, ttl: float) -> None:
        self._tokens = tokens
        self._clock = clock
        self._ttl = ttl
        self._loaded_at: float | None = None
        self._projects: list[Project] = []
        self._any_origin = False

    async def _refresh(self) -> None:
        now = self._clock.now().timestamp()
        if self._loaded_at is not None and 0 <= now - self._loaded_at < self._ttl:
            return
        projects = await self._tokens.list_projects()
        self._projects = [project for project in projects if project.allowed_origins]
        self._any_origin = len(self._projects) < len(projects)
        self._loaded_at = now

    async def by_domain(self, domain: str, origin: str | None = None) -> Project | None:
        """The project one of whose origins has ``domain`` as its host, a leading ``www.``
        aside on either side (as Plausible matches). Two projects may share a host (prod
        ``https://example.com``, staging ``http://example.com:8080``): the one listing the
        request's ``origin`` wins, then one whose host is exactly ``domain``, then the
        oldest."""
        wanted = domain.strip().lower().rstrip(".")
        if not wanted:
            return None
        bare = _without_www(wanted)
        await self._refresh()
        clean = None if origin is None else normalize_origin(origin)
        exact: Project | None = None
        loose: Project | None = None
        for project in self._projects:
            hosts = [host_of(allowed) for allowed in project.allowed_origins]
            if not any(_without_www(host) == bare for host in hosts):
                continue
            if clean is not None and clean in project.allowed_origins:
                return project
            if exact is None and wanted in hosts:
                exact = project
            loose = loose or project
        return exact or loose

    async def may_preflight(self, origin: str) -> bool:
        """Whether some project could accept events from ``origin``: one that lists it,
        or one that accepts any origin."""
        clean = normalize_origin(origin)
        if clean is None:
            return False
        await self._refresh()
        return self._any_origin or any(clean in p.allowed_origins for p in self._projects)
