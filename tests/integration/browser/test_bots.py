"""Bots in a real browser: a plain headless Chromium (its agent says "HeadlessChrome")
and a driven one (``navigator.webdriver``, reported by the tracker) are turned away, and
the dashboard's "Filtered bots" panel shows why; the same page in a visitor's browser is
stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import expect

from tests.integration.browser.conftest import (
    CHROMIUM,
    HEADLESS_ARGS,
    Deployment,
    create_project,
    visitor_agent,
)
from tests.integration.browser.dashboard_server import create_user
from tests.integration.browser.events import settled_events, stored_events
from tests.integration.browser.testsite import TestSite
from tests.servers import cli_json

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = """<!doctype html>
<html><head><title>Test site</title>
<script defer src="{server}/tracker.js" data-token="{token}"></script>
</head><body><p>Home</p></body></html>
"""
USERNAME, PASSWORD = "owner", "correct horse battery"


@pytest.fixture(scope="module")
def plain_chromium(chromium: Browser) -> Iterator[Browser]:
    """Headless Chromium as Playwright starts it, nothing hiding that it is driven (from
    the suite's Playwright: a second one cannot run beside it)."""
    browser = chromium.browser_type.launch(executable_path=CHROMIUM, args=HEADLESS_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def _visit(browser: Browser, url: str, **options: str) -> None:
    context = browser.new_context(**options)
    try:
        page = context.new_page()
        with page.expect_response("**/api/v1/events") as sent:
            page.goto(url)
        # A beacon's body is not readable here; the bot log says what became of it.
        assert sent.value.status == 202
    finally:
        context.close()


def _bot_log(deployment: Deployment, project_id: str, total: int) -> dict[str, int]:
    """The bot log's reasons once ``total`` bot events are in it (a page's scroll beacon
    leaves as its context closes), or after 30 s."""
    key = cli_json(deployment.database_url, "admin", "key", "create")["key"]
    url = f"{deployment.server.url}/api/v1/projects/{project_id}/bots?period=24h"
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert response.status_code == 200, response.text
        if response.json()["total"] >= total or time.monotonic() > deadline:
            return {row["name"]: row["count"] for row in response.json()["reasons"]}
        time.sleep(0.1)


def test_a_plain_headless_chromium_is_a_bot_and_the_dashboard_says_why(
    plain_chromium: Browser, chromium: Browser, deployment: Deployment
) -> None:
    with TestSite({}) as site:
        project_id, token = create_project(deployment, site.origin)
        site.pages["/"] = PAGE.format(server=deployment.server.url, token=token)
        assert "HeadlessChrome" in plain_chromium.new_page().evaluate("navigator.userAgent")
        # Its own agent first; then the same browser with a visitor's agent, still driven.
        # Each sends a visit, and its scroll depth as the page closes.
        _visit(plain_chromium, f"{site.origin}/")
        _visit(plain_chromium, f"{site.origin}/", user_agent=visitor_agent(chromium.version))
        assert _bot_log(deployment, project_id, total=4) == {"HeadlessChrome": 2, "webdriver": 2}
        assert stored_events(deployment.database, project_id) == []
        # A visitor's browser (the suite's: not driven, a normal agent) is counted.
        page = chromium.new_page()
        try:
            assert page.evaluate("navigator.webdriver") is False
            page.goto(f"{site.origin}/")
            assert len(settled_events(deployment.database, project_id, expected=1)) == 1
        finally:
            page.close()

    create_user(deployment.database_url, USERNAME, PASSWORD)
    page = chromium.new_page()
    try:
        page.goto(f"{deployment.server.url}/dashboard")
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("All projects")
        page.goto(f"{deployment.server.url}/dashboard/projects/{project_id}")
        panel = page.locator("#bots")
        expect(panel.locator("h2")).to_have_text("Filtered bots")
        expect(panel.locator(".name")).to_have_text(["HeadlessChrome", "webdriver"])
        expect(panel.locator(".num")).to_have_text(["2", "2"])
    finally:
        page.close()
