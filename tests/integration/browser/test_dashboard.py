"""The dashboard in Debian's Chromium, against the real server in a subprocess."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, Running, running
from tests.servers import BROWSER

__all__ = ["running"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XSS = "/<script>alert(1)</script>"


@pytest.fixture
def page(chromium: Browser) -> Any:
    context = chromium.new_context()
    page = context.new_page()
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    context.close()


def sign_in(page: Page, running: Running) -> None:
    page.goto(f"{running.server.url}/dashboard")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("All projects")


def create_project(page: Page, name: str) -> tuple[str, str]:
    """A new project, and a server token for it issued in its settings (the tests send
    events that name their visitors, which only a server token may); the page is left on
    the project's page."""
    page.fill("#new-project input[name=name]", name)
    page.click("#new-project button[type=submit]")
    expect(page.get_by_test_id("token")).to_be_visible()
    page.get_by_role("link", name=f"Go to {name}").click()
    project_url = page.url.split("?")[0]
    project_id = project_url.rsplit("/", 1)[-1]
    page.goto(f"{project_url}/settings")
    page.get_by_test_id("server-token").check()
    page.get_by_role("button", name="Issue a new token").click()
    expect(page.locator("h1")).to_have_text(f"New server token for {name}")
    token = page.get_by_test_id("token").inner_text()
    page.goto(project_url)
    return project_id, token


def send(running: Running, token: str, **event: Any) -> None:
    response = httpx.post(
        f"{running.server.url}/api/v1/events",
        json=event,
        headers={"Authorization": f"Bearer {token}", **BROWSER},
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1}


def api_stats(running: Running, project_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{running.server.url}/api/v1/projects/{project_id}/stats",
        params={"period": "24h"},
        headers={"Authorization": f"Bearer {running.admin_key}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_signed_out_visitors_are_redirected_to_login(page: Page, running: Running) -> None:
    page.goto(f"{running.server.url}/dashboard/projects/anything")
    assert "/dashboard/login" in page.url
    expect(page.locator("h1")).to_have_text("Sign in")


def test_sign_in_create_a_project_send_events_and_see_the_apis_numbers(
    page: Page, running: Running
) -> None:
    sign_in(page, running)
    project_id, token = create_project(page, "Browser site")
    for n, path in enumerate(["/", "/", "/pricing", XSS]):
        send(running, token, action="visit", path=path, visitor_ip=f"192.0.2.{n % 3}")
    send(running, token, action="scroll", path="/", value=75)
    send(running, token, action="click", path="/", target="Sign up")
    page.reload()
    stats = api_stats(running, project_id)
    expect(page.get_by_test_id("pageviews")).to_have_text(str(stats["pageviews"]))
    expect(page.get_by_test_id("sessions")).to_have_text(str(stats["sessions"]))
    expect(page.get_by_test_id("uniques")).to_have_text(str(stats["unique_visitors"]))
    expect(page.get_by_test_id("scroll")).to_have_text("75%")
    assert stats["visits"] == 4
    # The attacker's path is text on the page, and no script of it ran.
    expect(page.get_by_text(XSS, exact=True).first).to_be_visible()
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_a_new_event_appears_in_the_live_feed_without_reloading(
    page: Page, running: Running
) -> None:
    sign_in(page, running)
    _, token = create_project(page, "Live site")
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "open")
    page.evaluate("window.notReloaded = true")
    send(running, token, action="visit", path="/just-now")
    send(running, token, action="visit", path=XSS)
    feed = page.get_by_test_id("feed")
    expect(feed.get_by_text("/just-now")).to_be_visible(timeout=10_000)
    expect(feed.get_by_text(XSS, exact=True)).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_a_live_feed_left_open_after_signing_out_goes_to_the_login_page(
    page: Page, running: Running
) -> None:
    sign_in(page, running)
    _, token = create_project(page, "Signed-out site")
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "open")
    other = page.context.new_page()
    other.goto(f"{running.server.url}/dashboard")
    other.get_by_role("button", name="Sign out").click()
    expect(other.locator("h1")).to_have_text("Sign in")
    send(running, token, action="visit", path="/after-sign-out")
    expect(page.locator("h1")).to_have_text("Sign in", timeout=10_000)
    assert "/dashboard/login?next=" in page.url
    expect(page.get_by_text("/after-sign-out")).to_have_count(0)


def test_reloading_the_new_tokens_page_creates_no_second_project(
    page: Page, running: Running
) -> None:
    sign_in(page, running)
    page.fill("#new-project input[name=name]", "Reloaded site")
    page.click("#new-project button[type=submit]")
    token = page.get_by_test_id("token").inner_text()
    page.reload()
    expect(page.get_by_text("shown only once", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("token")).to_have_count(0)
    assert token not in page.content()
    page.goto(f"{running.server.url}/dashboard")
    expect(page.get_by_role("link", name="Reloaded site")).to_have_count(1)


def test_no_dashboard_page_makes_a_third_party_request(chromium: Browser, running: Running) -> None:
    """Issue 3: no CDN, font or beacon: every request any page makes goes to this server."""
    context = chromium.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url))
    try:
        base = running.server.url
        page.goto(f"{base}/dashboard/login")
        sign_in(page, running)
        project_id, _ = create_project(page, "Same-origin site")
        expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "open")
        for path in (
            "/dashboard",
            "/dashboard?range=7d",
            f"/dashboard/projects/{project_id}?range=30d",
            "/dashboard/no-such-page",
            f"/dashboard/projects/{project_id}/settings",
        ):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Issue a new token").click()
        expect(page.get_by_test_id("token")).to_be_visible()
        page.goto(f"{base}/dashboard")
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("h1")).to_have_text("Sign in")
    finally:
        context.close()
    origin = urlsplit(base).netloc
    assert requested
    foreign = [
        url for url in requested if not url.startswith("data:") and urlsplit(url).netloc != origin
    ]
    assert foreign == []
    assert any(url.startswith(("ws://", "wss://")) for url in requested)


def test_a_form_posted_without_its_csrf_token_is_refused(page: Page, running: Running) -> None:
    sign_in(page, running)
    page.evaluate(
        "document.querySelectorAll('#new-project input[name=_csrf_token]')"
        ".forEach(function (field) { field.remove(); })"
    )
    page.fill("#new-project input[name=name]", "Forged")
    page.click("#new-project button[type=submit]")
    expect(page.locator("h1")).to_have_text("Refused")
    page.goto(f"{running.server.url}/dashboard")
    expect(page.get_by_text("Forged")).to_have_count(0)


PHONE = {"width": 375, "height": 667}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(params=["laptop", "phone"])
def sized(chromium: Browser, request: pytest.FixtureRequest) -> Any:
    """A page at a laptop's and at a phone's width."""
    context = chromium.new_context(viewport=PHONE if request.param == "phone" else LAPTOP)
    page = context.new_page()
    yield page
    context.close()


def box(locator: Any) -> dict[str, float]:
    found: dict[str, float] | None = locator.bounding_box()
    assert found is not None, locator
    return found


def _hours_of_traffic(running: Running, token: str) -> None:
    now = datetime.now(UTC)
    for hours in (23, 17, 9, 3, 0):
        send(
            running,
            token,
            action="visit",
            path="/",
            visitor_ip=f"192.0.2.{hours}",
            timestamp=(now - timedelta(hours=hours, minutes=1)).isoformat(),
        )


def test_on_a_phone_the_chart_fits_and_shows_its_newest_hour(
    chromium: Browser, running: Running
) -> None:
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, running)
        _, token = create_project(page, "Phone chart")
        _hours_of_traffic(running, token)
        page.reload()
        width = PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        chart = box(page.get_by_test_id("chart"))
        assert chart["x"] >= 0
        assert chart["x"] + chart["width"] <= width
        plot = box(page.locator(".chart-plot"))
        last = box(page.locator(".chart .dot").last)
        assert plot["x"] <= last["x"]
        assert last["x"] + last["width"] <= min(plot["x"] + plot["width"] + 1, width)
        assert last["width"] > 0
        expect(page.locator(".chart .dot").last).to_be_visible()
        # Every x label that shows lies within the screen.
        labels = page.locator(".chart-x text")
        for n in range(labels.count()):
            if labels.nth(n).is_visible():
                label = box(labels.nth(n))
                assert label["x"] >= 0
                assert label["x"] + label["width"] <= width
    finally:
        context.close()


def test_a_panels_bar_never_runs_under_its_number(sized: Page, running: Running) -> None:
    sign_in(sized, running)
    _, token = create_project(sized, "Referred site")
    for n, referrer in enumerate(
        ["https://a-rather-long-referrer-name.example/x"] * 3 + ["https://b.example/"]
    ):
        send(running, token, action="visit", path="/", referrer=referrer, visitor_ip=f"192.0.2.{n}")
    sized.reload()
    rows = sized.locator("#panel-sources tbody tr")
    expect(rows).to_have_count(2)
    for n in range(2):
        bar = box(rows.nth(n).locator("svg.bar rect"))
        number = box(rows.nth(n).locator("td.num"))
        assert bar["x"] + bar["width"] <= number["x"], (n, bar, number)


def test_clicking_a_source_filters_every_panel(page: Page, running: Running) -> None:
    sign_in(page, running)
    project_id, token = create_project(page, "Filtered site")
    for n, (path, referrer) in enumerate(
        [
            ("/from-google", "https://www.google.com/search?q=privacy"),
            ("/from-google", "https://www.google.de/"),
            ("/from-hn", "https://news.ycombinator.com/item?id=1"),
            ("/direct", None),
        ]
    ):
        send(
            running, token, action="visit", path=path, referrer=referrer, visitor_ip=f"192.0.2.{n}"
        )
    page.reload()
    sources = page.get_by_test_id("panel-sources")
    expect(sources.locator("tbody tr")).to_have_count(3)
    sources.get_by_role("link", name="Google", exact=True).click()
    expect(page.locator(".chip")).to_contain_text("Source is Google")
    assert "filter=source%3D%3DGoogle" in page.url
    # Every panel shows the Google visits only: their pages, and the referrers of Google.
    pages = page.get_by_test_id("panel-pages").locator("tbody tr")
    expect(pages).to_have_count(1)
    expect(pages.first).to_contain_text("/from-google")
    expect(pages.first.locator("td.num")).to_have_text("2")
    referrers = page.get_by_test_id("panel-sources")
    expect(referrers.locator("th").first).to_have_text("Referrers")
    expect(referrers.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("uniques")).to_have_text("2")
    # The chip removes the filter; the address is the whole state (a bookmark).
    page.locator(".chip").click()
    expect(page.locator(".chip")).to_have_count(0)
    expect(page.get_by_test_id("panel-pages").locator("tbody tr")).to_have_count(3)
    page.goto(f"{running.server.url}/dashboard/projects/{project_id}?filter=source%3D%3DGoogle")
    expect(page.get_by_test_id("uniques")).to_have_text("2")


def test_recent_activity_shows_whole_rows_and_scroll_depths(page: Page, running: Running) -> None:
    sign_in(page, running)
    _, token = create_project(page, "Busy feed")
    for n in range(20):
        send(running, token, action="visit", path=f"/page-{n}")
    send(running, token, action="scroll", path="/page-1", value=75)
    page.reload()
    feed = page.get_by_test_id("feed")
    expect(feed.locator("li").first).to_contain_text("scroll 75%")
    # No row is cut: the list is as tall as its rows, and the last one is whole.
    assert feed.evaluate("list => list.scrollHeight <= list.clientHeight")
    last = box(feed.locator("li").last)
    whole = box(feed)
    assert last["y"] + last["height"] <= whole["y"] + whole["height"] + 0.5
    # A scroll arriving live shows its depth too.
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "open")
    send(running, token, action="scroll", path="/live", value=40)
    expect(feed.locator("li").first).to_contain_text("scroll 40%", timeout=10_000)
    assert feed.evaluate("list => list.scrollHeight <= list.clientHeight")


def test_the_unique_note_starts_closed_and_opens(page: Page, running: Running) -> None:
    sign_in(page, running)
    create_project(page, "Closed note")
    explanation = page.get_by_test_id("unique-explanation")
    expect(explanation).to_be_hidden()
    page.get_by_text("What “unique” means here").click()
    expect(explanation).to_be_visible()


def test_a_tokens_id_and_date_stay_on_one_line(sized: Page, running: Running) -> None:
    sign_in(sized, running)
    project_id, _ = create_project(sized, "One-line tokens")
    sized.goto(f"{running.server.url}/dashboard/projects/{project_id}/settings")
    for testid in ("token-id", "token-created"):
        cell = sized.get_by_test_id(testid).first
        # An inline element has one box per line it spans.
        lines = cell.evaluate("node => node.getClientRects().length")
        assert lines == 1, (testid, lines)
    assert sized.evaluate("document.documentElement.scrollWidth") <= sized.viewport_size["width"]
