"""Plausible's POST /api/event and Umami's POST /api/send, on the same use case."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.models import Action, Event
from tests.unit.http.conftest import Api, assert_error

SITE = "https://blog.example"


def stored(api: Api) -> list[Event]:
    """What the in-memory event store holds (the stats API has counts, not fields)."""
    store: InMemoryEventStore = api.services.ingestion._events  # type: ignore[attr-defined]
    return list(store.events)


def plausible(api: Api, body: Any, origin: str | None = SITE) -> Any:
    headers = {"Content-Type": "text/plain"}
    if origin is not None:
        headers["Origin"] = origin
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.client.post("/api/event", content=content, headers=headers)


def umami(api: Api, payload: dict[str, Any], kind: str = "event", origin: str = SITE) -> Any:
    return api.client.post(
        "/api/send",
        json={"type": kind, "payload": payload},
        headers={"Origin": origin},
    )


@pytest.fixture
def site(api: Api) -> str:
    project_id, _ = api.create_project(allowed_origins=[SITE, "https://www.blog.example"])
    return project_id


def test_a_plausible_pageview_is_a_visit_of_the_project_listing_the_domain(
    api: Api, site: str
) -> None:
    response = plausible(
        api,
        {"n": "pageview", "u": f"{SITE}/post/1?utm=x#top", "d": "blog.example", "r": None},
    )
    assert response.status_code == 202, response.text
    assert response.text == "ok"
    assert response.headers["access-control-allow-origin"] == SITE
    (event,) = stored(api)
    assert (event.project_id, event.action, event.path) == (site, Action.VISIT, "/post/1")


@pytest.mark.parametrize(
    ("name", "props", "action", "target"),
    [
        (
            "Outbound Link: Click",
            {"url": "https://else.example/x"},
            Action.CLICK,
            "https://else.example/x",
        ),
        ("File Download", {"url": f"{SITE}/a.pdf"}, Action.DOWNLOAD, f"{SITE}/a.pdf"),
        ("share", {"url": "https://x.com/intent/post"}, Action.SHARE, "https://x.com/intent/post"),
    ],
)
def test_plausible_link_events_map_to_actions_with_their_url_as_target(
    api: Api, site: str, name: str, props: dict[str, str], action: Action, target: str
) -> None:
    body = {"n": name, "u": f"{SITE}/", "d": "blog.example", "p": {**props, "plan": "pro"}}
    assert plausible(api, body).status_code == 202
    (event,) = stored(api)
    assert (event.action, event.target, event.props) == (action, target, {"plan": "pro"})


def test_a_plausible_engagement_is_a_scroll_with_its_depth(api: Api, site: str) -> None:
    body = {"n": "engagement", "u": f"{SITE}/long", "d": "blog.example", "sd": 87, "e": 5000}
    assert plausible(api, body).status_code == 202
    (event,) = stored(api)
    assert (event.action, event.path, event.value) == (Action.SCROLL, "/long", 87.0)


@pytest.mark.parametrize(("sent", "kept"), [(140, 100.0), (-5, 0.0)])
def test_scroll_depths_outside_0_to_100_are_clamped_on_plausible_and_umami(
    api: Api, site: str, sent: int, kept: float
) -> None:
    """The domain's one rule, as on /api/v1/events: Plausible's script measures past a page
    that shrank, and its server clamps; Umami's route follows the same rule."""
    body = {"n": "engagement", "u": f"{SITE}/long", "d": "blog.example", "sd": sent}
    assert plausible(api, body).status_code == 202
    for name, key in (("scroll", "depth"), ("engagement", "value")):
        data = {key: sent}
        response = umami(api, {"website": site, "url": "/long", "name": name, "data": data})
        assert response.status_code == 202, response.text
    assert [(event.action, event.value) for event in stored(api)] == [(Action.SCROLL, kept)] * 3


def test_plausible_props_as_a_json_string_and_hash_routing(api: Api, site: str) -> None:
    body = {
        "n": "pageview",
        "u": f"{SITE}/app#/settings",
        "d": "www.blog.example",
        "h": 1,
        "p": json.dumps({"logged_in": True, "n": 3}),
    }
    assert plausible(api, body).status_code == 202
    (event,) = stored(api)
    assert event.path == "/settings"
    assert event.props == {"logged_in": "true", "n": "3"}


def test_plausible_refuses_what_it_cannot_map_with_a_precise_4xx(api: Api, site: str) -> None:
    revenue = {"n": "Buy", "u": f"{SITE}/", "d": "blog.example", "$": {"amount": "x"}}
    assert_error(plausible(api, revenue), 400, "invalid_input")
    bad_currency = {**revenue, "$": {"amount": 5, "currency": "ABC"}}
    assert assert_error(plausible(api, bad_currency), 400, "invalid_input")["field"] == "currency"
    unknown = plausible(api, {"n": "pageview", "u": f"{SITE}/", "d": "nobody.example"})
    assert_error(unknown, 404, "not_found")
    missing = plausible(api, {"n": "pageview", "u": f"{SITE}/"})
    assert assert_error(missing, 400, "invalid_input")["field"] == "d"
    assert_error(plausible(api, b"{not json"), 400, "invalid_json")
    bad_props = plausible(api, {"n": "pageview", "u": f"{SITE}/", "d": "blog.example", "p": "[1"})
    assert assert_error(bad_props, 400, "invalid_input")["field"] == "p"
    other_origin = plausible(
        api, {"n": "pageview", "u": f"{SITE}/", "d": "blog.example"}, "https://evil.example"
    )
    assert_error(other_origin, 403, "origin_not_allowed")
    assert stored(api) == []


def test_a_project_without_origins_is_not_a_plausible_or_umami_site(api: Api) -> None:
    project_id, _ = api.create_project(name="backend only")
    response = umami(api, {"website": project_id, "url": "/"})
    assert_error(response, 404, "not_found")
    assert stored(api) == []


def test_an_umami_pageview_and_event(api: Api, site: str) -> None:
    page = umami(
        api,
        {
            "website": site,
            "hostname": "blog.example",
            "screen": "1920x1080",
            "language": "en",
            "title": "Hello",
            "url": "/post/2?ref=x",
            "referrer": "https://news.example/item?id=1",
        },
    )
    assert page.status_code == 202, page.text
    assert page.json() == {"accepted": 1}
    assert page.headers["access-control-allow-origin"] == SITE
    click = umami(
        api, {"website": site, "url": "/post/2", "name": "click", "data": {"target": "Buy"}}
    )
    assert click.status_code == 202
    visit, clicked = stored(api)
    assert (visit.action, visit.path, visit.referrer) == (
        Action.VISIT,
        "/post/2",
        "https://news.example/item",
    )
    assert (clicked.action, clicked.target) == (Action.CLICK, "Buy")


def test_umami_refuses_malformed_bodies(api: Api, site: str) -> None:
    kind = umami(api, {"website": site, "url": "/"}, kind="alias")
    assert assert_error(kind, 400, "invalid_input")["field"] == "type"
    deep = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    nested = umami(api, {"website": site, "url": "/", "name": "signup", "data": deep})
    assert assert_error(nested, 400, "invalid_input")["field"] == "data"
    assert_error(umami(api, {"website": "nope", "url": "/"}), 404, "not_found")
    response = api.client.post("/api/send", content=msgspec.json.encode({"payload": {}}))
    assert_error(response, 400, "invalid_input")
    assert stored(api) == []


def test_umami_identify_is_answered_and_stores_nothing(api: Api, site: str) -> None:
    response = umami(api, {"website": site, "data": {"email": "someone@example.com"}}, "identify")
    assert (response.status_code, response.json()) == (202, {"accepted": 0})
    assert stored(api) == []


def test_custom_events_from_plausible_with_props_and_revenue(api: Api, site: str) -> None:
    body = {
        "n": "Purchase",
        "u": f"{SITE}/checkout",
        "d": "blog.example",
        "p": {"plan": "pro", "seats": 3, "url": "https://x.example/"},
        "$": {"amount": "10.29", "currency": "eur"},
    }
    assert plausible(api, body).status_code == 202
    assert plausible(api, {"n": "Signup", "u": f"{SITE}/", "d": "blog.example"}).status_code == 202
    purchase, signup = sorted(stored(api), key=lambda e: e.name or "")
    assert (purchase.action, purchase.name, purchase.path) == (
        Action.CUSTOM,
        "Purchase",
        "/checkout",
    )
    # A custom event's url is a property like any other, not a target.
    assert purchase.props == {"plan": "pro", "seats": "3", "url": "https://x.example/"}
    assert (purchase.value, purchase.currency, purchase.target) == (10.29, "EUR", None)
    assert (signup.name, signup.props, signup.value, signup.currency) == ("Signup", {}, None, None)


def test_custom_events_from_umami_with_nested_data_and_revenue(api: Api, site: str) -> None:
    data = {"plan": "pro", "cart": {"items": 2, "gift": True}, "revenue": 19.5, "currency": "USD"}
    response = umami(api, {"website": site, "url": "/buy", "name": "checkout", "data": data})
    assert response.status_code == 202
    [event] = stored(api)
    assert (event.action, event.name, event.value, event.currency) == (
        Action.CUSTOM,
        "checkout",
        19.5,
        "USD",
    )
    assert event.props == {"plan": "pro", "cart.items": "2", "cart.gift": "true"}


def test_a_refused_compat_event_is_readable_by_its_page(api: Api, site: str) -> None:
    """31 properties: a 400 naming the limit, with the CORS headers a success has."""
    props = {f"k{n}": n for n in range(31)}
    body = {"n": "Signup", "u": f"{SITE}/", "d": "blog.example", "p": props}
    response = plausible(api, body)
    error = assert_error(response, 400, "invalid_input")
    assert "at most 30 properties" in error["message"]
    assert response.headers["access-control-allow-origin"] == SITE
    many = umami(api, {"website": site, "url": "/", "name": "x", "data": props})
    assert "at most 30 properties" in assert_error(many, 400, "invalid_input")["message"]
    assert many.headers["access-control-allow-origin"] == SITE
    assert stored(api) == []


def test_global_privacy_control_on_plausible_and_umami_stores_nothing(api: Api, site: str) -> None:
    # The official scripts send under GPC; the endpoints answer as if accepted and drop it.
    body = json.dumps({"n": "pageview", "u": f"{SITE}/", "d": "blog.example"}).encode()
    gpc = {"Content-Type": "text/plain", "Origin": SITE, "Sec-GPC": "1"}
    response = api.client.post("/api/event", content=body, headers=gpc)
    assert (response.status_code, response.text) == (202, "ok")
    sent = api.client.post(
        "/api/send",
        json={"type": "event", "payload": {"website": site, "url": "/"}},
        headers={"Origin": SITE, "Sec-GPC": "1"},
    )
    assert (sent.status_code, sent.json()) == (202, {"accepted": 1})
    assert stored(api) == []
    # Control: the same requests without the signal (or with Sec-GPC: 0) are stored.
    assert (
        api.client.post("/api/event", content=body, headers={**gpc, "Sec-GPC": "0"}).status_code
        == 202
    )
    assert umami(api, {"website": site, "url": "/"}).status_code == 202
    assert [event.action for event in stored(api)] == [Action.VISIT, Action.VISIT]


def test_plausible_reaches_the_project_listing_the_pages_origin_on_a_shared_host(
    api: Api,
) -> None:
    prod, _ = api.create_project(name="prod", allowed_origins=["https://shared.example"])
    staging, _ = api.create_project(name="staging", allowed_origins=["http://shared.example:8080"])
    for origin in ("http://shared.example:8080", "https://shared.example"):
        body = {"n": "pageview", "u": f"{origin}/", "d": "www.shared.example"}
        assert plausible(api, body, origin).status_code == 202
    assert [event.project_id for event in stored(api)] == [staging, prod]
