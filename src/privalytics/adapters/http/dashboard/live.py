"""The live activity feed: stored events to the dashboard's WebSocket, over channels.

Ingestion's :class:`~privalytics.domain.feed.LiveFeed` hands each stored batch to
:func:`publisher`, which publishes it to the project's channel. With the memory backend
only this process's pages see it; with the Redis backend every instance's pages do,
whichever instance stored the events. Only what the page shows is sent: action, path,
referrer, target, value, time. Never the visitor hash, and there is no address or
agent in an Event to send.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from privalytics.adapters.http.dashboard.auth import current_user, stored_user
from privalytics.adapters.http.dashboard.security import SESSION_COOKIE, SESSION_STORE
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
# How often an idle feed checks that its session still stands (besides before each send).
RECHECK_SECONDS = 30.0


def channel_of(project_id: str) -> str:
    return f"privalytics:events:{project_id}"


class Watchers:
    """The projects whose live page is open, when only this process's pages can receive
    what it publishes (the memory channels backend): publishing for nobody costs the
    ingestion path a few µs per event. With a shared backend (Redis) pages of other
    instances may listen, so everything is published."""

    def __init__(self, *, local_only: bool) -> None:
        self._local_only = local_only
        self._open: Counter[str] = Counter()

    def any(self, project_id: str) -> bool:
        return not self._local_only or project_id in self._open

    def idle(self) -> bool:
        """Whether nothing is to be published at all."""
        return self._local_only and not self._open

    @contextlib.contextmanager
    def watching(self, project_id: str) -> Iterator[None]:
        self._open[project_id] += 1
        try:
            yield
        finally:
            self._open[project_id] -= 1
            if not self._open[project_id]:
                del self._open[project_id]


def publisher(channels: ChannelsPlugin, watchers: Watchers) -> Callable[[Sequence[Event]], None]:
    def publish(events: Sequence[Event]) -> None:
        if watchers.idle():
            return
        by_project: dict[str, list[LiveEvent]] = defaultdict(list)
        for event in events:
            if watchers.any(event.project_id):
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


def live_handler(services: Services, watchers: Watchers) -> Any:
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
        store = socket.app.stores.get(SESSION_STORE)
        session_id = socket.cookies.get(SESSION_COOKIE)
        ended = asyncio.Event()

        async def still_signed_in() -> bool:
            # Signing out, a new password or a deleted user end the session in the store;
            # the copy read at the handshake would not notice.
            return accounts is not None and (
                await stored_user(store, session_id, accounts) is not None
            )

        async def end() -> None:
            if not ended.is_set():
                ended.set()
                with contextlib.suppress(Exception):
                    await socket.close(code=1008, reason="signed out")

        async def forward(data: bytes) -> None:
            if ended.is_set():
                return
            if await still_signed_in():
                await socket.send_data(data)
            else:
                await end()

        async def watch() -> None:
            while not ended.is_set():
                await asyncio.sleep(RECHECK_SECONDS)
                if not await still_signed_in():
                    await end()

        async def read() -> None:
            while True:
                try:
                    await socket.receive_data(mode="text")
                except WebSocketDisconnect:
                    break
            ended.set()

        await socket.accept()
        async with (
            channels.start_subscription([channel_of(project_id)]) as subscriber,
            subscriber.run_in_background(forward),
        ):
            with watchers.watching(project_id):
                tasks = [asyncio.create_task(watch()), asyncio.create_task(read())]
                try:
                    await ended.wait()
                finally:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)

    return live
