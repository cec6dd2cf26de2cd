"""One name for the range everywhere: ``period``, with ``range`` as its alias, in the
dashboard and in the API; both given and different is a 400 naming both."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from privalytics.domain.reporting import MAX_SPAN
from tests.unit.dashboard.conftest import Browser
from tests.unit.dashboard.test_pages import figure


def _links(page: str) -> list[str]:
    return re.findall(r'href="(/dashboard(?!/static/)[^"]*\?[^"]*)"', page)


def test_the_dashboards_links_and_form_name_the_period(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    for path in ("/dashboard", f"/dashboard/projects/{project_id}"):
        page = signed_in.client.get(f"{path}?period=7d").text
        links = _links(page)
        assert links
        assert all("period=" in link and "range=" not in link for link in links), links
        assert 'name="period" value="custom"' in page
        assert 'name="range"' not in page


@pytest.mark.parametrize("name", ["period", "range"])
def test_the_dashboard_takes_period_and_its_alias_range(signed_in: Browser, name: str) -> None:
    project_id, token = signed_in.create_project()
    signed_in.send(token, action="visit", path="/")
    signed_in.clock.advance(hours=30)
    signed_in.send(token, action="visit", path="/")
    signed_in.clock.advance(1)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?{name}=7d").text
    assert "Last 7 days" in page
    assert figure(page, "pageviews") == "2"
    custom = signed_in.client.get(
        f"/dashboard/projects/{project_id}?{name}=custom&from=2026-01-01&to=2026-01-02"
    )
    assert custom.status_code == 200
    assert "2026-01-01 to 2026-01-02" in custom.text


def test_the_same_period_under_both_names_is_accepted(signed_in: Browser) -> None:
    response = signed_in.client.get("/dashboard?period=30d&range=30d")
    assert response.status_code == 200
    assert "Last 30 days" in response.text


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/projects/{id}"])
def test_different_period_and_range_are_a_400_page_naming_both(
    signed_in: Browser, path: str
) -> None:
    project_id, _ = signed_in.create_project()
    response = signed_in.client.get(path.format(id=project_id) + "?period=7d&range=30d")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "period: differs from range" in response.text


def test_the_api_takes_range_as_an_alias_of_period(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    signed_in.send(token, action="visit", path="/")
    signed_in.clock.advance(hours=30)
    signed_in.send(token, action="visit", path="/")
    signed_in.clock.advance(1)
    url = f"/api/v1/projects/{project_id}/stats"

    def stats(**params: str) -> dict[str, object]:
        response = signed_in.client.get(url, params=params, headers=signed_in.admin)
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    by_period, by_range = stats(period="7d"), stats(range="7d")
    assert by_range == by_period
    assert by_range["visits"] == 2
    assert stats(period="24h", range="24h") == stats(period="24h")
    refused = signed_in.client.get(
        url, params={"period": "7d", "range": "24h"}, headers=signed_in.admin
    )
    assert refused.status_code == 400
    assert refused.json()["field"] == "period"
    assert refused.json()["message"].startswith("period: differs from range")


@pytest.mark.parametrize("days", [MAX_SPAN.days, MAX_SPAN.days + 1])
def test_the_dashboard_and_the_api_allow_the_same_longest_range(
    signed_in: Browser, days: int
) -> None:
    """One limit, the domain's: a custom range of whole days in the dashboard and a
    from..to range in the API are both refused past MAX_SPAN."""
    project_id, _ = signed_in.create_project()
    first = date(2000, 1, 1)
    last = first + timedelta(days=days - 1)
    page = signed_in.client.get(
        f"/dashboard/projects/{project_id}?period=custom&from={first}&to={last}"
    )
    api = signed_in.client.get(
        f"/api/v1/projects/{project_id}/stats",
        params={"from": f"{first}T00:00:00Z", "to": f"{last + timedelta(days=1)}T00:00:00Z"},
        headers=signed_in.admin,
    )
    allowed = days <= MAX_SPAN.days
    assert page.status_code == (200 if allowed else 400), page.text[:300]
    assert api.status_code == (200 if allowed else 400), api.text
    if not allowed:
        assert f"at most {MAX_SPAN.days} days" in page.text
        assert api.json()["field"] == "to"
