"""The dashboard's funnels: the settings page's form and list, the project page's list of
funnels, and the funnel page's bars with conversion and drop-off per step."""

from __future__ import annotations

import html
import re

from tests.unit.dashboard.conftest import Browser


def _settings(project_id: str) -> str:
    return f"/dashboard/projects/{project_id}/settings"


def _add(browser: Browser, project_id: str, **fields: str) -> str:
    """Submit the funnel form; the settings page it leads to, as text."""
    browser.clock.advance(1)
    answer = browser.form(
        _settings(project_id), f"/dashboard/projects/{project_id}/funnels", fields
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("/settings#funnels")
    return browser.client.get(answer.headers["location"]).text


def test_funnels_are_added_listed_and_removed_on_the_settings_page(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    page = _add(signed_in, project_id, steps="/pricing\r\n\r\nevent:Signup\r\n", name="")
    assert "Added funnel /pricing → event:Signup" in page
    page = _add(signed_in, project_id, steps="/\n/b/**", name="Blog")
    names = re.findall(r'data-testid="funnel-name"><a href="[^"]+">([^<]+)<', page)
    assert [html.unescape(n) for n in names] == ["/pricing → event:Signup", "Blog"]
    assert "/pricing → Custom event Signup" in page
    funnel_id = re.search(rf"/dashboard/projects/{project_id}/funnels/([0-9a-f]+)/delete", page)
    assert funnel_id
    removed = signed_in.form(
        _settings(project_id),
        f"/dashboard/projects/{project_id}/funnels/{funnel_id.group(1)}/delete",
        {},
    )
    assert removed.status_code == 303
    page = signed_in.client.get(removed.headers["location"]).text
    assert "Removed funnel /pricing → event:Signup" in page
    assert len(re.findall(r'data-testid="funnel-name"', page)) == 1


def test_a_bad_funnel_says_why_and_adds_nothing(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    page = _add(signed_in, project_id, steps="/only", name="")
    assert "The funnel was not added: steps: a funnel has 2 to 8 steps, not 1" in page
    page = _add(signed_in, project_id, steps="/a\npricing", name="")
    assert "step 2: a page pattern starts with /" in html.unescape(page)
    assert "No funnels yet." in page


def test_the_funnel_page_shows_each_steps_visitors_conversion_and_drop_off(
    signed_in: Browser,
) -> None:
    project_id, token = signed_in.create_project()
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    assert 'data-testid="panel-funnels"' in page
    assert "No funnels yet" in page
    _add(signed_in, project_id, steps="/pricing\nevent:Signup", name="Sign-up")
    for n in range(4):
        visitor = {"visitor_ip": f"203.0.113.{n + 1}", "user_agent": "Mozilla/5.0 Firefox/120"}
        signed_in.send(token, action="visit", path="/pricing", **visitor)
        if n == 0:
            signed_in.clock.advance(1)
            signed_in.send(token, name="Signup", path="/pricing", **visitor)
    # The range ends now (excluded): read a minute later.
    signed_in.clock.advance(60)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    link = re.search(r'<a href="([^"]+)" data-testid="funnel-link">Sign-up</a>', page)
    assert link
    funnel = signed_in.client.get(html.unescape(link.group(1)))
    assert funnel.status_code == 200, funnel.text
    assert re.findall(r'data-testid="funnel-visitors">([^<]+)<', funnel.text) == ["4", "1"]
    assert re.findall(r'data-testid="funnel-conversion">([^<]+)<', funnel.text) == ["100%", "25%"]
    assert re.findall(r'data-testid="funnel-dropoff">([^<]*)<', funnel.text) == ["", "3 (75%)"]
    assert re.findall(r'data-testid="funnel-overall">([^<]+)<', funnel.text) == ["25%"]
    assert '<rect width="25"' in funnel.text
    filtered = signed_in.client.get(
        f"/dashboard/projects/{project_id}/funnels/{link.group(1).split('/')[-1].split('?')[0]}",
        params={"period": "24h", "filter": "event==Signup"},
    )
    assert filtered.status_code == 200
    assert re.findall(r'data-testid="funnel-visitors">([^<]+)<', filtered.text) == ["1", "1"]


def test_an_unknown_funnel_is_a_404_page(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    answer = signed_in.client.get(f"/dashboard/projects/{project_id}/funnels/{'0' * 16}")
    assert answer.status_code == 404
    assert "Traceback" not in answer.text
