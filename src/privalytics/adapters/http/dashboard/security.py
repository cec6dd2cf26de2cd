"""The dashboard's protections: security headers, cookies, sessions that start afresh.

- Every dashboard answer carries a Content-Security-Policy that allows scripts, styles,
  images and connections from this origin only (no inline script, no third party),
  refuses framing, and is not cached.
- Cookies are HttpOnly (the session) and SameSite=Lax; ``Secure`` is added when the
  request came over HTTPS, or always/never by configuration.
- A successful sign-in gets a new session id: a session id planted before sign-in
  (session fixation) never becomes a signed-in session.
- Sessions are strict and only kept when they hold something: an id the store does not
  hold is never adopted, and an anonymous visit stores nothing.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

from litestar import Response
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send

from privalytics.adapters.http.clientip import TrustedProxies, parse_address
from privalytics.domain.errors import StorageUnavailable

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
NO_STORE = "no-store"
FRESH_SESSION_ID = "privalytics_fresh_session_id"
SESSION_COOKIE = "privalytics_session"
SESSION_STORE = "privalytics_sessions"


def add_security_headers(response: Response[Any]) -> Response[Any]:
    """An ``after_request`` hook: the headers every dashboard answer carries."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", NO_STORE)
    return response


STATIC_CACHE = "public, max-age=31536000, immutable"


def static_headers(response: Response[Any]) -> Response[Any]:
    """Stylesheet and script: the pages name them with a content hash (``?v=``), so they
    can be cached for good; a new release names new URLs."""
    response.headers["Cache-Control"] = STATIC_CACHE
    return add_security_headers(response)


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    """The same headers on answers no handler wrote (static files, refusals of middleware)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


@dataclass(frozen=True)
class CookiePolicy:
    """``secure``: True or False always; None adds Secure when the request is HTTPS: its
    own scheme, or ``X-Forwarded-Proto: https`` from a trusted proxy that ended TLS."""

    secure: bool | None = None
    trusted: TrustedProxies = field(default_factory=TrustedProxies)

    def is_https(self, scope: Scope) -> bool:
        if scope.get("scheme") in {"https", "wss"}:
            return True
        peer = scope.get("client")
        address = parse_address(peer[0]) if peer else None
        if address is None or address not in self.trusted:
            return False
        protos = [
            value.decode("latin-1")
            for name, value in scope["headers"]
            if name == b"x-forwarded-proto"
        ]
        # The proxy next to us appends last.
        return bool(protos) and protos[-1].split(",")[-1].strip().lower() == "https"

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            secure = self.secure if self.secure is not None else self.is_https(scope)
            if not secure or scope["type"] not in {"http", "websocket"}:
                await app(scope, receive, send)
                return

            async def send_secure(message: Message) -> None:
                if message["type"] in {"http.response.start", "websocket.http.response.start"}:
                    headers = MutableScopeHeaders.from_message(message)
                    cookies = headers.getall("set-cookie", [])
                    if cookies:
                        del headers["set-cookie"]
                        for cookie in cookies:
                            extra = "" if "secure" in cookie.lower() else "; Secure"
                            headers.add("set-cookie", cookie + extra)
                await send(message)

            await app(scope, receive, send_secure)

        return middleware


# The ids this dashboard hands out are 43 characters; anything much longer, or not
# URL-safe base64, was not made here and is not looked up.
MAX_SESSION_ID = 64
_SESSION_ID = re.compile(rf"^[A-Za-z0-9_-]{{16,{MAX_SESSION_ID}}}$")
KNOWN_SESSION_ID = "privalytics_known_session_id"
NEW_SESSION_ID = "privalytics_new_session_id"
SWEEP_SECONDS = 60.0


class FreshSessionBackend(ServerSideSessionBackend):
    """Strict server-side sessions.

    - An id the store does not hold (expired, made up by the client) is never adopted: a
      session that needs storing gets a fresh random id.
    - An empty session is not stored; a cookie naming one is cleared.
    - The id a sign-in chose (``FRESH_SESSION_ID``) replaces the cookie's.
    - A memory store drops its expired sessions at most once a minute, as it is written.
      The minute is this backend's, so each app's (an app builds its own), never shared by
      the apps of one process: another app's sweep did not sweep this app's store.
    """

    def __init__(self, config: ServerSideSessionConfig) -> None:
        super().__init__(config=config)
        self._last_sweep = -math.inf  # the first write sweeps

    def _cookie_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        value = connection.cookies.get(self.config.key)
        return value if value and _SESSION_ID.match(value) else None

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        session_id = self._cookie_id(connection)
        if session_id is None:
            return {}
        data = await self.get(session_id, store=self.config.get_store_from_app(connection.app))
        if data is None:
            return {}
        connection.scope.setdefault("state", {})[KNOWN_SESSION_ID] = session_id
        loaded: dict[str, Any] = self.deserialize_data(data)
        return loaded

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.setdefault("state", {})
        for name in (FRESH_SESSION_ID, KNOWN_SESSION_ID, NEW_SESSION_ID):
            value = state.get(name)
            if isinstance(value, str):
                return value
        generated = new_session_id()
        state[NEW_SESSION_ID] = generated
        return generated

    async def store_in_message(
        self,
        scope_session: Any,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        store = self.config.get_store_from_app(connection.app)
        await self._sweep(store)
        if scope_session and scope_session is not Empty:
            await super().store_in_message(scope_session, message, connection)
            return
        # Empty (or cleared): nothing to keep. Forget the stored one, clear the cookie.
        known = connection.scope.get("state", {}).get(KNOWN_SESSION_ID)
        if isinstance(known, str):
            await self.delete(known, store=store)
        if connection.cookies.get(self.config.key) is not None:
            await super().store_in_message(Empty, message, connection)

    async def _sweep(self, store: Store) -> None:
        if not isinstance(store, MemoryStore):
            return  # Redis expires keys itself
        now = time.monotonic()
        if now - self._last_sweep >= SWEEP_SECONDS:
            self._last_sweep = now
            await store.delete_expired()


class SessionConfig(ServerSideSessionConfig):
    _backend_class = FreshSessionBackend


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


SESSIONS_UNAVAILABLE = "the session store is unavailable"


class GuardedStore(Store):
    """A session store whose failures are :class:`StorageUnavailable` (a 503 page with
    ``Retry-After``), not a 500. The store is an edge whose exception types are its
    library's (Redis' connection errors, ...): whatever it raises while reading or writing
    bytes means it cannot serve sessions now. Its message is not repeated (it may name
    the server's address)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        try:
            await self.inner.set(key, value, expires_in)
        except Exception:
            raise StorageUnavailable(SESSIONS_UNAVAILABLE) from None

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        try:
            return await self.inner.get(key, renew_for)
        except Exception:
            raise StorageUnavailable(SESSIONS_UNAVAILABLE) from None

    async def delete(self, key: str) -> None:
        try:
            await self.inner.delete(key)
        except Exception:
            raise StorageUnavailable(SESSIONS_UNAVAILABLE) from None

    async def delete_all(self) -> None:
        try:
            await self.inner.delete_all()
        except Exception:
            raise StorageUnavailable(SESSIONS_UNAVAILABLE) from None

    async def exists(self, key: str) -> bool:
        try:
            return await self.inner.exists(key)
        except Exception:
            raise StorageUnavailable(SESSIONS_UNAVAILABLE) from None

    async def expires_in(self, key: str) -> int | None:
        try:
            return await self.inner.expires_in(key)
        except Exception:
            raise StorageUnavailable(SESSIONS_UNAVAILABLE) from None

    async def __aenter__(self) -> None:
        await self.inner.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.inner.__aexit__(exc_type, exc_val, exc_tb)


def guarded(store: Store) -> Store:
    """``store`` with its failures as StorageUnavailable; a memory store cannot fail."""
    return store if isinstance(store, MemoryStore) else GuardedStore(store)
