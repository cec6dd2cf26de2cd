"""The dashboard's Retention page: the cohort table under a longer salt rotation, the
plain-words reason (naming the setting and its cost) under daily salts, never a monthly
figure made of daily ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from privalytics.domain.hashing import window_of
from privalytics.domain.services import IngestSettings
from privalytics.testing import ManualClock, make_services
from tests.unit.dashboard.conftest import Browser, open_dashboard

SEVEN = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOW = EPOCH + window_of(datetime(2026, 3, 10, tzinfo=UTC), SEVEN) * SEVEN
NOW = WINDOW + timedelta(days=5, hours=12)
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"


def _open(rotation: timedelta) -> Iterator[Browser]:
    clock = ManualClock(NOW)
    services = make_services(clock, IngestSettings(salt_rotation=rotation))
    for browser in open_dashboard(clock, services=services):
        assert browser.sign_in().status_code == 303
        yield browser


@pytest.fixture
def weekly() -> Iterator[Browser]:
    yield from _open(SEVEN)


@pytest.fixture
def daily() -> Iterator[Browser]:
    yield from _open(timedelta(days=1))


def _seed(browser: Browser) -> str:
    """One visitor on days 0 and 2 of the window (sent through the API, as a tracker would:
    its hash is the window's)."""
    project_id, token = browser.create_project()
    for day in (0, 2):
        browser.clock.set(WINDOW + timedelta(days=day, hours=9))
        browser.send(token, action="visit", path="/", user_agent=AGENT)
    browser.clock.set(NOW)
    return project_id


def test_weekly_salts_show_the_cohort_table(weekly: Browser) -> None:
    project_id = _seed(weekly)
    project_page = weekly.client.get(f"/dashboard/projects/{project_id}?period=7d").text
    assert f'href="/dashboard/projects/{project_id}/retention?period=7d"' in project_page
    answer = weekly.client.get(f"/dashboard/projects/{project_id}/retention?period=7d")
    assert answer.status_code == 200
    page = answer.text
    assert 'data-testid="cohorts"' in page
    assert "Day 6" in page
    # Day 0's cohort of one, back on day 2.
    assert "1 (100%)" in page
    assert "PRIVALYTICS_SALT_ROTATION" in page
    assert "monthly active visitors need" in page


def test_daily_salts_explain_in_plain_words(daily: Browser) -> None:
    project_id = _seed(daily)
    page = daily.client.get(f"/dashboard/projects/{project_id}/retention").text
    assert "Retention cannot be measured" in page
    assert "PRIVALYTICS_SALT_ROTATION" in page
    assert "docs/privacy.md" in page
    assert 'data-testid="cohorts"' not in page
    assert 'data-testid="active-mau">\u2013<' in page


def test_bad_queries_and_strangers(weekly: Browser) -> None:
    project_id = _seed(weekly)
    assert (
        weekly.client.get(f"/dashboard/projects/{project_id}/retention?period=1y").status_code
        == 400
    )
    assert weekly.client.get(f"/dashboard/projects/{'0' * 16}/retention").status_code == 404
    weekly.client.cookies.clear()
    stranger = weekly.client.get(
        f"/dashboard/projects/{project_id}/retention", follow_redirects=False
    )
    assert stranger.status_code in (302, 303)
