"""Every error under /dashboard is the dashboard's HTML page, never the API's JSON: an
unreachable backend (503), a throttle (429), bad input (400), nothing there (404), a
wrong method (405), a body too large (413), a bug (500)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import get
from litestar.stores.redis import RedisStore
from litestar.testing import TestClient

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.http.dashboard import DashboardOptions
from privalytics.adapters.http.errors import STORAGE_RETRY_AFTER
from privalytics.adapters.http.ingest import SINGLE_BODY_LIMIT
from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemorySaltStore,
    InMemoryTokenStore,
    InMemoryUserStore,
)
from privalytics.adapters.redis import RedisRateLimiter
from privalytics.domain.services import build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests.unit.dashboard.conftest import PASSWORD, Browser, csrf_of

# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def assert_html_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.request.url, response.text[:300])
    assert response.headers["content-type"].startswith("text/html"), (
        response.request.url,
        response.headers["content-type"],
        response.text[:300],
    )
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<h1>" in response.text
    return response.text


@pytest.fixture
def unreachable_limiter(clock: ManualClock) -> Iterator[TestClient[Any]]:
    """A dashboard whose rate limiter is a Redis server that is not there."""
    services = build_services(
        **lookups()._asdict(),
        events=InMemoryEventStore(),
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=RedisRateLimiter.from_url(UNREACHABLE_REDIS, clock, timeout=1.0),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        users=InMemoryUserStore(),
    )
    app = create_app(services, HttpOptions(dashboard=DashboardOptions()))
    with TestClient(app) as client:
        accounts = services.accounts
        assert accounts is not None
        client.blocking_portal.call(accounts.create_user, "alice", PASSWORD)
        yield client


def test_signing_in_with_an_unreachable_limiter_is_a_503_page(
    unreachable_limiter: TestClient[Any],
) -> None:
    client = unreachable_limiter
    token = csrf_of(client.get("/dashboard/login").text)
    response = client.post(
        "/dashboard/login",
        data={"username": "alice", "password": PASSWORD, "_csrf_token": token},
        follow_redirects=False,
    )
    page = assert_html_error(response, 503)
    assert response.headers["retry-after"] == str(STORAGE_RETRY_AFTER)
    assert "rate limiter" in page
    # The API keeps its JSON for the same failure.
    api = client.post("/api/v1/events", json={"action": "visit", "path": "/"})
    assert api.headers["content-type"].startswith("application/json")


def test_an_unreachable_session_store_is_a_503_page(clock: ManualClock) -> None:
    store = RedisStore.with_client(url=UNREACHABLE_REDIS, namespace="privalytics_sessions")
    from tests.unit.dashboard.conftest import open_dashboard

    for browser in open_dashboard(clock, DashboardOptions(session_store=store)):
        browser.client.cookies.set("privalytics_session", "a" * 43)
        response = browser.client.get("/dashboard", follow_redirects=False)
        assert_html_error(response, 503)
        assert response.headers["retry-after"] == str(STORAGE_RETRY_AFTER)


def _title(page: str) -> str:
    found = re.search(r"<h1>([^<]*)</h1>", page)
    assert found
    return found.group(1)


def test_every_dashboard_error_is_an_html_page(signed_in: Browser) -> None:
    """A walk over the dashboard's routes with bad input: each error is text/html."""
    client = signed_in.client
    project_id, _ = signed_in.create_project()
    token = csrf_of(client.get("/dashboard").text)
    csrf = {"x-csrf-token": token}
    too_large = {"name": "x" * (SINGLE_BODY_LIMIT + 1), "_csrf_token": token}
    base = f"/dashboard/projects/{project_id}"
    walk: list[tuple[int, httpx.Response]] = [
        (400, client.get("/dashboard?period=1y")),
        (400, client.get("/dashboard?range=custom&from=2026-02-30&to=2026-03-01")),
        (400, client.get(f"{base}?period=custom&from=nope&to=nope")),
        (400, client.get(f"{base}?period=7d&range=30d")),
        (403, client.post("/dashboard/projects", data={"name": "no token"})),
        (404, client.get("/dashboard/projects/0123456789abcdef")),
        (404, client.get("/dashboard/projects/%00")),
        (404, client.get("/dashboard/no-such-page")),
        (404, client.get("/dashboard/static/no-such.css")),
        (404, client.post("/dashboard/projects/0123456789abcdef/tokens", headers=csrf)),
        (405, client.delete("/dashboard", headers=csrf)),
        (405, client.put(f"{base}/settings", headers=csrf)),
        (413, client.post("/dashboard/projects", data=too_large, headers=csrf)),
        (413, client.post("/dashboard/login", data=too_large, headers=csrf)),
    ]
    for status, response in walk:
        assert_html_error(response, status)
    assert "allow" in {name.lower() for name in walk[10][1].headers}


def test_a_throttled_sign_in_is_a_429_page_with_retry_after(browser: Browser) -> None:
    for _ in range(10):
        assert browser.sign_in(password="wrong password").status_code == 401
    response = browser.sign_in(password="wrong password")
    assert_html_error(response, 429)
    assert int(response.headers["retry-after"]) >= 1


def test_an_unexpected_error_is_a_500_page_that_tells_nothing(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug under /dashboard: the HTML page, the same generic words as the API's JSON,
    and a log line of its type and path."""
    from tests.unit.dashboard.conftest import open_dashboard

    @get("/dashboard/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("secret detail of a bug")

    for browser in open_dashboard(clock):
        browser.client.app.register(boom)
        response = browser.client.get("/dashboard/boom")
        page = assert_html_error(response, 500)
        assert "secret detail" not in page
        assert _title(page)
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)
