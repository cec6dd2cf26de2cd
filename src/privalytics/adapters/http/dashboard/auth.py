"""Signing in and out, and what every page shares: the session's user, one-time messages.

A signed-out visitor is sent to the sign-in page by :func:`user_guard`; after signing in
they come back to where they were going (a path of the dashboard only, never another
site). Signing in throttles guessing (the domain's Accounts) and starts a new session id.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from litestar.stores.base import Store

from privalytics.adapters.http.clientip import TrustedProxies, client_ip
from privalytics.adapters.http.dashboard.security import (
    FRESH_SESSION_ID,
    SESSION_COOKIE,
    SESSION_STORE,
    new_session_id,
)
from privalytics.adapters.http.dashboard.views import RANGES
from privalytics.domain.accounts import Accounts
from privalytics.domain.errors import RateLimited, Unauthenticated
from privalytics.domain.models import User

STATIC = Path(__file__).parent / "static"
# The content hash of the stylesheet and the script, in their URLs: cached for good, and a
# release that changes them changes their URLs.
ASSET_VERSION = hashlib.sha256(
    b"".join(path.read_bytes() for path in sorted(STATIC.iterdir()) if path.is_file())
).hexdigest()[:12]
FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)
USER = "user"
# The session key holding password_fingerprint(user); its stored name predates this one and
# is kept, so sessions opened before a release stay valid.
PASSWORD_FINGERPRINT = "credential"  # noqa: S105 (a session key's name, not a secret)
FLASH = "flash"
LOGIN = "/dashboard/login"
HOME = "/dashboard"


def flash(request: Request[Any, Any, Any], kind: str, text: str) -> None:
    messages = list(request.session.get(FLASH, []))
    messages.append([kind, text])
    request.session[FLASH] = messages


def take_flash(request: Request[Any, Any, Any]) -> list[list[str]]:
    if not request.session:
        return []
    messages: list[list[str]] = request.session.pop(FLASH, [])
    return messages


def signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    user = connection.session.get(USER) if connection.session else None
    return user if isinstance(user, str) else None


_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]|%(?:2e|2f|5c|00)", re.IGNORECASE)


def safe_next(target: str | None) -> str:
    """Only a path of this dashboard: never another site (an open redirect), nor another
    part of this one reached through dot segments. Backslashes, control characters and
    encoded dots or slashes are refused rather than interpreted."""
    if not target or len(target) > 2048 or _UNSAFE_IN_NEXT.search(target):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return HOME
    path = posixpath.normpath(parts.path)
    if path != HOME and not path.startswith(HOME + "/"):
        return HOME
    return path + (f"?{parts.query}" if parts.query else "")


def render(
    request: Request[Any, Any, Any],
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
) -> Template:
    values = {
        "user": signed_in(request),
        "messages": take_flash(request),
        "ranges": RANGES,
        "asset_version": ASSET_VERSION,
        **context,
    }
    return Template(template_name=name, context=values, status_code=status_code)


def public_handlers(accounts: Accounts, trusted: TrustedProxies) -> list[Any]:
    """Sign-in and sign-out: reachable without a session."""

    @get(LOGIN, name="dashboard:login")
    async def login_form(
        request: Request[Any, Any, Any],
        next_path: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Template | Redirect:
        if signed_in(request):
            return Redirect(safe_next(next_path), status_code=303)
        return render(request, "login.html.j2", {"next": safe_next(next_path), "username": ""})

    @post(LOGIN, status_code=303)
    async def login(
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, str], FormBody],
    ) -> Template | Redirect:
        username = data.get("username", "")
        password = data.get("password", "")
        target = safe_next(data.get("next"))
        peer = request.scope.get("client")
        forwarded = request.headers.getall("x-forwarded-for", [])
        client = client_ip(peer[0] if peer else None, forwarded, trusted)
        try:
            user = await accounts.authenticate(username, password, client=client)
        except (Unauthenticated, RateLimited) as exc:
            status = 429 if isinstance(exc, RateLimited) else 401
            context = {"next": target, "username": username, "error": str(exc)}
            answer = render(request, "login.html.j2", context, status_code=status)
            if isinstance(exc, RateLimited):
                answer.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return answer
        # A new session id: one planted before sign-in must not become signed in.
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            await request.app.stores.get(SESSION_STORE).delete(old)
        request.state[FRESH_SESSION_ID] = new_session_id()
        request.set_session({USER: user.username, PASSWORD_FINGERPRINT: password_fingerprint(user)})
        return Redirect(target, status_code=303)

    @post("/dashboard/logout", status_code=303)
    async def logout(request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(f"{LOGIN}?signed_out=1", status_code=303)

    return [login_form, login, logout]


def password_fingerprint(user: User) -> str:
    """What a session remembers of the password it was opened with: changing the password
    (or deleting the user) ends every session opened before."""
    return hashlib.sha256(user.password_hash).hexdigest()[:32]


async def current_user(
    connection: ASGIConnection[Any, Any, Any, Any], accounts: Accounts
) -> User | None:
    """The session's user, when it still exists with the password the session began with."""
    name = signed_in(connection)
    if name is None:
        return None
    user = await accounts.get_user(name)
    if user is None or connection.session.get(PASSWORD_FINGERPRINT) != password_fingerprint(user):
        return None
    return user


async def stored_user(store: Store, session_id: str | None, accounts: Accounts) -> User | None:
    """The user of the session stored under ``session_id`` now (not as it was when a
    connection began): None once it was signed out, expired, or its user deleted or
    given a new password."""
    if not session_id:
        return None
    data = await store.get(session_id)
    if data is None:
        return None
    try:
        session = msgspec.json.decode(data)
    except ValueError:  # msgspec.DecodeError, or UnicodeDecodeError in older releases
        return None
    name = session.get(USER) if isinstance(session, dict) else None
    if not isinstance(name, str):
        return None
    user = await accounts.get_user(name)
    if user is None or session.get(PASSWORD_FINGERPRINT) != password_fingerprint(user):
        return None
    return user


def user_guard(accounts: Accounts) -> Callable[[Request[Any, Any, Any]], Awaitable[Any]]:
    """A ``before_request`` hook: whoever is not signed in goes to the sign-in page."""

    async def require_user(request: Request[Any, Any, Any]) -> Response[Any] | None:
        if await current_user(request, accounts) is not None:
            return None
        if request.session:
            request.clear_session()
        return _to_login(request)

    return require_user


def _to_login(request: Request[Any, Any, Any]) -> Response[Any]:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = HOME
    return Redirect(f"{LOGIN}?next={quote(target, safe='')}", status_code=303)
