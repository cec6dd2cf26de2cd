"""Every way events arrive stores the fields derived from them (source, campaign, browser,
system, device, country), with the real lookups, over HTTP on the memory store; the
address and agent they come from are the visitor hash's, and neither is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from privalytics.domain.models import Action, Event
from tests.unit.http.conftest import PROXY, Api, assert_error, running_api
from tests.unit.tracker.test_compat import stored

SITE = "https://blog.example"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# Public addresses the embedded country table places (RIPE's in the Netherlands, Google's
# resolver in the United States).
DUTCH = "193.0.6.139"
AMERICAN = "8.8.8.8"


@pytest.fixture
def api() -> Iterator[Api]:
    """The app behind a trusted proxy, so that X-Forwarded-For names the visitor."""
    with running_api(peer=PROXY) as running:
        yield running


@pytest.fixture
def site(api: Api) -> tuple[str, str]:
    """A project whose sites are blog.example (and its www.): its id and token."""
    return api.create_project(allowed_origins=[SITE, "https://www.blog.example"])


def visitor(ip: str = DUTCH, agent: str = IPHONE, origin: str | None = SITE) -> dict[str, str]:
    headers = {"X-Forwarded-For": ip, "User-Agent": agent}
    if origin is not None:
        headers["Origin"] = origin
    return headers


def send_plausible(api: Api, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """A pageview of blog.example, as Plausible's script sends it (text/plain JSON)."""
    content = json.dumps({"n": "pageview", "d": "blog.example", **body}).encode()
    return api.client.post(
        "/api/event", content=content, headers={"Content-Type": "text/plain", **headers}
    )


def send_umami(api: Api, payload: dict[str, Any], headers: dict[str, str]) -> Any:
    return api.client.post(
        "/api/send",
        json={"type": "event", "payload": {"website": payload.pop("website"), **payload}},
        headers=headers,
    )


def only(api: Api) -> Event:
    (event,) = stored(api)
    return event


# --- Plausible ---------------------------------------------------------------------------


def test_a_plausible_pageview_from_google_with_a_campaign_on_a_phone(
    api: Api, site: tuple[str, str]
) -> None:
    response = send_plausible(
        api,
        {
            "u": f"{SITE}/pricing?utm_medium=cpc&utm_campaign=spring+sale&utm_term=shoes"
            "&utm_content=banner&secret=1",
            "r": "https://www.google.com/search?q=private+words",
            "w": 390,
        },
        visitor(),
    )
    assert response.status_code == 202, response.text
    event = only(api)
    assert (event.action, event.path) == (Action.VISIT, "/pricing")
    # No utm_source: the referrer names the source; its query is not kept.
    assert (event.source, event.referrer) == ("Google", "https://www.google.com/search")
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == (None, "cpc", "spring sale")
    assert (event.utm_term, event.utm_content) == ("shoes", "banner")
    # From the request's User-Agent and address, neither of which is kept.
    assert (event.browser, event.browser_version, event.os, event.os_version) == (
        "Safari",
        "17",
        "iOS",
        "17.2",
    )
    assert (event.device, event.country) == ("mobile", "NL")
    assert (event.region, event.city) == (None, None)  # the embedded table has countries only


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("utm_source=newsletter&utm_medium=email", "newsletter"),
        ("ref=producthunt", "producthunt"),
        ("source=mastodon&ref=producthunt", "mastodon"),
    ],
)
def test_the_campaigns_source_wins_over_the_referrers(
    api: Api, site: tuple[str, str], query: str, source: str
) -> None:
    body = {"u": f"{SITE}/?{query}", "r": "https://www.google.com/", "w": 1280}
    assert send_plausible(api, body, visitor()).status_code == 202
    event = only(api)
    assert (event.source, event.utm_source, event.referrer) == (
        source,
        source,
        "https://www.google.com/",
    )
    assert event.device == "laptop"


@pytest.mark.parametrize(
    "referrer",
    [f"{SITE}/blog/", "https://www.blog.example/about?x=1", "HTTP://Blog.Example:8443/"],
)
def test_a_referrer_on_the_projects_own_site_is_no_source(
    api: Api, site: tuple[str, str], referrer: str
) -> None:
    assert send_plausible(api, {"u": f"{SITE}/next", "r": referrer}, visitor()).status_code == 202
    event = only(api)
    assert (event.source, event.referrer) == (None, None)
    # Without a width, the class the agent says plainly: an iPhone is a phone.
    assert event.device == "mobile"


@pytest.mark.parametrize("width", [-1, 100_001, 2**40, 10**30])
def test_a_plausible_width_no_screen_has_is_dropped_and_the_view_kept(
    api: Api, site: tuple[str, str], width: int
) -> None:
    response = send_plausible(api, {"u": f"{SITE}/", "w": width}, visitor(agent=FIREFOX))
    assert response.status_code == 202, response.text
    event = only(api)
    assert (event.device, event.path, event.browser) == (None, "/", "Firefox")


@pytest.mark.parametrize(
    ("width", "message"),
    [
        (12.5, "a whole number"),
        ("390", "a whole number"),
        (True, "a whole number"),
    ],
)
def test_a_plausible_width_that_is_not_a_number_is_refused_and_nothing_stored(
    api: Api, site: tuple[str, str], width: object, message: str
) -> None:
    response = send_plausible(api, {"u": f"{SITE}/", "w": width}, visitor())
    body = assert_error(response, 400, "invalid_input")
    assert message in body["message"]
    assert body["field"] in {"w", "screen_width"}
    assert stored(api) == []


# --- Umami -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("screen", "device"),
    [
        ("1920x1080", "desktop"),
        ("768x1024", "tablet"),
        ("390x844", "mobile"),
        ("1366x768", "laptop"),
        # Not WIDTHxHEIGHT: kept, with no device class (Umami's own server keeps it too).
        ("wide", None),
        ("1920", None),
        ("x1080", None),
        ("-390x844", None),
        ("9999999x1", None),
        ("", None),
    ],
)
def test_an_umami_screen_gives_the_device_class(
    api: Api, site: tuple[str, str], screen: str, device: str | None
) -> None:
    project_id, _ = site
    payload = {"website": project_id, "url": f"{SITE}/a?utm_campaign=launch", "screen": screen}
    response = send_umami(api, payload, visitor(ip=AMERICAN, agent=FIREFOX))
    assert response.status_code == 202, response.text
    event = only(api)
    assert (event.device, event.path, event.utm_campaign) == (device, "/a", "launch")
    assert (event.browser, event.os, event.country) == ("Firefox", "Linux", "US")


@pytest.mark.parametrize("screen", [1920, ["1920x1080"], {"w": 1920}])
def test_an_umami_screen_that_is_not_text_is_refused(
    api: Api, site: tuple[str, str], screen: object
) -> None:
    project_id, _ = site
    payload = {"website": project_id, "url": "/", "screen": screen}
    assert_error(send_umami(api, payload, visitor()), 400, "invalid_input")
    assert stored(api) == []


def test_umamis_referrer_for_spa_navigation_is_its_own_page(
    api: Api, site: tuple[str, str]
) -> None:
    project_id, _ = site
    payload = {"website": project_id, "url": f"{SITE}/two", "referrer": f"{SITE}/one"}
    assert send_umami(api, payload, visitor()).status_code == 202
    assert (only(api).source, only(api).referrer) == (None, None)


# --- the HTTP API -----------------------------------------------------------------------


def test_the_apis_screen_width_gives_the_device_class(api: Api, site: tuple[str, str]) -> None:
    _, token = site
    event = {
        "action": "visit",
        "path": "https://blog.example/?utm_source=mail",
        "referrer": "https://news.ycombinator.com/item?id=1",
        "screen_width": 800,
    }
    response = api.send(event, token, headers=visitor(origin=None))
    assert response.status_code == 202, response.text
    stored_event = only(api)
    assert (stored_event.device, stored_event.source, stored_event.referrer) == (
        "tablet",
        "mail",
        "https://news.ycombinator.com/item",
    )


def test_a_server_side_senders_visitor_is_what_is_derived_from(
    api: Api, site: tuple[str, str]
) -> None:
    """The body's visitor_ip and user_agent are hashed and derived from, not the
    request's own (the sender's server), which holds a server token."""
    token = api.server_token(site[0])
    event = {
        "action": "visit",
        "path": "/",
        "referrer": "https://duckduckgo.com/",
        "visitor_ip": AMERICAN,
        "user_agent": FIREFOX,
    }
    assert api.send(event, token, headers=visitor()).status_code == 202
    stored_event = only(api)
    assert (stored_event.browser, stored_event.os, stored_event.country) == (
        "Firefox",
        "Linux",
        "US",
    )
    assert (stored_event.source, stored_event.device) == ("DuckDuckGo", None)


@pytest.mark.parametrize(
    ("width", "message"),
    [
        (-1, "screen_width: must be a whole number of CSS pixels from 0 to 100000"),
        (100_001, "screen_width: must be a whole number of CSS pixels from 0 to 100000"),
        ("800", "`screen_width` must be a whole number or null, not a string"),
        (800.5, "`screen_width` must be a whole number, not a number"),
        (False, "`screen_width` must be a whole number or null, not a boolean"),
    ],
)
def test_a_width_that_is_no_width_is_refused_naming_it(
    api: Api, site: tuple[str, str], width: object, message: str
) -> None:
    _, token = site
    response = api.send({"action": "visit", "path": "/", "screen_width": width}, token)
    body = assert_error(response, 400, "invalid_input")
    assert body["message"].startswith(message)
    assert body["field"] == "screen_width"
    assert stored(api) == []


def test_a_batch_with_one_bad_width_stores_nothing_and_names_it(
    api: Api, site: tuple[str, str]
) -> None:
    _, token = site
    events = [{"action": "visit", "path": "/", "screen_width": w} for w in (390, 0, 123456)]
    body = assert_error(api.send({"events": events}, token, batch=True), 400, "invalid_input")
    assert (body["field"], body["index"]) == ("screen_width", 2)
    assert stored(api) == []


def test_a_width_of_zero_is_accepted_as_not_measured(api: Api, site: tuple[str, str]) -> None:
    _, token = site
    event = {"action": "visit", "path": "/", "screen_width": 0}
    assert api.send(event, token, headers=visitor(agent=FIREFOX)).status_code == 202
    assert api.send(event, token, headers=visitor(agent=IPHONE)).status_code == 202
    # A desktop's agent does not say laptop or desktop: no class; a phone's says phone.
    assert [e.device for e in stored(api)] == [None, "mobile"]


def test_a_width_wins_over_what_the_agent_says(api: Api, site: tuple[str, str]) -> None:
    _, token = site
    event = {"action": "visit", "path": "/", "screen_width": 1024}
    assert api.send(event, token, headers=visitor(agent=IPHONE)).status_code == 202
    assert only(api).device == "laptop"


@pytest.mark.parametrize(
    "page",
    [
        # A campaign value that is no clean text is left out; the event is kept.
        "/?utm_campaign=%00hidden&utm_medium=%ff",
        "/?utm_campaign=" + "x" * 1500,
    ],
)
def test_hostile_campaign_values_are_left_out_or_cut(
    api: Api, site: tuple[str, str], page: str
) -> None:
    _, token = site
    assert api.send({"action": "visit", "path": page}, token).status_code == 202
    event = only(api)
    assert event.utm_medium is None
    assert event.utm_campaign is None or len(event.utm_campaign) == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("path", "/?utm_source=" + "x" * 3000),
        ("referrer", "https://google.com/?" + "q" * 3000),
        ("path", "/?utm_source=a\x00b"),
        ("user_agent", IPHONE * 100),
    ],
)
def test_oversized_or_hostile_fields_are_refused_and_nothing_stored(
    api: Api, site: tuple[str, str], field: str, value: str
) -> None:
    # A server token, which may send every field: each is refused for its own fault.
    token = api.server_token(site[0])
    response = api.send({"action": "visit", "path": "/", field: value}, token)
    assert assert_error(response, 400, "invalid_input")["field"] == field
    assert stored(api) == []


def test_an_oversized_plausible_url_is_refused(api: Api, site: tuple[str, str]) -> None:
    response = send_plausible(api, {"u": f"{SITE}/?utm_source=" + "x" * 3000}, visitor())
    assert assert_error(response, 400, "invalid_input")["field"] == "path"
    assert stored(api) == []


def test_no_stored_event_holds_the_address_or_the_agent(api: Api, site: tuple[str, str]) -> None:
    project_id, token = site
    send_plausible(api, {"u": f"{SITE}/", "r": "https://t.co/x", "w": 390}, visitor())
    send_umami(api, {"website": project_id, "url": "/", "screen": "1x1"}, visitor())
    api.send({"action": "visit", "path": "/"}, token, headers=visitor(origin=None))
    events = stored(api)
    assert len(events) == 3
    for event in events:
        text = repr(event)
        for secret in (DUTCH, IPHONE, "iPhone OS", "AppleWebKit"):
            assert secret not in text


def test_a_stored_event_has_no_place_for_the_width_the_address_or_the_agent() -> None:
    assert {"screen_width", "visitor_ip", "user_agent"}.isdisjoint(Event.__struct_fields__)
