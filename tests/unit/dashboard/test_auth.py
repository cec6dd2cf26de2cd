"""Signing in and out: sessions, cookies, throttling, redirects, CSRF, headers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.http.dashboard import SESSION_MAX_AGE, DashboardOptions
from privalytics.adapters.http.dashboard.auth import ASSET_VERSION, safe_next
from privalytics.testing import ManualClock, make_services
from tests.unit.dashboard.conftest import Browser, ManualMemoryStore, csrf_of, open_dashboard
from tests.unit.http.conftest import with_peer


@pytest.mark.parametrize(
    "path", ["/dashboard", "/dashboard/projects/abc", "/dashboard/projects/abc/settings"]
)
def test_signed_out_visitors_are_sent_to_the_login_page(browser: Browser, path: str) -> None:
    response = browser.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login?next=%2Fdashboard")


def test_the_root_leads_to_the_dashboard(browser: Browser) -> None:
    response = browser.client.get("/", follow_redirects=True)
    assert response.url.path == "/dashboard/login"


def test_signing_in_sets_an_httponly_samesite_session_cookie_and_goes_back(
    browser: Browser,
) -> None:
    page = browser.client.get("/dashboard/login?next=/dashboard/projects/x")
    response = browser.client.post(
        "/dashboard/login",
        data={
            "username": "alice",
            "password": "correct horse battery",
            "next": "/dashboard/projects/x",
            "_csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/projects/x"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "privalytics_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP: the default "auto" leaves it off
    assert browser.client.get("/dashboard").status_code == 200


def test_a_wrong_password_is_refused_with_one_message(browser: Browser) -> None:
    response = browser.sign_in(password="not the one")
    assert response.status_code == 401
    assert "wrong username or password" in response.text
    unknown = browser.sign_in(username="mallory", password="not the one")
    assert unknown.status_code == 401
    assert "wrong username or password" in unknown.text


def test_guessing_is_throttled(browser: Browser) -> None:
    for n in range(10):
        assert browser.sign_in(password=f"guess number {n}").status_code == 401
    refused = browser.sign_in()
    assert refused.status_code == 429
    assert "too many sign-in attempts" in refused.text
    assert int(refused.headers["retry-after"]) > 0


def test_next_never_leads_to_another_site(browser: Browser) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/api/v1/projects"):
        page = browser.client.get("/dashboard/login")
        response = browser.client.post(
            "/dashboard/login",
            data={
                "username": "alice",
                "password": "correct horse battery",
                "next": target,
                "_csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/dashboard"


def test_a_session_id_planted_before_sign_in_is_not_signed_in(browser: Browser) -> None:
    planted = "planted-by-an-attacker"
    browser.client.cookies.set("privalytics_session", planted)
    response = browser.sign_in()
    assert response.status_code == 303
    issued = next(c for c in response.headers.get_list("set-cookie") if "privalytics_session" in c)
    assert planted not in issued
    browser.client.cookies.clear()
    browser.client.cookies.set("privalytics_session", planted)
    assert browser.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session(signed_in: Browser) -> None:
    response = signed_in.form("/dashboard", "/dashboard/logout", {})
    assert response.status_code == 303
    assert signed_in.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_form_without_its_csrf_token_is_refused(signed_in: Browser) -> None:
    response = signed_in.client.post("/dashboard/projects", data={"name": "Sneaky"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert signed_in.client.get("/api/v1/projects", headers=signed_in.admin).json() == {
        "projects": []
    }


def test_a_login_without_its_csrf_token_is_refused(browser: Browser) -> None:
    response = browser.client.post(
        "/dashboard/login", data={"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 403


def test_the_api_with_bearer_keys_needs_no_csrf_token(signed_in: Browser) -> None:
    response = signed_in.client.post(
        "/api/v1/projects", json={"name": "From the API"}, headers=signed_in.admin
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "path",
    ["/dashboard/login", "/dashboard/static/dashboard.css", "/dashboard/static/dashboard.js"],
)
def test_every_dashboard_answer_carries_the_security_headers(browser: Browser, path: str) -> None:
    response = browser.client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    if "/static/" in path:
        assert "immutable" in response.headers["cache-control"]
    else:
        assert response.headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_and_no_third_party_origin(signed_in: Browser) -> None:
    signed_in.create_project()
    for path in ("/dashboard", "/dashboard/login"):
        page = signed_in.client.get(path).text
        assert "<script>" not in page
        scripts = re.findall(r"<script[^>]*>", page)
        assert scripts == [f'<script src="/dashboard/static/dashboard.js?v={ASSET_VERSION}" defer>']
        for attribute in ("src", "href", "action"):
            assert f'{attribute}="http' not in page
            assert f'{attribute}="//' not in page


@pytest.fixture
def secure_browser(clock: ManualClock) -> Iterator[Browser]:
    yield from open_dashboard(clock, base_url="https://testserver.local")


def test_cookies_are_secure_over_https(secure_browser: Browser) -> None:
    response = secure_browser.sign_in()
    cookies = response.headers.get_list("set-cookie")
    assert cookies
    assert all("Secure" in cookie for cookie in cookies)


def test_cookies_can_be_made_secure_always(clock: ManualClock) -> None:
    for browser in open_dashboard(clock, DashboardOptions(secure_cookies=True)):
        page = browser.client.get("/dashboard/login")
        assert all("Secure" in c for c in page.headers.get_list("set-cookie"))


def test_deleting_a_user_or_changing_the_password_ends_their_sessions(signed_in: Browser) -> None:
    accounts = signed_in.services.accounts
    assert accounts is not None
    assert signed_in.client.get("/dashboard", follow_redirects=False).status_code == 200
    signed_in.client.blocking_portal.call(accounts.set_password, "alice", "a new password")
    assert signed_in.client.get("/dashboard", follow_redirects=False).status_code == 303
    assert signed_in.sign_in(password="a new password").status_code == 303
    assert signed_in.client.get("/dashboard", follow_redirects=False).status_code == 200
    signed_in.client.blocking_portal.call(accounts.delete_user, "alice")
    assert signed_in.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_signing_in_again_drops_the_previous_session(browser: Browser) -> None:
    assert browser.sign_in().status_code == 303
    first = browser.client.cookies.get("privalytics_session")
    assert browser.sign_in().status_code == 303
    second = browser.client.cookies.get("privalytics_session")
    assert first
    assert second
    assert first != second
    browser.client.cookies.clear()
    browser.client.cookies.set("privalytics_session", first)
    assert browser.client.get("/dashboard", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("peer", "proto", "secure"),
    [
        ("10.0.0.2", "https", True),
        ("10.0.0.2", "http", False),
        ("203.0.113.5", "https", False),  # not a trusted proxy: its header means nothing
    ],
)
def test_cookies_are_secure_behind_a_trusted_proxy_that_ended_tls(
    clock: ManualClock, peer: str, proto: str, secure: bool
) -> None:
    app = create_app(
        make_services(clock),
        HttpOptions(trusted_proxies=("10.0.0.0/8",), dashboard=DashboardOptions()),
    )
    with TestClient(with_peer(app, peer)) as client:
        page = client.get("/dashboard/login", headers={"x-forwarded-proto": proto})
    cookies = page.headers.get_list("set-cookie")
    assert cookies
    assert all(("Secure" in c) is secure for c in cookies)


@pytest.fixture
def sessions(clock: ManualClock) -> ManualMemoryStore:
    return ManualMemoryStore(clock)


@pytest.fixture
def on_store(clock: ManualClock, sessions: ManualMemoryStore) -> Iterator[Browser]:
    """A dashboard whose memory session store follows the test's clock."""
    yield from open_dashboard(clock, DashboardOptions(session_store=sessions))


def test_anonymous_visits_store_no_session(on_store: Browser, sessions: ManualMemoryStore) -> None:
    """20k GETs with fresh 3 KB cookies used to keep 20k empty sessions for 7 days."""
    for n in range(200):
        on_store.client.cookies.clear()
        if n % 3:
            chosen = secrets.token_urlsafe(2400) if n % 3 == 1 else secrets.token_urlsafe(32)
            on_store.client.cookies.set("privalytics_session", chosen)
        page = on_store.client.get("/dashboard/login")
        assert page.status_code == 200
        for cookie in page.headers.get_list("set-cookie"):
            if cookie.startswith("privalytics_session="):
                assert cookie.startswith("privalytics_session=null;")
    assert sessions.keys() == set()


def test_signing_out_leaves_no_session_stored(
    on_store: Browser, sessions: ManualMemoryStore
) -> None:
    assert on_store.sign_in().status_code == 303
    assert len(sessions.keys()) == 1
    assert on_store.form("/dashboard", "/dashboard/logout", {}).status_code == 303
    assert on_store.client.get("/dashboard/login").status_code == 200
    assert sessions.keys() == set()


def test_a_client_chosen_session_id_is_never_stored(
    on_store: Browser, sessions: ManualMemoryStore
) -> None:
    chosen = secrets.token_urlsafe(32)
    on_store.client.cookies.set("privalytics_session", chosen)
    page = on_store.client.get("/dashboard/login")
    assert page.status_code == 200
    response = on_store.client.post(
        "/dashboard/login",
        data={"username": "alice", "password": "wrong guess!", "_csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 401
    assert not on_store.client.blocking_portal.call(sessions.exists, chosen)


def test_a_session_unused_for_its_lifetime_is_signed_out(
    on_store: Browser, clock: ManualClock
) -> None:
    """A session lasts SESSION_MAX_AGE from its last use (the browser's cookie lasts as
    long; the server decides): one second short of it the user is still signed in, at
    it they are sent to sign in again."""
    assert on_store.sign_in().status_code == 303
    clock.advance(SESSION_MAX_AGE - 1)
    assert on_store.client.get("/dashboard", follow_redirects=False).status_code == 200
    clock.advance(SESSION_MAX_AGE)
    signed_out = on_store.client.get("/dashboard", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/dashboard/login")
    # Signing in again starts a new session.
    assert on_store.sign_in().status_code == 303
    assert on_store.client.get("/dashboard", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "/dashboard/../api/v1/projects",
        "/dashboard/projects/../../api/v1/projects",
        "/dashboard/%2e%2e/api/v1/projects",
        "/dashboard/%2E%2E%2Fapi",
        "/dashboard\\..\\api",
        "/dashboard/\t../api",
        "/dashboard/\n",
        "/dashboardevil",
        "/dashboard/./../../x",
        "///evil.example/dashboard",
        "dashboard",
    ],
)
def test_next_refuses_dot_segments_and_look_alikes(target: str) -> None:
    assert safe_next(target) == "/dashboard"


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/dashboard", "/dashboard"),
        ("/dashboard/projects/abc?range=7d", "/dashboard/projects/abc?range=7d"),
        ("/dashboard/projects/./abc/settings", "/dashboard/projects/abc/settings"),
    ],
)
def test_next_keeps_paths_of_the_dashboard(target: str, kept: str) -> None:
    assert safe_next(target) == kept


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/dashboard/no-such-page", 404),
        ("GET", "/dashboard/static/missing.css", 404),
        ("DELETE", "/dashboard/login", 405),
        ("PUT", "/dashboard", 405),
    ],
)
def test_dashboard_errors_no_route_handled_are_pages_with_the_headers(
    browser: Browser, method: str, path: str, status: int
) -> None:
    response = browser.client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"
    assert "<h1>" in response.text
    if status == 405:
        assert response.headers["allow"]


def test_api_errors_stay_json_beside_the_dashboard(browser: Browser) -> None:
    response = browser.client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/")


def test_a_guesser_at_another_address_does_not_lock_the_owner_out(clock: ManualClock) -> None:
    for browser in open_dashboard(clock, trusted_proxies=("10.0.0.0/8",), peer="10.0.0.2"):
        browser.client.headers["x-forwarded-for"] = "198.51.100.7"
        statuses = {browser.sign_in(password=f"guess number {n}").status_code for n in range(15)}
        assert statuses == {401, 429}
        browser.client.headers["x-forwarded-for"] = "192.0.2.1"
        assert browser.sign_in().status_code == 303


def test_expired_sessions_are_swept_from_a_memory_store(
    on_store: Browser, sessions: ManualMemoryStore, clock: ManualClock
) -> None:
    """An expired session nobody asks for again is not held for ever: the app's first
    write (a new app has not swept yet) drops it."""
    on_store.client.blocking_portal.call(sessions.set, "expired-session-id", b"{}", 1)
    on_store.client.blocking_portal.call(sessions.set, "live-session-id", b"{}", 60)
    clock.advance(seconds=1)
    assert on_store.client.get("/dashboard/login").status_code == 200
    assert sessions.keys() == {"live-session-id"}


class SweepCountingStore(MemoryStore):
    """A memory session store counting its sweeps."""

    def __init__(self) -> None:
        super().__init__()
        self.sweeps = 0

    async def delete_expired(self) -> None:
        self.sweeps += 1
        await super().delete_expired()


def test_each_app_in_a_process_sweeps_its_own_session_store(clock: ManualClock) -> None:
    """One app's sweep does not stand for another's: their stores are not the same."""
    stores = [SweepCountingStore(), SweepCountingStore()]
    browsers = [open_dashboard(clock, DashboardOptions(session_store=store)) for store in stores]
    try:
        first, second = (next(browser) for browser in browsers)
        assert first.client.get("/dashboard/login").status_code == 200
        assert second.client.get("/dashboard/login").status_code == 200
        assert [store.sweeps for store in stores] == [1, 1]
        # Each still sweeps at most once a minute.
        assert first.client.get("/dashboard/login").status_code == 200
        assert [store.sweeps for store in stores] == [1, 1]
    finally:
        for browser in browsers:
            browser.close()
