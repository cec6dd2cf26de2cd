"""A demo project with a week of plausible traffic, for a first look."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from privalytics.domain.models import Action, ClientInfo, IncomingEvent
from privalytics.domain.services import Services

DEMO_NAME = "Demo site"
DEMO_USER = "demo"
_PAGES = [
    "/",
    "/blog/",
    "/blog/hello-world",
    "/blog/privacy-first",
    "/pricing",
    "/docs/",
    "/docs/install",
    "/about",
]
_REFERRERS = [
    None,
    None,
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/item",
    "https://mastodon.social/@someone",
    "https://github.com/privalytics",
]
_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148",
]


def demo_events(count: int, seed: int = 7) -> list[IncomingEvent]:
    """Events of every action from a few dozen visitors over the last 23 hours.

    Visitor addresses come from the documentation ranges (RFC 5737); they are hashed like
    any other and never stored.
    """
    rng = random.Random(seed)  # noqa: S311 (sample data, not secrets)
    now = datetime.now(UTC)
    events: list[IncomingEvent] = []
    for _ in range(count):
        visitor = rng.randrange(40)
        ip = f"198.51.100.{visitor}"
        agent = _AGENTS[visitor % len(_AGENTS)]
        path = rng.choice(_PAGES)
        ago = timedelta(minutes=rng.randrange(23 * 60))
        roll = rng.random()
        if roll < 0.6:
            action, target, value = Action.VISIT, None, None
        elif roll < 0.75:
            action, target, value = Action.CLICK, rng.choice(["/pricing", "Sign up"]), None
        elif roll < 0.9:
            action, target, value = Action.SCROLL, None, float(rng.choice([25, 50, 75, 100]))
        elif roll < 0.96:
            action, target, value = Action.DOWNLOAD, "/files/privalytics-guide.pdf", None
        else:
            action, target, value = Action.SHARE, "mastodon", None
        events.append(
            IncomingEvent(
                action=action,
                path=path,
                target=target,
                value=value,
                referrer=rng.choice(_REFERRERS) if action is Action.VISIT else None,
                visitor_ip=ip,
                user_agent=agent,
                timestamp=now - ago,
            )
        )
    return events


async def ensure_demo(services: Services, base_url: str = "http://127.0.0.1:8000") -> str:
    """Create the demo project, an admin key and sample events, unless the project exists;
    ``base_url`` is where the server will answer, for the printed example."""
    for project in await services.admin.list_projects():
        if project.name == DEMO_NAME:
            return (
                f"Demo project exists (id {project.id}). Its token was shown when it was "
                "created; issue a new one with: privalytics project token rotate "
                f"{project.id}"
            )
    created = await services.admin.create_project(DEMO_NAME)
    key = await services.admin.create_admin_key()
    dashboard: list[str] = []
    if services.accounts is not None and await services.accounts.get_user(DEMO_USER) is None:
        password = secrets.token_urlsafe(12)
        await services.accounts.create_user(DEMO_USER, password)
        dashboard = [
            f"  dashboard:      {base_url}/dashboard  (user {DEMO_USER!r}, password {password!r})",
        ]
    events = demo_events(300)
    await services.ingestion.record(
        created.token.token, events, ClientInfo(ip="127.0.0.1", user_agent="privalytics-demo")
    )
    return "\n".join(
        [
            f"Created the demo project {created.project.name!r} (id {created.project.id}) "
            f"with {len(events)} sample events.",
            f"  tracking token: {created.token.token}",
            f"  admin API key:  {key}",
            *dashboard,
            "They are shown only once. Read the numbers with:",
            f"  curl -H 'Authorization: Bearer {key}' "
            f"{base_url}/api/v1/projects/{created.project.id}/stats",
        ]
    )
