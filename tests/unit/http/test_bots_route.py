"""The bot filter over HTTP: a bot's request is answered 202 and counted, never stored;
``GET /api/v1/projects/{id}/bots`` reads the bot log; the tracker's ``wd`` field turns a
driven browser's events away; the dashboard shows the log in its "Filtered bots" panel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from privalytics.testing import ManualClock, bot_detector, make_services
from tests.unit.dashboard.conftest import Browser, open_dashboard
from tests.unit.http.conftest import Api, assert_error, running_api

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[Api]:
    clock = ManualClock(NOON)
    with running_api(clock, services=make_services(clock, bots=bot_detector())) as running:
        yield running


def bots(api: Api, project_id: str, **params: str) -> dict[str, object]:
    response = api.client.get(
        f"/api/v1/projects/{project_id}/bots", params=params, headers=api.admin
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_bots_are_accepted_counted_by_reason_and_not_stored(api: Api) -> None:
    project_id, token = api.create_project()
    visit = {"action": "visit", "path": "/"}
    for agent in ("curl/8.5.0", "python-httpx/0.28.1", "Twitterbot/1.0", "curl/8.11.1"):
        response = api.send(visit, token, headers={"User-Agent": agent})
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 0}
    assert api.send({**visit, "wd": True}, token, headers={"User-Agent": BROWSER}).json() == {
        "accepted": 0
    }
    assert api.send(visit, token, headers={"User-Agent": BROWSER}).json() == {"accepted": 1}
    api.clock.advance(1)
    assert api.stats(project_id)["visits"] == 1
    body = bots(api, project_id, period="24h")
    assert body["total"] == 5
    assert body["reasons"] == [
        {"name": "curl", "count": 2},
        {"name": "Twitterbot", "count": 1},
        {"name": "httpx", "count": 1},
        {"name": "webdriver", "count": 1},
    ]
    assert body["first_day"] == "2026-02-28"
    assert body["last_day"] == "2026-03-01"
    assert {"day": "2026-03-01", "reason": "curl", "count": 2} in body["days"]  # type: ignore[operator]


def test_a_batch_stores_its_visitors_events_and_counts_its_bots(api: Api) -> None:
    project_id, _ = api.create_project()
    # A server token: these events name their visitors' agents.
    token = api.server_token(project_id)
    events = [
        {"action": "visit", "path": "/a", "user_agent": BROWSER},
        {"action": "visit", "path": "/b", "user_agent": "Googlebot/2.1"},
        {"action": "visit", "path": "/c", "user_agent": BROWSER, "wd": 1},
    ]
    response = api.send({"events": events}, token, batch=True, headers={"User-Agent": "x"})
    assert response.json() == {"accepted": 1}
    assert bots(api, project_id)["total"] == 2


def test_the_range_is_read_as_the_utc_days_it_touches(api: Api) -> None:
    project_id, token = api.create_project()
    api.send({"action": "visit", "path": "/"}, token, headers={"User-Agent": "curl/8"})
    api.clock.advance(timedelta(days=2).total_seconds())
    assert bots(api, project_id, period="24h")["total"] == 0
    assert bots(api, project_id, period="7d")["total"] == 1
    body = bots(api, project_id, **{"from": "2026-03-01T23:00:00Z", "to": "2026-03-02T00:00:00Z"})
    assert (body["first_day"], body["last_day"], body["total"]) == ("2026-03-01", "2026-03-01", 1)


def test_bad_ranges_and_unknown_projects_are_refused(api: Api) -> None:
    project_id, _ = api.create_project()
    path = f"/api/v1/projects/{project_id}/bots"
    assert_error(api.client.get(path, params={"period": "2y"}, headers=api.admin), 400)
    assert_error(api.client.get(path), 401)
    unknown = api.client.get("/api/v1/projects/0000000000000000/bots", headers=api.admin)
    assert_error(unknown, 404)


def test_the_dashboard_shows_the_filtered_bots() -> None:
    clock = ManualClock(NOON)
    services = make_services(clock, bots=bot_detector())
    browser: Browser
    for browser in open_dashboard(clock, services=services):
        assert browser.sign_in().status_code == 303
        project_id, token = browser.create_project("Blog")
        page = browser.client.get(f"/dashboard/projects/{project_id}")
        assert "No bot filtered in these days." in page.text
        browser.client.post(
            "/api/v1/events",
            json={"action": "visit", "path": "/", "token": token},
            headers={"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
        )
        page = browser.client.get(f"/dashboard/projects/{project_id}")
        assert "Filtered bots" in page.text
        assert 'title="Googlebot">Googlebot</span>' in page.text
