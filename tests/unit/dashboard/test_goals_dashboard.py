"""The dashboard's goals: the settings page's form and list, and the project page's Goals
panel with conversion rates, each row a link filtering the page by its goal."""

from __future__ import annotations

import html
import re

from tests.unit.dashboard.conftest import Browser


def _settings(project_id: str) -> str:
    return f"/dashboard/projects/{project_id}/settings"


def _add(browser: Browser, project_id: str, **fields: str) -> str:
    """Submit the goal form; the settings page it leads to, as text."""
    # Goals are listed oldest first: each a second after the one before.
    browser.clock.advance(1)
    answer = browser.form(_settings(project_id), f"/dashboard/projects/{project_id}/goals", fields)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("/settings#goals")
    return browser.client.get(answer.headers["location"]).text


def test_goals_are_added_listed_and_removed_on_the_settings_page(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    page = _add(signed_in, project_id, kind="page", target="/pricing", depth="", name="")
    assert "Added goal Visit /pricing" in page
    page = _add(signed_in, project_id, kind="event", target="Signup", depth="", name="Sign-ups")
    page = _add(signed_in, project_id, kind="scroll", target="/blog/**", depth="75", name="")
    names = re.findall(r'data-testid="goal-name">([^<]+)<', page)
    assert [html.unescape(n) for n in names] == [
        "Visit /pricing",
        "Sign-ups",
        "Scroll 75% on /blog/**",
    ]
    assert "Custom event Signup" in page
    goal_id = re.search(rf"/dashboard/projects/{project_id}/goals/([0-9a-f]+)/delete", page)
    assert goal_id
    removed = signed_in.form(
        _settings(project_id),
        f"/dashboard/projects/{project_id}/goals/{goal_id.group(1)}/delete",
        {},
    )
    assert removed.status_code == 303
    page = signed_in.client.get(removed.headers["location"]).text
    assert "Removed goal Visit /pricing" in page
    assert "Visit /pricing</td>" not in page


def test_a_bad_goal_says_why_and_adds_nothing(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    page = _add(signed_in, project_id, kind="scroll", target="/", depth="lots", name="")
    assert "The goal was not added: depth: a scroll depth is 1 to 100" in page
    page = _add(signed_in, project_id, kind="page", target="pricing", depth="", name="")
    assert "page: a page pattern starts with /" in page
    assert "No goals yet." in page


def test_the_goals_panel_shows_conversion_rates_and_filters_by_a_goal(
    signed_in: Browser,
) -> None:
    project_id, token = signed_in.create_project()
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    assert 'data-testid="panel-goals"' in page
    assert "No goals yet" in page
    _add(signed_in, project_id, kind="event", target="Signup", depth="", name="")
    for n in range(4):
        visitor = {"visitor_ip": f"203.0.113.{n + 1}", "user_agent": "Mozilla/5.0 Firefox/120"}
        signed_in.send(token, action="visit", path="/", **visitor)
        if n == 0:
            signed_in.send(token, name="Signup", path="/", **visitor)
    # The range ends now (excluded): read a minute later.
    signed_in.clock.advance(60)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    assert re.findall(r'data-testid="goal-rate">([^<]+)<', page) == ["25%"]
    link = re.search(r'<a href="([^"]+)" title="Show only the visitors who converted Signup"', page)
    assert link
    filtered = signed_in.client.get(html.unescape(link.group(1)))
    assert filtered.status_code == 200
    assert "Goal is Signup" in filtered.text
    assert re.findall(r'data-testid="goal-rate">([^<]+)<', filtered.text) == ["100%"]
