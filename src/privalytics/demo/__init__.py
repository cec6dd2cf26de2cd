"""A demo project with six weeks of plausible traffic, for a first look (``serve --demo``).

The history goes through the ordinary ingestion path (token check, validation, rate
limit, hashing, storage), replayed in time order under a clock set to each day's events:
so each event's visitor is hashed with the salt of its own window, created when the
replay reaches the window and deleted when it leaves it, as a server running through
those weeks would have done. Only the salt of the current window outlives the replay, and
it is the one the server uses next.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from privalytics import bootstrap
from privalytics.config import DEFAULT_DATABASE_URL, Settings
from privalytics.demo.traffic import DAYS, demo_traffic
from privalytics.domain.models import ClientInfo, IncomingEvent, Project, TokenKind
from privalytics.domain.services import Services
from privalytics.domain.validation import MAX_BATCH

DEMO_NAME = "Demo site"
DEMO_USER = "demo"

__all__ = ["DAYS", "DEMO_NAME", "DEMO_USER", "demo_traffic", "prepare_demo", "replay"]


class _ReplayClock:
    """The time the replay has reached."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


async def prepare_demo(
    settings: Settings, base_url: str = "http://127.0.0.1:8000", *, now: datetime | None = None
) -> str:
    """Create the demo project, an admin key, the ``demo`` dashboard user and the demo's
    history, unless the project exists; returns what to tell the user. ``base_url`` is
    where the server will answer, for the printed examples."""
    services = bootstrap.build(settings)
    try:
        for project in await services.admin.list_projects():
            if project.name == DEMO_NAME:
                return await _again(services, settings, project, base_url)
        created = await services.admin.create_project(DEMO_NAME)
        key = await services.admin.create_admin_key()
        dashboard: list[str] = []
        if services.accounts is not None and await services.accounts.get_user(DEMO_USER) is None:
            password = secrets.token_urlsafe(12)
            await services.accounts.create_user(DEMO_USER, password)
            dashboard = [
                f"  dashboard:      {base_url}/dashboard  (user {DEMO_USER!r}, "
                f"password {password!r})",
            ]
    finally:
        await services.aclose()
    now = now or datetime.now(UTC)
    events = demo_traffic(now)
    await replay(settings, created.token.token, events, now=now)
    return "\n".join(
        [
            f"Created the demo project {created.project.name!r} (id {created.project.id}) "
            f"with {len(events)} sample events over the last {DAYS} days.",
            f"  tracking token: {created.token.token}",
            f"  admin API key:  {key}",
            *dashboard,
            "They are shown only once. Read the numbers with:",
            f"  curl -H 'Authorization: Bearer {key}' "
            f"'{base_url}/api/v1/projects/{created.project.id}/stats?period=30d'",
        ]
    )


async def _again(services: Services, settings: Settings, project: Project, base_url: str) -> str:
    """What a later ``serve --demo`` says: where the demo is and how to get new secrets."""
    lines = [
        f"The demo project {project.name!r} exists (id {project.id}); its token, admin key "
        "and dashboard password were shown only when it was created. To get new ones:",
        f"  tracking token: privalytics project token rotate {project.id}",
        "  admin API key:  privalytics admin key create",
    ]
    if services.accounts is not None:
        has_user = await services.accounts.get_user(DEMO_USER) is not None
        command = "password" if has_user else "create"
        lines.append(
            f"  dashboard:      privalytics admin user {command} {DEMO_USER}  "
            f"(then sign in at {base_url}/dashboard)"
        )
    if settings.database_url != DEFAULT_DATABASE_URL:
        lines.append("Give them the same database (--database-url or PRIVALYTICS_DATABASE_URL).")
    return "\n".join(lines)


async def replay(
    settings: Settings,
    token: str,
    events: Sequence[IncomingEvent],
    *,
    now: datetime | None = None,
) -> None:
    """Record ``events`` (oldest first, each with its timestamp) through the ingestion path
    as if each had arrived when it happened, then bring the rollups up to date."""
    now = now or datetime.now(UTC)
    clock = _ReplayClock(now)
    # One process replays on its own: its rate limiter stays in memory (and out of a
    # shared Redis), following the replay's clock.
    services = bootstrap.build(
        msgspec.structs.replace(settings, rate_limit_url="memory://"), clock=clock
    )
    client = ClientInfo(ip="127.0.0.1", user_agent="privalytics-demo")
    # The sample visitors are named by their events (visitor_ip, user_agent), which only a
    # server token may do: one is issued for the replay and revoked after it.
    project = await services.ingestion.authenticate(token)
    server = await services.admin.issue_token(project.id, kind=TokenKind.SERVER)
    try:
        max_age = timedelta(hours=settings.max_event_age_hours)
        for piece in _pieces(events, max_age):
            # The clock stands at the piece's last event: every event of the piece is in
            # the clock's salt window (a piece lies within one UTC day, and windows start
            # at UTC midnights) and younger than the oldest timestamp accepted.
            clock.moment = _timestamp(piece[-1])
            await services.ingestion.record(server.token, piece, client)
        clock.moment = now
        await services.refresh_rollups()
    finally:
        # Whatever happened, no salt of a window that is over stays behind.
        clock.moment = now
        await services.admin.revoke_token(project.id, server.info.id)
        await services.purge_expired_salts()
        await services.aclose()


def _pieces(
    events: Sequence[IncomingEvent], max_age: timedelta
) -> Iterator[Sequence[IncomingEvent]]:
    """Runs of ``events`` within one UTC day, spanning less than ``max_age``, at most a
    batch each."""
    start = 0
    for index in range(1, len(events) + 1):
        if index == len(events):
            yield events[start:index]
            break
        first, moment = _timestamp(events[start]), _timestamp(events[index])
        if moment.date() != first.date() or moment - first >= max_age or index - start >= MAX_BATCH:
            yield events[start:index]
            start = index


def _timestamp(event: IncomingEvent) -> datetime:
    if event.timestamp is None:
        raise ValueError("a replayed event needs its timestamp")
    return event.timestamp
