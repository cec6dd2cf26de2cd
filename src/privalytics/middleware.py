"""An ASGI middleware that records a ``visit`` for each HTML page an application serves.

No JavaScript: the visit is recorded from the request itself, for any ASGI framework
(Starlette, FastAPI, Litestar, Quart, a bare ASGI callable). Either through a client to a
privalytics server, or straight into an embedded core::

    app = PrivalyticsMiddleware(app, client=Client("https://stats.example", "pvt_..."))
    app = PrivalyticsMiddleware(app, core=await Privalytics.open(...), token="pvt_...")

Through a client, the token must be a **server token** (``privalytics project token
rotate ID --server``): the visit names its visitor (``visitor_ip``, ``user_agent``), which
a server accepts only from a server token; keep it out of pages. An embedded core is
given the visitor as the request's own client, so any live token of the project works.

What counts: a GET answered 2xx with ``Content-Type: text/html``, not a prefetch, not
from a visitor who sent ``Sec-GPC: 1`` (or ``DNT: 1``, unless ``honour_dnt=False``), and
not from a robot (a user agent matching :data:`BOTS`, or none at all; unless
``count_bots=True``). The visitor's address and user agent go to the server, which hashes
them with the day's salt and keeps neither (it derives browser, system and location from
them first); of the query, only the campaign's keys (``utm_*``, ``source``, ``ref``) go
with the path. A peer that is no IP address (a Unix socket, a
test client's ``testclient``) is an unknown address, as a request without a peer is: the
visit is recorded all the same (through a client, sent without ``visitor_ip``).
Recording never delays or fails the response: the client queues, and the embedded core
records in background tasks, at most ``max_pending`` at a time (beyond that a visit is
dropped and counted in ``dropped``), whose errors are swallowed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Protocol
from urllib.parse import unquote_plus

from privalytics.adapters.http.clientip import TrustedProxies, client_ip
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent
from privalytics.domain.sources import READ_KEYS
from privalytics.domain.validation import MAX_PATH, normalize_ip
from privalytics.embedded import Privalytics

logger = logging.getLogger("privalytics.middleware")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# User agents that are not a person's browser: crawlers, link previews, uptime monitors,
# HTTP libraries and headless browsers. A small list on purpose: what it misses is counted.
BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|monitor|lighthouse|facebookexternalhit|curl|wget"
    r"|python-requests|httpx|aiohttp|go-http-client|okhttp|java/|headlesschrome",
    re.IGNORECASE,
)
# Visits being recorded into an embedded core at once, at most: each holds a task and its
# event; a core slower than the traffic must not grow them without bound.
MAX_PENDING = 1000


class Tracker(Protocol):
    """What the middleware needs of a client: :class:`privalytics.client.Client` and
    :class:`~privalytics.client.AsyncClient` both are one."""

    def track(self, action: str, path: str, **fields: Any) -> bool: ...


class PrivalyticsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        client: Tracker | None = None,
        core: Privalytics | None = None,
        token: str | None = None,
        trusted_proxies: Sequence[str] = (),
        exclude: Sequence[str] = (),
        honour_dnt: bool = True,
        count_bots: bool = False,
        max_pending: int = MAX_PENDING,
    ) -> None:
        """``exclude``: path prefixes never recorded (e.g. ``/admin``).
        ``trusted_proxies``: addresses or CIDRs of reverse proxies whose X-Forwarded-For
        names the visitor. ``count_bots``: send robots' requests too (the server's bot
        filter then turns them away into its bot log, unless PRIVALYTICS_BOT_FILTER=off
        there; without an agent, a visit counts as "empty user agent"). ``max_pending``:
        visits being recorded into ``core`` at once, at most."""
        if (client is None) == (core is None):
            raise ValueError("give either client= or core= (with token=)")
        if core is not None and not token:
            raise ValueError("core= needs the project's token=")
        self.app = app
        self._client = client
        self._core = core
        self._token = token or ""
        self._trusted = TrustedProxies(trusted_proxies)
        self._exclude = tuple(exclude)
        self._honour_dnt = honour_dnt
        self._count_bots = count_bots
        self._max_pending = max_pending
        self._tasks: set[asyncio.Task[None]] = set()
        # Visits not recorded because max_pending were already being recorded.
        self.dropped = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path") or "/"
        headers = _headers(scope)
        if path.startswith(self._exclude) or not self._wanted(headers):
            await self.app(scope, receive, send)
            return

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                try:
                    if _is_html_page(message):
                        self._record(scope, _page(path, scope), headers)
                except Exception:  # recording must never break the response
                    logger.debug("privalytics: could not record a visit", exc_info=False)
            await send(message)

        await self.app(scope, receive, send_and_record)

    def _wanted(self, headers: dict[str, str]) -> bool:
        if headers.get("sec-gpc") == "1":
            return False
        if self._honour_dnt and headers.get("dnt") == "1":
            return False
        purpose = headers.get("sec-purpose", "") + headers.get("purpose", "")
        if "prefetch" in purpose:
            return False
        if self._count_bots:
            return True
        agent = headers.get("user-agent", "")
        return bool(agent) and BOTS.search(agent) is None

    def _record(self, scope: Scope, path: str, headers: dict[str, str]) -> None:
        peer = scope.get("client")
        forwarded = [headers["x-forwarded-for"]] if "x-forwarded-for" in headers else []
        ip = _address(client_ip(peer[0] if peer else None, forwarded, self._trusted))
        agent = headers.get("user-agent", "")
        referrer = headers.get("referer") or None
        if self._client is not None:
            self._client.track(
                "visit", path, referrer=referrer, visitor_ip=ip or None, user_agent=agent
            )
            return
        if len(self._tasks) >= self._max_pending:
            self.dropped += 1
            return
        event = IncomingEvent(action=Action.VISIT, path=path, referrer=referrer)
        task = asyncio.get_running_loop().create_task(self._record_core(event, ip, agent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_core(self, event: IncomingEvent, ip: str, agent: str) -> None:
        assert self._core is not None
        try:
            await self._core.record(self._token, [event], ip=ip, user_agent=agent)
        except Exception as exc:
            # The type only: a message could name the page, never the visitor, but be brief.
            logger.warning("privalytics: a visit was not recorded (%s)", type(exc).__name__)

    async def drain(self) -> None:
        """Wait for the visits being recorded into the embedded core (e.g. at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _address(host: str) -> str:
    """``host`` when it is an IP address, else "" (unknown, as for a request without a
    peer): a Unix socket's or a test client's name (Litestar's and Starlette's
    ``testclient``) is no visitor's address, and a server refuses it as ``visitor_ip``."""
    try:
        return normalize_ip(host) if host else ""
    except InvalidInput:
        return ""


def _page(path: str, scope: Scope) -> str:
    """The page as sent: ``path`` with the campaign's part of the query, unless that would
    make it too long to be accepted (then the visit is recorded without its campaign)."""
    page = path + _campaign_query(scope.get("query_string") or b"")
    return page if len(page) <= MAX_PATH else path


def _campaign_query(query: bytes) -> str:
    """``?`` and the campaign's part of a request's query (``utm_*``, ``source``, ``ref``:
    what the server reads for the campaign before it drops the query), or ""; the rest
    of the query, which may hold what is not ours to collect, is never sent."""
    if not query:
        return ""
    kept = [
        pair
        for pair in query.decode("latin-1").split("&")
        if unquote_plus(pair.partition("=")[0]) in READ_KEYS
    ]
    return "?" + "&".join(kept) if kept else ""


def _headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    name: bytes
    value: bytes
    for name, value in scope.get("headers", ()):
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        found[key] = f"{found[key]},{text}" if key in found else text
    return found


def _is_html_page(message: Message) -> bool:
    status: int = message.get("status", 0)
    if not 200 <= status < 300:
        return False
    for name, value in message.get("headers", ()):
        if bytes(name).lower() == b"content-type":
            return bytes(value).lower().startswith(b"text/html")
    return False
