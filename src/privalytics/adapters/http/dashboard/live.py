"""The live activity feed: stored events to the dashboard's WebSocket, over channels.

Ingestion's :class:`~privalytics.domain.feed.LiveFeed` hands each stored batch to
:func:`publisher`, which publishes it to the project's channel. With the memory backend
only this process's pages see it; with the Redis backend every instance's pages do,
whichever instance stored the events. Only what the page shows is sent: action, path,
referrer, target, value, time. Never the visitor hash, and there is no address or
agent in an Event to send.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from privalytics.adapters.http.dashboard.auth import current_user
from privalytics.domain.errors import NotFound
from privalytics.domain.models import Event
from privalytics.domain.services import Services


class LiveEvent(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    path: str
    timestamp: str
    referrer: str | None = None
    target: str | None = None
    value: float | None = None

    @classmethod
    def of(cls, event: Event) -> LiveEvent:
        return cls(
            action=event.action.value,
            path=event.path,
            timestamp=event.timestamp.isoformat(),
            referrer=event.referrer,
            target=event.target,
            value=event.value,
        )


_encode = msgspec.json.Encoder().encode


def channel_of(project_id: str) -> str:
    return f"privalytics:events:{project_id}"


def publisher(channels: ChannelsPlugin) -> Callable[[Sequence[Event]], None]:
    def publish(events: Sequence[Event]) -> None:
        by_project: dict[str, list[LiveEvent]] = defaultdict(list)
        for event in events:
            by_project[event.project_id].append(LiveEvent.of(event))
        for project_id, items in by_project.items():
            channels.publish(_encode(items), channels=[channel_of(project_id)])

    return publish


def _same_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    """Browsers send Origin on WebSockets; another site's page must not read the feed
    with the owner's cookie (cross-site WebSocket hijacking)."""
    origin = socket.headers.get("origin")
    host = socket.headers.get("host")
    return origin is not None and host is not None and urlsplit(origin).netloc == host


def live_handler(services: Services) -> Any:
    accounts = services.accounts

    @websocket("/dashboard/projects/{project_id:str}/live")
    async def live(socket: WebSocket[Any, Any, Any], project_id: FromPath[str]) -> None:
        if (
            accounts is None
            or not _same_origin(socket)
            or await current_user(socket, accounts) is None
        ):
            await socket.close(code=1008, reason="sign in first")
            return
        try:
            await services.admin.get_project(project_id)
        except NotFound:
            await socket.close(code=1008, reason="no such project")
            return
        channels = socket.app.plugins.get(ChannelsPlugin)
        await socket.accept()
        async with (
            channels.start_subscription([channel_of(project_id)]) as subscriber,
            subscriber.run_in_background(socket.send_data),
        ):
            while True:
                try:
                    await socket.receive_data(mode="text")
                except WebSocketDisconnect:
                    break

    return live
