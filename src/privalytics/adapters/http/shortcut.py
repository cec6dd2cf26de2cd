"""Litestar, with a shortcut to the ingestion handlers.

Before a handler runs, Litestar passes every request through its exception middleware,
its router (path normalisation, the route lookup, the scope state) and the route's own
wrapper. For a handler that does as little as the ingestion routes, that is about 11 µs of
the ~80 µs a request costs the server (docs/performance.md). :class:`App` calls a
shortcut's ASGI handler directly for a ``POST`` to its exact path, and answers what it
raises with the handlers Litestar would have chosen (:func:`.errors.answer_error`).
Everything else (other methods, a trailing slash, every other path) goes through Litestar
as usual, to the same handlers for those paths. The router's one check of its own, a
valid Host header, the ingestion handlers make themselves (in their one pass over the
headers, with :func:`.bypass.valid_host`); an answer they could not finish sending
(:class:`.errors.AnswerInterrupted`) is raised again, as Litestar's exception middleware
does, not answered a second time.

The shortcut is only taken while nothing would run around the handler on Litestar's way:
no app-level middleware, no CORS, CSRF, compression or allowed-hosts configuration, no
``before_send`` or ``after_exception`` hooks, no exception logging, no OpenTelemetry, no
middleware or guards on the route. :func:`.app.create_app` builds such an app. What this
relies on of Litestar's ways is in :mod:`.bypass`, tested against each new release.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, cast

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.handlers import ASGIRouteHandler
from litestar.types import (
    ASGIApp,
    HTTPScope,
    LifeSpanReceive,
    LifeSpanScope,
    LifeSpanSend,
    Receive,
    Scope,
    Send,
)

from privalytics.adapters.http.bypass import enter, runs_nothing_around_handlers
from privalytics.adapters.http.errors import AnswerInterrupted, answer_error


class App(Litestar):
    """A Litestar app whose ``shortcuts`` take ``POST`` to their paths directly.

    ``watch``, when given, wraps the ``send`` of every ``POST`` to a ``watched`` path, the
    shortcuts' or Litestar's (the server's metrics count what ingestion answers).
    """

    def __init__(
        self,
        *,
        shortcuts: Sequence[ASGIRouteHandler] = (),
        watch: Callable[[Send], Send] | None = None,
        watched: Collection[str] = (),
        **config: Any,
    ) -> None:
        super().__init__(**config)
        self._watch = watch
        self._watched = frozenset(watched)
        self._shortcuts: dict[str, ASGIRouteHandler] = {}
        if runs_nothing_around_handlers(self):
            for handler in shortcuts:
                if not handler.resolve_middleware() and not handler.resolve_guards():
                    self._shortcuts.update(dict.fromkeys(handler.paths, handler))

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        if scope["type"] == ScopeType.HTTP:
            http = cast("HTTPScope", scope)
            handler = None
            if http["method"] == "POST":
                path = http["path"]
                if self._watch is not None and path in self._watched:
                    send = self._watch(cast("Send", send))
                handler = self._shortcuts.get(path)
            if handler is not None:
                await self._shortcut(handler, http, cast("Receive", receive), cast("Send", send))
                return
        await super().__call__(scope, receive, send)

    async def _shortcut(
        self, handler: ASGIRouteHandler, scope: Scope, receive: Receive, send: Send
    ) -> None:
        enter(self, handler, scope)
        try:
            await cast("ASGIApp", handler.fn)(scope, receive, send)
        except AnswerInterrupted:
            # Too late to answer: re-raised, as Litestar's exception middleware does.
            raise
        except Exception as exc:
            handlers = handler.resolve_exception_handlers()
            await answer_error(scope, receive, send, exc, handlers, self.request_class)
