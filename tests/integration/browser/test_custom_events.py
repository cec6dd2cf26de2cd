"""Custom events end to end in Debian's Chromium, against the real server: privalytics'
own tracker, the official Plausible tracker (npm) and Umami's script send custom events
with properties and revenue, and tagged-element clicks; they appear in the API's event
and property breakdowns and in the dashboard's Events panel. A refused event's 400 and
message are readable by the page that sent it (not a CORS failure)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, Running, running
from tests.integration.browser.test_tracker_plausible import plausible_module
from tests.integration.browser.test_tracker_umami import umami_script
from tests.integration.browser.testsite import TestSite

__all__ = ["plausible_module", "running", "umami_script"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OWN = """<!doctype html><html><head>
<script defer src="{server}/tracker.js" data-token="{token}"></script>
</head><body><p>Own tracker</p></body></html>
"""

PLAUSIBLE = """<!doctype html><html><head>
<script type="module">
  import {{ init, track }} from "/plausible.js";
  window.__plausible = true;
  init({{ domain: "127.0.0.1", endpoint: "{server}/api/event", captureOnLocalhost: true }});
  window.track = track;
</script>
</head><body>
<button id="tagged" class="plausible-event-name=Signup plausible-event-plan=free">Join</button>
</body></html>
"""

UMAMI = """<!doctype html><html><head>
<script defer src="/script.js" data-website-id="{website}" data-host-url="{server}"></script>
</head><body>
<button id="tagged" data-umami-event="Signup" data-umami-event-plan="team">Join</button>
</body></html>
"""


@pytest.fixture
def page(chromium: Browser) -> Any:
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def admin(running: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {running.admin_key}"}


def new_project(running: Running, origin: str) -> tuple[str, str]:
    response = httpx.post(
        f"{running.server.url}/api/v1/projects",
        json={"name": "Shop", "allowed_origins": [origin]},
        headers=admin(running),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["project"]["id"], body["token"]


def breakdown(running: Running, project_id: str, dimension: str, **params: Any) -> list[Any]:
    response = httpx.get(
        f"{running.server.url}/api/v1/projects/{project_id}/breakdown/{dimension}",
        params={"period": "24h", **params},
        headers=admin(running),
    )
    assert response.status_code == 200, response.text
    return [(r["value"], r["visitors"], r["events"]) for r in response.json()["results"]]


def settled(running: Running, project_id: str, events: int, timeout: float = 60.0) -> list[Any]:
    """The event breakdown once ``events`` custom events are counted (the server commits
    in groups, beacons arrive when they do)."""
    deadline = time.monotonic() + timeout
    rows = breakdown(running, project_id, "event")
    while sum(n for _, _, n in rows) < events and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = breakdown(running, project_id, "event")
    return rows


def test_the_own_tracker_sends_custom_events_and_a_refusal_is_readable(
    chromium: Browser, running: Running
) -> None:
    with TestSite({}) as site:
        project_id, token = new_project(running, site.origin)
        site.pages["/"] = OWN.format(server=running.server.url, token=token)
        context = chromium.new_context()
        page = context.new_page()
        try:
            with page.expect_response("**/api/v1/events") as visit:
                page.goto(f"{site.origin}/")
            assert visit.value.status == 202
            with page.expect_response("**/api/v1/events") as signup:
                page.evaluate("privalytics('Signup', {props: {plan: 'pro', seats: 3}})")
            assert signup.value.status == 202
            # 31 properties, sent by the page itself from its origin: the page reads the
            # 400 and its message (the answer carries the CORS headers of a success).
            refused = page.evaluate(
                """async ([url, token]) => {
                  const props = {};
                  for (let n = 0; n < 31; n++) props["k" + n] = "v";
                  const answer = await fetch(url, {method: "POST", body: JSON.stringify(
                    {token, name: "Signup", path: "/", props})});
                  return [answer.status, await answer.json()];
                }""",
                [f"{running.server.url}/api/v1/events", token],
            )
        finally:
            context.close()
    assert refused[0] == 400
    assert refused[1]["message"] == "props: at most 30 properties (got 31)"
    assert settled(running, project_id, 1) == [("Signup", 1, 1)]
    assert breakdown(running, project_id, "prop:seats", filter="event==Signup") == [("3", 1, 1)]


def test_plausible_and_umami_trackers_send_custom_events_props_revenue_and_tags(
    chromium: Browser, running: Running, plausible_module: Path, umami_script: Path, page: Page
) -> None:
    files = {"/plausible.js": plausible_module, "/script.js": umami_script}
    with TestSite({}, files=files) as site:
        project_id, _ = new_project(running, site.origin)
        site.pages["/"] = PLAUSIBLE.format(server=running.server.url)
        site.pages["/umami"] = UMAMI.format(website=project_id, server=running.server.url)
        context = chromium.new_context()
        visitor = context.new_page()
        try:
            visitor.goto(f"{site.origin}/")
            visitor.wait_for_function("typeof window.track === 'function'")
            with visitor.expect_response("**/api/event") as purchase:
                visitor.evaluate(
                    "track('Purchase', {props: {plan: 'pro'},"
                    " revenue: {amount: 10.29, currency: 'EUR'}})"
                )
            assert purchase.value.status == 202
            with visitor.expect_response("**/api/event") as tagged:
                visitor.click("#tagged")
            assert tagged.value.status == 202
            with visitor.expect_response("**/api/send"):
                visitor.goto(f"{site.origin}/umami")
            visitor.wait_for_function("typeof window.umami === 'object'")
            with visitor.expect_response("**/api/send") as checkout:
                visitor.evaluate(
                    "umami.track('Purchase', {plan: 'team', revenue: 19.5, currency: 'USD'})"
                )
            assert checkout.value.status == 202
            with visitor.expect_response("**/api/send") as umami_tag:
                visitor.click("#tagged")
            assert umami_tag.value.status == 202
        finally:
            context.close()

    events = settled(running, project_id, 4)
    assert [(name, count) for name, _, count in events] == [("Purchase", 2), ("Signup", 2)]
    plans = breakdown(running, project_id, "prop:plan", filter="event==Signup")
    assert sorted(value for value, _, _ in plans) == ["free", "team"]
    bought = breakdown(running, project_id, "prop:plan", filter="event==Purchase")
    assert sorted(value for value, _, _ in bought) == ["pro", "team"]

    # The dashboard: the Events panel, then the chosen event's property breakdown.
    page.goto(f"{running.server.url}/dashboard")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{running.server.url}/dashboard/projects/{project_id}")
    panel = page.get_by_test_id("panel-events")
    expect(panel.locator("tbody tr")).to_have_count(2)
    expect(panel.locator("thead")).to_contain_text("Events")
    panel.get_by_role("link", name="Signup").click()
    expect(page.get_by_test_id("filters")).to_contain_text("Event is Signup")
    page.get_by_test_id("panel-events").get_by_role("link", name="Property: plan").click()
    rows = page.get_by_test_id("panel-events").locator("tbody tr td.name")
    expect(rows).to_have_text(["free", "team"])
