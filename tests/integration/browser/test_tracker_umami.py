"""Umami's own tracker script, as the npm ``umami`` package ships it
(``src/tracker/index.js``; Umami's build only minifies it), pointed at privalytics with its
``data-host-url``: a site switches by changing that attribute, and its page views and
single-page navigation are stored as visits.

The package is fetched from the npm registry with ``npm pack`` the first time this runs
(CI included) and checked against the integrity the registry published for it, pinned
below; without npm the test fails in CI and skips elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.integration.browser.conftest import Deployment, create_project
from tests.integration.browser.events import settled_events, stored_events
from tests.integration.browser.testsite import TestSite

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PACKAGE = "umami@2.10.0"
# `npm view umami@2.10.0 dist.integrity`
INTEGRITY = (
    "sha512-+lmrnV0751R6U2rkIgVAlE1nWI7yZawlMlJDguW9tlFacCK"
    "hnGeCyc7tCMIhNNYIiGIQy4DEX5IzJhm4b3+dPA=="
)
PACKAGE_DIR = Path(__file__).parent / "umami"
SCRIPT = PACKAGE_DIR / "script.js"

PAGE = """<!doctype html>
<html><head><title>Umami site</title>
<script defer src="/script.js" data-website-id="{website}" data-host-url="{server}"></script>
</head><body style="margin:0">
<a id="about" href="/spa/about">About</a>
<main id="content"><p>Home</p></main>
<script>
  document.addEventListener("click", function (event) {{
    var link = event.target.closest("a");
    if (!link) return;
    event.preventDefault();
    history.pushState({{}}, "", link.getAttribute("href"));
    document.getElementById("content").innerHTML = "<h1>About</h1>";
  }}, true);
</script>
</body></html>
"""


def _integrity(tarball: Path) -> str:
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


@pytest.fixture(scope="module")
def umami_script() -> Path:
    """The tracker script of the pinned ``umami`` package, verified, unchanged."""
    if not SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "npm is needed to fetch the umami package"
            if REQUIRE_SERVICES:
                pytest.fail(message)
            pytest.skip(message)
        PACKAGE_DIR.mkdir(exist_ok=True)
        subprocess.run(
            [npm, "pack", PACKAGE, "--pack-destination", str(PACKAGE_DIR)],
            cwd=PACKAGE_DIR,
            check=True,
            timeout=300,
            capture_output=True,
        )
        (tarball,) = PACKAGE_DIR.glob("umami-*.tgz")
        assert _integrity(tarball) == INTEGRITY, "the umami package is not the one pinned"
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/src/tracker/index.js")
            assert member is not None
            SCRIPT.write_bytes(member.read())
        tarball.unlink()
    return SCRIPT


def test_umamis_own_tracker_records_into_privalytics(
    chromium: Browser, deployment: Deployment, umami_script: Path
) -> None:
    with TestSite({}, files={"/script.js": umami_script}) as site:
        project_id, _ = create_project(deployment, site.origin)
        site.pages["/"] = PAGE.format(website=project_id, server=deployment.server.url)
        # A phone, arriving from a Google search through a campaign link.
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        try:
            with page.expect_response("**/api/send") as landing:
                page.goto(
                    f"{site.origin}/?utm_source=newsletter&utm_medium=email"
                    "&utm_campaign=launch&secret=dropped",
                    referer="https://www.google.com/",
                )
            assert landing.value.status == 202
            with page.expect_response("**/api/send") as navigation:
                page.click("#about")
            assert navigation.value.status == 202
            events = settled_events(deployment.database, project_id, expected=2)
        finally:
            context.close()

    assert [(e.action, e.path) for e in events] == [("visit", "/"), ("visit", "/spa/about")]
    # The landing page view came from Google; the SPA navigation is internal, which the
    # script reports as the previous page's path.
    assert events[0].referrer is not None
    assert events[0].referrer.startswith("https://www.google.com")


def test_umamis_own_tracker_under_global_privacy_control_stores_nothing(
    chromium: Browser, deployment: Deployment, umami_script: Path
) -> None:
    # Umami's script ignores GPC; privalytics honours Sec-GPC on /api/send instead.
    with TestSite({}, files={"/script.js": umami_script}) as site:
        project_id, _ = create_project(deployment, site.origin)
        site.pages["/"] = PAGE.format(website=project_id, server=deployment.server.url)

        def browse(headers: dict[str, str]) -> None:
            context = chromium.new_context(extra_http_headers=headers)
            page = context.new_page()
            try:
                with page.expect_response("**/api/send") as visit:
                    page.goto(f"{site.origin}/")
                assert visit.value.status == 202
                with page.expect_response("**/api/send") as navigation:
                    page.click("#about")
                assert navigation.value.status == 202
            finally:
                context.close()

        browse({"Sec-GPC": "1"})
        assert stored_events(deployment.database, project_id) == []
        # The same browsing without the signal is recorded: the page works.
        browse({})
        assert len(settled_events(deployment.database, project_id, expected=2)) == 2
