"""Tagged elements in Debian's Chromium, against the real server: a site loads tracker.js and
the tracker-tags.js add-on; clicks on elements tagged with ``data-pa-event`` or with
``pa-event-name=`` classes, and the submission of a tagged form, send custom events with
their properties, which reach the dashboard's Goals panel and the chosen event's property
breakdown. What is not tagged (or not a click of the first or middle button) sends none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, Running, running
from tests.integration.browser.test_custom_events import admin, breakdown, new_project, settled
from tests.integration.browser.testsite import TestSite

__all__ = ["running"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCRIPTS = """<script defer src="{server}/tracker.js" data-token="{token}"></script>
<script defer src="{server}/tracker-tags.js"></script>"""

HOME = """<!doctype html><html><head>{scripts}</head><body>
<button id="attr" data-pa-event="Signup" data-pa-event-plan="pro"
  data-pa-event-billing-period="yearly">Start</button>
<button id="class" class="big pa-event-name=Signup pa-event-plan=team+plan">
  <span id="inner">Team</span></button>
<a id="docs" href="/docs" class="pa-event-name--Docs pa-event-from--footer">Docs</a>
<button id="plain">Not tagged</button>
<button id="only" data-pa-event="Only" data-pa-ignore>Only the event</button>
<a id="pricing" href="/pricing" data-pa-event="Pricing">Pricing</a>
</body></html>
"""

# The add-on twice (a theme and a plugin, say): each submission is still one event.
PRICING = """<!doctype html><html><head>{scripts}
<script defer src="{server}/tracker-tags.js"></script></head><body>
<form id="newsletter" action="/thanks" data-pa-event="Newsletter" data-pa-event-list="weekly">
  <input id="email" name="email" type="email" required>
  <button id="subscribe">Subscribe</button>
</form>
</body></html>
"""

PLAIN = "<!doctype html><html><body><p>{}</p></body></html>"


def _sent(request: Request, into: list[dict[str, Any]]) -> None:
    if request.url.endswith("/api/v1/events") and request.post_data:
        into.append(json.loads(request.post_data))


def test_tagged_clicks_and_a_tagged_form_reach_goals_and_property_panels(
    chromium: Browser, running: Running
) -> None:
    with TestSite({}) as site:
        project_id, token = new_project(running, site.origin)
        scripts = SCRIPTS.format(server=running.server.url, token=token)
        site.pages["/"] = HOME.format(scripts=scripts)
        site.pages["/pricing"] = PRICING.format(scripts=scripts, server=running.server.url)
        site.pages["/docs"] = PLAIN.format("Docs")
        site.pages["/thanks"] = PLAIN.format("Thanks")
        context = chromium.new_context()
        sent: list[dict[str, Any]] = []
        context.on("request", lambda request: _sent(request, sent))
        visitor = context.new_page()
        try:
            visitor.goto(f"{site.origin}/")
            visitor.wait_for_function("typeof window.privalytics === 'function'")
            visitor.click("#attr")
            # A click on what a tagged button holds is the button's.
            visitor.click("#inner")
            # A middle click (opening the link in a new tab) sends its event too.
            visitor.click("#docs", button="middle")
            # The right button opens a menu: no event.
            visitor.click("#attr", button="right")
            visitor.click("#plain")
            # data-pa-ignore drops the tracker's click, not the tagged element's event.
            visitor.click("#only")
            # A tagged link leaving the page: the beacon outlives it.
            visitor.click("#pricing")
            visitor.wait_for_url("**/pricing")
            visitor.wait_for_function("typeof window.privalytics === 'function'")
            # A click inside a tagged form is not its event, nor is a submission the
            # browser's validation stops (the e-mail is missing); a sent one is.
            visitor.click("#email")
            visitor.click("#subscribe")
            visitor.fill("#email", "someone@example.com")
            visitor.click("#subscribe")
            visitor.wait_for_url("**/thanks?**")
            events = settled(running, project_id, 6)
        finally:
            context.close()

    assert sorted(events) == [
        ("Docs", 1, 1),
        ("Newsletter", 1, 1),
        ("Only", 1, 1),
        ("Pricing", 1, 1),
        ("Signup", 1, 2),
    ]
    custom = sorted(
        (e["name"], e["path"], json.dumps(e.get("props"), sort_keys=True))
        for e in sent
        if e["name"] not in ("visit", "click", "scroll", "download", "share")
    )
    assert custom == [
        ("Docs", "/", '{"from": "footer"}'),
        ("Newsletter", "/pricing", '{"list": "weekly"}'),
        ("Only", "/", "{}"),
        ("Pricing", "/", "{}"),
        ("Signup", "/", '{"billing-period": "yearly", "plan": "pro"}'),
        ("Signup", "/", '{"plan": "team plan"}'),
    ]
    # The core's own click for each tagged element is still sent (docs/tracker.md): one
    # per left or middle click on a link or a button, the untagged one included, none for
    # the one marked data-pa-ignore.
    clicks = sorted(e["target"] for e in sent if e["name"] == "click")
    assert clicks == sorted(
        [
            "Start",
            "Team",
            f"{site.origin}/docs",
            "Not tagged",
            f"{site.origin}/pricing",
            "Subscribe",
            "Subscribe",
        ]
    )
    plans = breakdown(running, project_id, "prop:plan", filter="event==Signup")
    assert sorted(value for value, _, _ in plans) == ["pro", "team plan"]

    goal = httpx.post(
        f"{running.server.url}/api/v1/projects/{project_id}/goals",
        json={"event": "Signup"},
        headers=admin(running),
    )
    assert goal.status_code == 201, goal.text

    page = chromium.new_page()
    try:
        _dashboard(page, running, project_id)
    finally:
        page.close()


def _dashboard(page: Page, running: Running, project_id: str) -> None:
    """The Goals panel shows the Signup goal's conversions; the Events panel, filtered to
    Signup, breaks it down by its property plan."""
    page.goto(f"{running.server.url}/dashboard")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{running.server.url}/dashboard/projects/{project_id}")
    goals = page.get_by_test_id("panel-goals").locator("tbody tr")
    expect(goals).to_have_count(1)
    expect(goals.locator("td.name")).to_have_text("Signup")
    # One visitor, two conversions, every visitor converted.
    expect(goals.locator("td.num")).to_have_text(["1", "2", "100%"])
    events = page.get_by_test_id("panel-events")
    expect(events.locator("tbody tr")).to_have_count(5)
    expect(events.locator("tbody tr").first).to_contain_text("Signup")
    events.get_by_role("link", name="Signup").click()
    expect(page.get_by_test_id("filters")).to_contain_text("Event is Signup")
    page.get_by_test_id("panel-events").get_by_role(
        "link", name="Property: plan", exact=True
    ).click()
    rows = page.get_by_test_id("panel-events").locator("tbody tr td.name")
    expect(rows).to_have_text(["pro", "team plan"])


ALONE = """<!doctype html><html><head><script defer src="/tracker-tags.js"></script></head><body>
<button id="tagged" data-pa-event="Signup" onclick="window.clicked = (window.clicked || 0) + 1">
  Start</button>
<form id="form" data-pa-event="Newsletter" onsubmit="window.sent = 1; return false">
  <button id="submit">Go</button></form>
<p id="text">Text</p>
</body></html>
"""


def test_without_the_tracker_the_add_on_sends_nothing_and_never_breaks_the_page(
    chromium: Browser,
) -> None:
    """tracker-tags.js alone (tracker.js missing, blocked or not yet loaded): clicks and
    submissions go on as the page means them, with no error and no request."""
    built = Path(__file__).parents[3] / "src/privalytics/adapters/http/static/tracker-tags.js"
    with TestSite({"/": ALONE}, files={"/tracker-tags.js": built}) as site:
        context = chromium.new_context()
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        try:
            page.goto(f"{site.origin}/")
            page.click("#tagged")
            page.click("#text")
            page.click("#tagged", button="middle")
            page.click("#submit")
            page.wait_for_function("window.sent === 1")
            clicked = page.evaluate("window.clicked")
        finally:
            context.close()
    assert clicked == 1
    assert errors == []
    assert [url for url in requests if not url.endswith("/favicon.ico")] == [
        f"{site.origin}/",
        f"{site.origin}/tracker-tags.js",
    ]
