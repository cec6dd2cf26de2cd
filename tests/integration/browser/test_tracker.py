"""The tracker in headless Chromium: a site on another origin includes
``<script defer src=".../tracker.js" data-token=...>``, a visitor browses it, and the
server stores exactly what the visitor did."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.integration.browser.conftest import Deployment, create_project
from tests.integration.browser.events import settled_events, stored_events
from tests.integration.browser.testsite import TestSite

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = """<!doctype html>
<html><head><title>Test site</title>
<script defer src="{server}/tracker.js" data-token="{token}"></script>
</head><body style="margin:0">
<nav>
  <button id="subscribe">Subscribe</button>
  <button id="secret" data-pa-ignore>Not tracked</button>
  <a id="about" href="/spa/about">About</a>
</nav>
<main id="content"><p>Home</p></main>
<footer>
  <a id="download" class="stay" href="/files/report.pdf?session=s3cret">Report</a>
  <a id="share" class="stay" href="https://twitter.com/intent/tweet?url=https%3A%2F%2Fsite">Tweet</a>
</footer>
<script>
  // The site's own router: links under /spa/ render in place; .stay links go nowhere.
  document.addEventListener("click", function (event) {{
    var link = event.target.closest("a");
    if (!link) return;
    event.preventDefault();
    if (link.classList.contains("stay")) return;
    history.pushState({{}}, "", link.getAttribute("href"));
    document.getElementById("content").innerHTML =
      '<h1>About</h1><div style="height:4000px">long</div>';
  }});
</script>
</body></html>
"""


def _page(site: TestSite, deployment: Deployment, token: str) -> None:
    site.pages["/"] = PAGE.format(server=deployment.server.url, token=token)
    site.pages["/spa/"] = site.pages["/"]


def _browse(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("typeof window.privalytics === 'function'")
    page.click("#subscribe")
    page.click("#secret")
    page.click("#about")
    page.wait_for_selector("h1")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function(
        "window.scrollY + innerHeight >= document.documentElement.scrollHeight - 1"
    )
    page.evaluate("new Promise(requestAnimationFrame)")
    page.click("#download")
    page.click("#share")
    page.evaluate("privalytics('share', {target: 'newsletter', props: {via: 'api'}})")
    # Leaving the page sends the deepest scroll depth.
    page.goto("about:blank")


def test_a_visitor_s_browsing_is_stored_exactly(chromium: Browser, deployment: Deployment) -> None:
    with TestSite({}) as site:
        project_id, token = create_project(deployment, site.origin)
        _page(site, deployment, token)
        context = chromium.new_context()
        page = context.new_page()
        try:
            _browse(page, f"{site.origin}/")
            # Beacons outlive the page, not the browser context: wait before closing it.
            events = settled_events(deployment.database, project_id, expected=9)
        finally:
            context.close()

    # Beacons travel concurrently: the server may receive them in any order.
    summary = sorted((e.action, e.path, e.target or "") for e in events)
    assert summary == sorted(
        [
            ("visit", "/", ""),
            ("click", "/", "Subscribe"),
            ("click", "/", f"{site.origin}/spa/about"),
            ("scroll", "/", ""),
            ("visit", "/spa/about", ""),
            ("download", "/spa/about", f"{site.origin}/files/report.pdf"),
            ("share", "/spa/about", "https://twitter.com/intent/tweet"),
            ("share", "/spa/about", "newsletter"),
            ("scroll", "/spa/about", ""),
        ]
    )
    depths = {e.path: e.value for e in events if e.action == "scroll"}
    assert depths["/spa/about"] == 100.0
    assert depths["/"] is not None
    assert 0 < depths["/"] <= 100
    (api_share,) = [e for e in events if e.target == "newsletter"]
    assert api_share.props == {"via": "api"}
    assert all(e.value is None for e in events if e.action != "scroll")
    assert all(e.referrer is None for e in events)
    # Nothing of the visitor beyond the hash: no address, no agent, no query string.
    raw = deployment.database.read_bytes()
    assert b"127.0.0.1\x00" not in raw
    assert b"KHTML, like Gecko" not in raw
    assert b"s3cret" not in raw


def test_the_script_is_loaded_from_the_privalytics_host_with_long_caching(
    chromium: Browser, deployment: Deployment
) -> None:
    with TestSite({}) as site:
        _, token = create_project(deployment, site.origin)
        _page(site, deployment, token)
        page = chromium.new_page()
        try:
            with page.expect_response(f"{deployment.server.url}/tracker.js") as info:
                page.goto(f"{site.origin}/")
            response = info.value
            assert response.status == 200
            assert "max-age=86400" in response.headers["cache-control"]
            assert response.headers["etag"]
        finally:
            page.close()


GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
DNT = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})"


@pytest.mark.parametrize("signal", [GPC, DNT], ids=["gpc", "dnt"])
def test_a_visitor_with_a_privacy_signal_sends_nothing(
    chromium: Browser, deployment: Deployment, signal: str
) -> None:
    with TestSite({}) as site:
        project_id, token = create_project(deployment, site.origin)
        _page(site, deployment, token)
        context = chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
        context.add_init_script(signal)
        page = context.new_page()
        sent: list[str] = []
        page.on("request", lambda request: sent.append(request.url))
        try:
            _browse(page, f"{site.origin}/")
        finally:
            context.close()
        assert not [url for url in sent if "/api/" in url]
        assert stored_events(deployment.database, project_id) == []
        # Control: the same page and steps without the signal are recorded.
        control = chromium.new_context()
        try:
            _browse(control.new_page(), f"{site.origin}/")
            events = settled_events(deployment.database, project_id, expected=9)
        finally:
            control.close()
    assert len(events) == 9


def test_the_host_page_never_sees_an_error_from_the_tracker(
    chromium: Browser, deployment: Deployment
) -> None:
    with TestSite({}) as site:
        _, token = create_project(deployment, site.origin)
        _page(site, deployment, token)
        page = chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            page.goto(f"{site.origin}/")
            page.wait_for_function("typeof window.privalytics === 'function'")
            # Calls a careless site could make, and a click on nothing clickable.
            page.evaluate("privalytics(); privalytics(null, null); privalytics('nope', 5)")
            page.click("main")
            page.evaluate("history.pushState(null, '', '/spa/x')")
        finally:
            page.close()
    assert errors == []


HOSTILE_PAGE = """<!doctype html>
<html><head>
<script>
  // A page (or an extension) that breaks sendBeacon, and a document whose scrollHeight
  // says 10 px: the depth would be thousands of percent.
  navigator.sendBeacon = function () {{ throw new Error("sendBeacon is blocked"); }};
  Object.defineProperty(document.documentElement, "scrollHeight", {{ get: () => 10 }});
</script>
<!-- Included twice (a theme and a plugin); data-downloads with spaces and RegExp syntax. -->
<script defer src="{server}/tracker.js" data-token="{token}"
        data-downloads=" txt , (tar.gz"></script>
<script defer src="{server}/tracker.js" data-token="{token}"></script>
</head><body>
<svg width="200" height="40"><a id="svg" href="/files/chart.txt?key=s3cret">
  <text x="0" y="20">Chart</text></a></svg>
<div id="host"></div>
<p><a id="archive" href="/files/archive.tar.gz">Archive</a></p>
<script>
  document.getElementById("host").attachShadow({{ mode: "open" }}).innerHTML =
    '<a id="inner" href="https://ottawa.media/news?id=1">Ottawa news</a>';
  // Links go nowhere, new tabs included.
  for (const type of ["click", "auxclick"])
    document.addEventListener(type, (event) => event.preventDefault());
</script>
</body></html>
"""


def test_hostile_pages_svg_and_shadow_links_a_throwing_beacon_and_double_inclusion(
    chromium: Browser, deployment: Deployment
) -> None:
    with TestSite({}) as site:
        project_id, token = create_project(deployment, site.origin)
        site.pages["/hostile"] = HOSTILE_PAGE.format(server=deployment.server.url, token=token)
        page = chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            page.goto(f"{site.origin}/hostile")
            page.wait_for_function("typeof window.privalytics === 'function'")
            page.wait_for_load_state("load")
            page.click("#svg text")
            page.click("#inner")  # inside the shadow root
            page.click("#archive", button="middle")  # opened in a new tab: auxclick
            page.click("#archive", button="right")  # a context menu: nothing
            page.evaluate("privalytics(); privalytics(null, null); privalytics('nope', 5)")
            stored_on_device = page.evaluate(
                "[document.cookie, localStorage.length, sessionStorage.length]"
            )
            # SPA navigation: the page left's scroll, then the new view's visit.
            page.evaluate("history.pushState(null, '', '/next')")
        finally:
            page.close()
        stored = settled_events(deployment.database, project_id, expected=6)
    # Closing the page may or may not send the scroll of /next in time.
    events = [e for e in stored if (e.action, e.path) != ("scroll", "/next")]

    assert errors == []
    assert stored_on_device == ["", 0, 0]
    # One copy of the script tracks: each event once, all sent by fetch.
    summary = sorted((e.action, e.path, e.target or "", e.value) for e in events)
    assert summary == sorted(
        [
            ("visit", "/hostile", "", None),
            ("download", "/hostile", f"{site.origin}/files/chart.txt", None),
            ("click", "/hostile", "https://ottawa.media/news", None),  # not WhatsApp's wa.me
            ("download", "/hostile", f"{site.origin}/files/archive.tar.gz", None),
            ("scroll", "/hostile", "", 100.0),
            # privalytics('nope', 5): a custom event named "nope" (without a name: refused).
            ("custom", "/hostile", "", None),
            ("visit", "/next", "", None),
        ]
    )


HASH_PAGE = """<!doctype html>
<html><head>
<script>
  // The browser's Web Share API, as a site would find it (Linux Chromium has none).
  navigator.share = function (data) {{ window.sharedWith = data.url; return Promise.resolve(); }};
</script>
<script defer src="{server}/tracker.js" data-token="{token}" data-hash
        data-downloads="txt,csv"></script>
</head><body>
<a id="settings" href="#/settings">Settings</a>
<a id="notes" href="/files/notes.txt" onclick="event.preventDefault()">Notes</a>
<a id="pdf" href="/files/manual.pdf" onclick="event.preventDefault()">Manual</a>
<button id="share" data-pa-name="Share button"
        onclick="navigator.share({{url: location.href + '?utm=1'}})">Share</button>
</body></html>
"""


def test_hash_routes_custom_downloads_and_navigator_share(
    chromium: Browser, deployment: Deployment
) -> None:
    with TestSite({}) as site:
        project_id, token = create_project(deployment, site.origin)
        site.pages["/app"] = HASH_PAGE.format(server=deployment.server.url, token=token)
        page = chromium.new_page()
        try:
            page.goto(f"{site.origin}/app")
            page.wait_for_function("typeof window.privalytics === 'function'")
            page.click("#settings")
            page.wait_for_function("location.hash === '#/settings'")
            page.click("#notes")
            page.click("#pdf")
            page.click("#share")
            page.wait_for_function("window.sharedWith !== undefined")
            shared_with = page.evaluate("window.sharedWith")
            page.go_back()  # popstate and hashchange: back to /app
            page.wait_for_function("location.hash === ''")
            page.goto("about:blank")
            events = settled_events(deployment.database, project_id, expected=11)
        finally:
            page.close()

    assert shared_with == f"{site.origin}/app#/settings?utm=1"  # the site's call went through
    # Beacons travel concurrently: the server may receive them in any order.
    summary = sorted((e.action, e.path, e.target or "") for e in events)
    assert summary == sorted(
        [
            ("visit", "/app", ""),
            ("click", "/app", f"{site.origin}/app"),
            ("scroll", "/app", ""),
            ("visit", "/settings", ""),
            ("download", "/settings", f"{site.origin}/files/notes.txt"),
            ("click", "/settings", f"{site.origin}/files/manual.pdf"),
            ("click", "/settings", "Share button"),
            ("share", "/settings", f"{site.origin}/app"),
            ("scroll", "/settings", ""),
            ("visit", "/app", ""),
            ("scroll", "/app", ""),
        ]
    )


def test_every_event_carries_the_screens_width(chromium: Browser, deployment: Deployment) -> None:
    """The width the server derives the device class from: the screen's, whatever the
    window's (a phone's 390 CSS pixels here), on every event; the server stores the class,
    never the width."""
    with TestSite({}) as site:
        project_id, token = create_project(deployment, site.origin)
        _page(site, deployment, token)
        context = chromium.new_context(
            viewport={"width": 390, "height": 844}, screen={"width": 390, "height": 844}
        )
        page = context.new_page()
        bodies: list[dict[str, object]] = []
        page.on(
            "request",
            lambda request: (
                bodies.append(json.loads(request.post_data or "{}"))
                if request.url.endswith("/api/v1/events")
                else None
            ),
        )
        try:
            page.goto(f"{site.origin}/")
            page.wait_for_function("typeof window.privalytics === 'function'")
            page.click("#subscribe")
            page.goto("about:blank")
            events = settled_events(deployment.database, project_id, expected=3)
        finally:
            context.close()
    # (The scroll event, sent as the page unloads, is past the page's request events.)
    # Every event goes as a name (a built-in action's, here).
    assert sorted(body["name"] for body in bodies) == ["click", "visit"]
    assert [body["screen_width"] for body in bodies] == [390, 390]
    assert sorted(e.action for e in events) == ["click", "scroll", "visit"]
