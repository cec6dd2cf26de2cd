"""The dashboard's protections: security headers, cookies, sessions that start afresh.

- Every dashboard answer carries a Content-Security-Policy that allows scripts, styles,
  images and connections from this origin only (no inline script, no third party),
  refuses framing, and is not cached.
- Cookies are HttpOnly (the session) and SameSite=Lax; ``Secure`` is added when the
  request came over HTTPS, or always/never by configuration.
- A successful sign-in gets a new session id: a session id planted before sign-in
  (session fixation) never becomes a signed-in session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from litestar import Response
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from privalytics.adapters.http.clientip import TrustedProxies, parse_address

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


class FreshSessionBackend(ServerSideSessionBackend):
    """Uses the new session id a sign-in chose, instead of the cookie's."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        fresh = connection.scope.get("state", {}).get(FRESH_SESSION_ID)
        if isinstance(fresh, str):
            return fresh
        return super().get_session_id(connection)


class SessionConfig(ServerSideSessionConfig):
    _backend_class = FreshSessionBackend


def new_session_id() -> str:
    return secrets.token_urlsafe(32)
