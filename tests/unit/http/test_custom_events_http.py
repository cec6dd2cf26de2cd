"""Custom events over the HTTP API: ``{"name": ...}`` on the ingestion routes, precise
400s, and the ``event`` and ``prop:KEY`` breakdowns and filters."""

from __future__ import annotations

from typing import Any

from tests.unit.http.conftest import Api, assert_error

SITE = "https://shop.example"


def breakdown(api: Api, project_id: str, dimension: str, **params: Any) -> Any:
    response = api.client.get(
        f"/api/v1/projects/{project_id}/breakdown/{dimension}",
        params={"period": "24h", **params},
        headers=api.admin,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_custom_events_are_counted_by_name_and_property(api: Api) -> None:
    project_id, _ = api.create_project()
    # A server token: the events name their visitors.
    token = api.server_token(project_id)
    ann = {"visitor_ip": "198.51.100.1", "user_agent": "A"}
    bob = {"visitor_ip": "198.51.100.2", "user_agent": "B"}
    batch = [
        {"action": "visit", "path": "/", **ann},
        {"name": "Signup", "path": "/", "props": {"plan": "pro", "seats": 3}, **ann},
        {"action": "visit", "path": "/", **bob},
        {"name": "Signup", "path": "/", "props": {"plan": "free"}, **bob},
        {"name": "Signup", "path": "/", "props": {"plan": "pro"}, **bob},
        {
            "name": "Purchase",
            "path": "/buy",
            "revenue": {"amount": "10.29", "currency": "EUR"},
            **bob,
        },
    ]
    assert api.send({"events": batch}, token, batch=True).status_code == 202
    api.clock.advance(1)
    events = breakdown(api, project_id, "event")
    assert [(r["value"], r["visitors"], r["events"]) for r in events["results"]] == [
        ("Signup", 2, 3),
        ("Purchase", 1, 1),
    ]
    plans = breakdown(api, project_id, "prop:plan", filter="event==Signup")
    assert plans["dimension"] == "prop:plan"
    assert plans["filters"] == ["event==Signup"]
    assert [(r["value"], r["visitors"], r["events"]) for r in plans["results"]] == [
        ("pro", 2, 2),
        ("free", 1, 1),
    ]
    seats = breakdown(api, project_id, "prop:seats")["results"]
    # As many visitors each: the row of more events first.
    assert [(r["value"], r["events"]) for r in seats] == [(None, 3), ("3", 1)]
    # Other dimensions have no events count; custom events are no page views.
    pages = breakdown(api, project_id, "page", filter="prop:plan==free")["results"]
    assert pages == [
        {
            "value": "/",
            "visitors": 1,
            "pageviews": 1,
            "sessions": 1,
            "views_per_session": 1.0,
            "bounce_rate": 0,
            "visit_duration": 0,
        }
    ]
    stats = api.stats(project_id, period="24h")
    assert (stats["pageviews"], stats["bounce_rate"], stats["actions"]["custom"]) == (2, 0, 4)


def test_action_and_name_are_one_or_the_other(api: Api) -> None:
    _, token = api.create_project()
    both = api.send({"action": "click", "name": "Signup", "path": "/"}, token)
    assert assert_error(both, 400, "invalid_input")["field"] == "action"
    neither = api.send(
        {"events": [{"action": "visit", "path": "/"}, {"path": "/"}]}, token, batch=True
    )
    error = assert_error(neither, 400, "invalid_input")
    assert (error["field"], error["index"]) == ("action", 1)
    custom = api.send({"action": "custom", "path": "/"}, token)
    assert assert_error(custom, 400, "invalid_input")["field"] == "name"


def test_refusals_name_the_limit(api: Api) -> None:
    _, token = api.create_project(allowed_origins=[SITE])
    origin = {"Origin": SITE}
    many = api.send(
        {"name": "Signup", "path": "/", "props": {f"k{n}": "v" for n in range(31)}},
        token,
        headers=origin,
    )
    error = assert_error(many, 400, "invalid_input")
    assert (error["field"], error["message"]) == ("props", "props: at most 30 properties (got 31)")
    # The page that sent it may read why (the CORS headers of an accepted answer).
    assert many.headers["access-control-allow-origin"] == SITE
    long_name = api.send({"name": "n" * 121, "path": "/"}, token)
    assert "longer than 120 characters" in assert_error(long_name, 400)["message"]
    nested = api.send({"name": "Signup", "path": "/", "props": {"a": {"b": 1}}}, token)
    assert assert_error(nested, 400, "invalid_input")["field"] == "props"
    money = api.send(
        {"name": "Buy", "path": "/", "revenue": {"amount": 5, "currency": "EURO"}}, token
    )
    assert assert_error(money, 400, "invalid_input")["field"] == "currency"


def test_unknown_dimensions_name_the_property_form(api: Api) -> None:
    project_id, _ = api.create_project()
    response = api.client.get(f"/api/v1/projects/{project_id}/breakdown/colour", headers=api.admin)
    assert "prop:KEY" in assert_error(response, 404, "not_found")["message"]
    bad = api.client.get(
        f"/api/v1/projects/{project_id}/stats",
        params={"filter": "prop:==x"},
        headers=api.admin,
    )
    assert_error(bad, 400, "invalid_input")
