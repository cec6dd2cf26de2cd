"""The dashboard in Debian's Chromium, against the real server in a subprocess."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.integration.browser.dashboard_server import PASSWORD, USERNAME, Running, running

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
    page.fill("#new-project input[name=name]", name)
    page.click("#new-project button[type=submit]")
    token = page.get_by_test_id("token").inner_text()
    page.get_by_role("link", name=f"Go to {name}").click()
    project_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    return project_id, token


def send(running: Running, token: str, **event: Any) -> None:
    response = httpx.post(
        f"{running.server.url}/api/v1/events",
        json=event,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text


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
    expect(page.get_by_test_id("visits")).to_have_text(str(stats["visits"]))
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
