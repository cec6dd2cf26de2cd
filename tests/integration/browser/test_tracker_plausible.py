"""The official Plausible tracker (npm: @plausible-analytics/tracker, pinned in
plausible/package-lock.json) pointed at privalytics: a site switches by changing the
endpoint, and its page views, SPA navigation, outbound clicks, downloads and engagement
are stored as our actions.

The package is installed from the npm registry with ``npm ci`` into plausible/ the first
time this runs (CI included); without npm the test fails in CI and skips elsewhere.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.integration.browser.conftest import Deployment, MemoryServer, create_project
from tests.integration.browser.events import settled_events, stored_events
from tests.integration.browser.testsite import TestSite

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PACKAGE_DIR = Path(__file__).parent / "plausible"
MODULE = PACKAGE_DIR / "node_modules" / "@plausible-analytics" / "tracker" / "plausible.js"

PAGE = """<!doctype html>
<html><head><title>Plausible site</title>
<script type="module">
  import {{ init, track }} from "/plausible.js";
  // Plausible ignores automated browsers unless told this one is wanted.
  window.__plausible = true;
  init({{
    domain: "127.0.0.1",
    endpoint: "{server}/api/event",
    captureOnLocalhost: true,
    outboundLinks: true,
    fileDownloads: true,
    logging: false,
  }});
  window.track = track;
</script>
</head><body style="margin:0">
<a id="about" href="/spa/about">About</a>
<main id="content"><p>Home</p></main>
<a id="download" class="stay" href="/files/report.pdf">Report</a>
<a id="share" class="stay" href="https://twitter.com/intent/tweet?text=hi">Tweet</a>
<script>
  document.addEventListener("click", function (event) {{
    var link = event.target.closest("a");
    if (!link) return;
    event.preventDefault();
    if (link.classList.contains("stay")) return;
    history.pushState({{}}, "", link.getAttribute("href"));
    document.getElementById("content").innerHTML =
      '<h1>About</h1><div style="height:4000px">long</div>';
  }}, true);
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def plausible_module() -> Path:
    if not MODULE.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "npm is needed to install @plausible-analytics/tracker"
            if REQUIRE_SERVICES:
                pytest.fail(message)
            pytest.skip(message)
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=PACKAGE_DIR, check=True, timeout=300
        )
    return MODULE


def test_the_official_plausible_tracker_records_into_privalytics(
    chromium: Browser, deployment: Deployment, plausible_module: Path
) -> None:
    with TestSite({}, files={"/plausible.js": plausible_module}) as site:
        project_id, _ = create_project(deployment, site.origin)
        site.pages["/"] = PAGE.format(server=deployment.server.url)
        context = chromium.new_context()
        page = context.new_page()
        try:
            page.goto(f"{site.origin}/")
            page.wait_for_function("typeof window.track === 'function'")
            page.click("#about")
            page.wait_for_selector("h1")
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.click("#download")
            page.click("#share")
            page.goto("about:blank")
            # Beacons outlive the page, not the browser context: wait before closing it.
            events = settled_events(deployment.database, project_id, expected=6)
        finally:
            context.close()

    # Beacons travel concurrently: the server may receive them in any order.
    summary = sorted((e.action, e.path, e.target or "") for e in events)
    assert summary == sorted(
        [
            ("visit", "/", ""),
            ("scroll", "/", ""),  # Plausible's engagement for the page left by navigation
            ("visit", "/spa/about", ""),
            ("download", "/spa/about", f"{site.origin}/files/report.pdf"),
            ("click", "/spa/about", "https://twitter.com/intent/tweet"),  # query dropped
            ("scroll", "/spa/about", ""),
        ]
    )
    depths = {e.path: e.value for e in events if e.action == "scroll"}
    assert depths["/spa/about"] == 100.0
    assert depths["/"] is not None
    assert 0 < depths["/"] <= 100


def test_the_official_plausible_tracker_under_global_privacy_control_stores_nothing(
    chromium: Browser, deployment: Deployment, plausible_module: Path
) -> None:
    # Plausible's script ignores GPC; privalytics honours Sec-GPC on /api/event instead.
    with TestSite({}, files={"/plausible.js": plausible_module}) as site:
        project_id, _ = create_project(deployment, site.origin)
        site.pages["/"] = PAGE.format(server=deployment.server.url)

        def browse(headers: dict[str, str]) -> None:
            context = chromium.new_context(extra_http_headers=headers)
            page = context.new_page()
            try:
                with page.expect_response("**/api/event") as visit:
                    page.goto(f"{site.origin}/")
                assert visit.value.status == 202
                page.wait_for_function("typeof window.track === 'function'")
                page.click("#about")
                page.wait_for_selector("h1")
                with page.expect_response(
                    lambda r: (
                        r.url.endswith("/api/event")
                        and b"File Download" in (r.request.post_data_buffer or b"")
                    )
                ) as download:
                    page.click("#download")
                assert download.value.status == 202
                if headers:
                    # Checked before the page is left: Playwright's extra headers do not
                    # reach the keepalive request a page sends while it unloads (the
                    # browser, not the page, sends it), so the engagement event would
                    # arrive without Sec-GPC, which a real GPC browser always sends.
                    assert stored_events(deployment.database, project_id) == []
                else:
                    page.goto("about:blank")
                    settled_events(deployment.database, project_id, expected=5)
            finally:
                context.close()

        browse({"Sec-GPC": "1"})
        time.sleep(0.5)
        assert stored_events(deployment.database, project_id) == []
        # Control: the same page and steps without the signal are recorded.
        browse({})
        events = settled_events(deployment.database, project_id, expected=5)
    assert sorted(e.action for e in events) == ["download", "scroll", "scroll", "visit", "visit"]


# --- what is derived from the tracker's events --------------------------------------------

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)


def test_the_plausible_trackers_visits_carry_source_campaign_browser_and_system(
    chromium: Browser, memory_server: MemoryServer, plausible_module: Path
) -> None:
    with TestSite({}, files={"/plausible.js": plausible_module}) as site:
        created = memory_server.run(
            memory_server.services.admin.create_project("site", allowed_origins=[site.origin])
        )
        site.pages["/"] = PAGE.format(server=memory_server.url)
        # A phone: its viewport, touch and agent.
        context = chromium.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            user_agent=IPHONE,
        )
        page = context.new_page()
        try:
            page.goto(
                f"{site.origin}/?utm_medium=cpc&utm_campaign=spring&private=1",
                referer="https://www.google.com/search?q=shoes",
            )
            page.wait_for_function("typeof window.track === 'function'")
            page.click("#about")
            page.wait_for_selector("h1")
            visits = [e for e in memory_server.settled(expected=2) if e.action == "visit"]
        finally:
            context.close()

    assert {e.project_id for e in visits} == {created.project.id}
    assert sorted(e.path for e in visits) == ["/", "/spa/about"]
    landing = next(e for e in visits if e.path == "/")
    # The referring page is kept without its query (the search words).
    assert (landing.source, landing.referrer) == ("Google", "https://www.google.com/search")
    assert (landing.utm_medium, landing.utm_campaign, landing.utm_source) == (
        "cpc",
        "spring",
        None,
    )
    for visit in visits:
        assert (visit.browser, visit.os, visit.os_version) == ("Safari", "iOS", "17.2")
        # Locally, the address is loopback: no location.
        assert visit.country is None
        # The npm package (0.4.6) sends no width (its classic script.js sent `w`): the
        # class is what the phone's agent says.
        assert visit.device == "mobile"
