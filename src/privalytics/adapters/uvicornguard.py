"""uvicorn's HTTP/1.1 protocol with the deadlines and the bound it lacks.

uvicorn closes a keep-alive connection that stays idle after a response, but it waits
forever for the first request of a connection, for headers sent one byte at a time and for
a body that trickles in: each such client holds a file descriptor, and about a thousand of
them stop the server from accepting anyone (docs/security.md, "Slow clients and hung
dependencies"). This protocol adds:

- a header deadline: from the connection's start (or the first byte of the next request on
  a kept-alive connection) until the request's headers are complete. A connection that
  sent nothing is closed; one that sent part of a request is answered 408 and closed;
- a body deadline: from the end of the headers until the whole body has arrived; if the
  application has not answered yet, the answer is 408 and the connection is closed;
- a bound on open connections per process: when it is reached, a new connection makes
  room by closing the connection idle the longest (no request under way); only when every
  connection is busy is the newcomer closed.

Every worker process of ``privalytics serve`` loads this class by its import path
(:data:`PROTOCOL`), and the composition root sets the limits in each worker with
:func:`configure` before the first connection.
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict
from typing import Any
from weakref import WeakKeyDictionary

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

# The import path uvicorn's ``http`` option takes, so that spawned workers load it too.
PROTOCOL = "privalytics.adapters.uvicornguard:GuardedHttpToolsProtocol"

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1000
# File descriptors a worker keeps for itself (listener, loop, database pool, logs, Redis,
# the files a request may open) when the connection bound is derived from its limit.
RESERVED_DESCRIPTORS = 128

_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request Timeout\n"
)


class Limits:
    """The deadlines (seconds) and the connection bound of this process."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def configure(*, header_timeout: float, body_timeout: float, max_connections: int) -> int:
    """Set this process's limits; returns the connection bound in force, which is lowered
    to what the process's file-descriptor limit can hold."""
    Limits.header_timeout = header_timeout
    Limits.body_timeout = body_timeout
    Limits.max_connections = connection_bound(max_connections)
    return Limits.max_connections


def connection_bound(wanted: int) -> int:
    """``wanted``, or fewer when the soft RLIMIT_NOFILE could not hold that many
    connections next to what the process needs for itself."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - RESERVED_DESCRIPTORS))


# Deadlines are checked by one sweep per server every SWEEP_FRACTION of the shortest
# deadline (at most every second), not by a timer per request: arming and cancelling two
# timers per request cost about 17 µs on uvloop, a sixth of a request's whole cost.
SWEEP_FRACTION = 0.1


class _Server:
    """What the protocol keeps per server: its idle connections (the one idle the longest
    first) and the sweep that enforces the deadlines."""

    def __init__(self) -> None:
        self.idle: OrderedDict[GuardedHttpToolsProtocol, None] = OrderedDict()
        self.sweep: asyncio.TimerHandle | None = None


_SERVERS: WeakKeyDictionary[ServerState, _Server] = WeakKeyDictionary()


def _sweep_interval() -> float:
    return min(1.0, SWEEP_FRACTION * min(Limits.header_timeout, Limits.body_timeout))


def _sweep(loop: asyncio.AbstractEventLoop, state: ServerState, server: _Server) -> None:
    """Time out the connections past a deadline; again later while any is open."""
    now = loop.time()
    for connection in list(state.connections):
        if isinstance(connection, GuardedHttpToolsProtocol):
            connection.check_deadlines(now)
    if state.connections:
        server.sweep = loop.call_later(_sweep_interval(), _sweep, loop, state, server)
    else:
        server.sweep = None


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines and a connection bound
    that evicts the longest-idle connection first."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._server = _SERVERS.setdefault(server_state, _Server())
        self._idle = self._server.idle
        # When the awaited headers or body began to be awaited (the loop's clock).
        self._headers_since: float | None = None
        self._body_since: float | None = None
        self._busy = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self._make_room():
            transport.abort()
            return
        self._idle[self] = None
        self._headers_since = self.loop.time()
        if self._server.sweep is None:
            self._server.sweep = self.loop.call_later(
                _sweep_interval(), _sweep, self.loop, self.server_state, self._server
            )

    def check_deadlines(self, now: float) -> None:
        """Answer 408 (or close) when the headers or the body are late at ``now``."""
        if self._headers_since is not None and now - self._headers_since >= Limits.header_timeout:
            self._headers_late()
        elif self._body_since is not None and now - self._body_since >= Limits.body_timeout:
            self._body_late()

    def _make_room(self) -> bool:
        """Close the longest-idle connections while over the bound; False when every
        other connection is busy."""
        while len(self.connections) > Limits.max_connections:
            if not self._idle:
                return False
            oldest, _ = self._idle.popitem(last=False)
            oldest._stop_deadlines()
            oldest.transport.abort()
            # Counted out now: abort() reports the loss on the loop's next turn.
            self.connections.discard(oldest)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadlines()
        self._idle.pop(self, None)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._busy = True
        self._idle.pop(self, None)
        if self._headers_since is None:
            self._headers_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._headers_since = None
        super().on_headers_complete()
        if self.parser.should_upgrade():
            return
        self._body_since = self.loop.time()

    def on_message_complete(self) -> None:
        self._body_since = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or self.pipeline:
            return
        self._busy = False
        self._idle[self] = None

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the connection over (and out of uvicorn's count).
        self._stop_deadlines()
        self._idle.pop(self, None)
        super().handle_websocket_upgrade()

    def timeout_keep_alive_handler(self) -> None:
        self._idle.pop(self, None)
        super().timeout_keep_alive_handler()

    def _headers_late(self) -> None:
        self._stop_deadlines()
        if self.transport.is_closing():
            return
        self._idle.pop(self, None)
        if self._busy:  # part of a request arrived
            self.transport.write(_TIMEOUT_ANSWER)
        self.transport.close()

    def _body_late(self) -> None:
        self._stop_deadlines()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # The application, still reading, learns that the client is gone and its
            # answer is dropped; the client gets ours.
            cycle.disconnected = True
            cycle.message_event.set()
            self.transport.write(_TIMEOUT_ANSWER)
        self.transport.close()

    def _stop_deadlines(self) -> None:
        self._headers_since = self._body_since = None
