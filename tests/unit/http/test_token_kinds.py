"""Browser tokens are public: their events may not name a visitor (visitor_ip,
user_agent), answered 403 with nothing stored; server tokens may. Browser tokens keep
working as before without those fields."""

from __future__ import annotations

import pytest

from privalytics.adapters.memory import InMemoryEventStore
from tests.unit.http.conftest import Api, assert_error

VISIT = {"action": "visit", "path": "/"}


def stored(api: Api) -> int:
    store: InMemoryEventStore = api.services.ingestion._events  # type: ignore[attr-defined]
    return len(store.events)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"visitor_ip": "203.0.113.9"}, "visitor_ip"),
        ({"user_agent": "Forged/1.0"}, "user_agent"),
        ({"visitor_ip": "203.0.113.9", "user_agent": "Forged/1.0"}, "visitor_ip"),
    ],
)
def test_a_browser_token_may_not_name_the_visitor(
    api: Api, project: tuple[str, str], override: dict[str, str], field: str
) -> None:
    _, token = project
    body = assert_error(api.send({**VISIT, **override}, token), 403, "server_token_required")
    assert body["field"] == field
    assert "server token" in body["message"]
    assert "203.0.113.9" not in body["message"]
    batch = {"events": [VISIT, {**VISIT, **override}]}
    body = assert_error(api.send(batch, token, batch=True), 403, "server_token_required")
    assert (body["field"], body["index"]) == (field, 1)
    beacon = {**VISIT, **override, "token": token}
    assert_error(api.send(beacon, content_type="text/plain"), 403, "server_token_required")
    assert stored(api) == 0


def test_a_browser_token_without_overrides_works_as_before(
    api: Api, project: tuple[str, str]
) -> None:
    _, token = project
    assert api.send(VISIT, token).status_code == 202
    assert api.send({"events": [VISIT, VISIT]}, token, batch=True).status_code == 202
    assert stored(api) == 3


def test_a_server_token_names_its_visitors(api: Api, project: tuple[str, str]) -> None:
    project_id, _ = project
    server = api.server_token(project_id)
    for n in range(3):
        event = {**VISIT, "visitor_ip": f"203.0.113.{n}", "user_agent": "Firefox"}
        assert api.send(event, server).status_code == 202
    api.clock.advance(1)
    assert api.stats(project_id)["unique_visitors"] == 3


def test_tokens_are_listed_with_their_kind_and_a_bad_kind_is_refused(
    api: Api, project: tuple[str, str]
) -> None:
    project_id, browser = project
    api.clock.advance(1)
    server = api.server_token(project_id)
    listed = api.client.get(f"/api/v1/projects/{project_id}/tokens", headers=api.admin).json()
    assert [(t["id"], t["kind"]) for t in listed["tokens"]] == [
        (browser.split("_")[1], "browser"),
        (server.split("_")[1], "server"),
    ]
    refused = api.client.post(
        f"/api/v1/projects/{project_id}/tokens", params={"kind": "admin"}, headers=api.admin
    )
    assert refused.status_code == 400


def test_rotating_the_server_token_leaves_the_pages_browser_token_live(
    api: Api, project: tuple[str, str]
) -> None:
    project_id, browser = project
    first = api.server_token(project_id)
    rotated = api.client.post(
        f"/api/v1/projects/{project_id}/tokens",
        params={"kind": "server", "revoke_others": "true"},
        headers=api.admin,
    )
    assert rotated.status_code == 201
    second = rotated.json()["token"]
    assert api.send(VISIT, browser).status_code == 202
    assert_error(api.send(VISIT, first), 401)
    assert api.send({**VISIT, "visitor_ip": "203.0.113.1"}, second).status_code == 202
