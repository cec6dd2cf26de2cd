"""Funnels over HTTP: /api/v1/projects/{id}/funnels (list, add, remove) and a funnel's
report, /api/v1/projects/{id}/funnels/{funnel_id}."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.models import Action, Event
from privalytics.testing import ManualClock
from tests.unit.http.conftest import Api, assert_error, running_api, services_over

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PRICING_SIGNUP = [{"page": "/pricing"}, {"event": "Signup"}, {"page": "/welcome/**"}]


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def http(store: InMemoryEventStore) -> Iterator[Api]:
    clock = ManualClock(NOW)
    with running_api(clock, services=services_over(store, clock)) as api:
        yield api


def event(project_id: str, visitor: int, minutes: int, **fields: Any) -> Event:
    values: dict[str, Any] = {"action": Action.VISIT, "path": "/", **fields}
    return Event(
        project_id=project_id,
        timestamp=NOW - timedelta(minutes=minutes),
        visitor_hash=f"{visitor:016x}",
        **values,
    )


def funnels_of(http: Api, project_id: str) -> Any:
    return http.client.get(f"/api/v1/projects/{project_id}/funnels", headers=http.admin)


def add(http: Api, project_id: str, **body: Any) -> Any:
    # Funnels are listed oldest first: each a second after the one before.
    http.clock.advance(1)
    return http.client.post(f"/api/v1/projects/{project_id}/funnels", json=body, headers=http.admin)


def report(http: Api, project_id: str, funnel_id: str, **params: Any) -> Any:
    return http.client.get(
        f"/api/v1/projects/{project_id}/funnels/{funnel_id}", params=params, headers=http.admin
    )


@pytest.fixture
def site(http: Api, store: InMemoryEventStore) -> str:
    project_id, _ = http.create_project()
    signup = {"action": Action.CUSTOM, "name": "Signup"}
    store.events.extend(
        [
            # Four visitors see pricing; 0, 1 and 2 sign up after it, 3 never does.
            *(event(project_id, n, 90, path="/pricing") for n in range(4)),
            *(event(project_id, n, 80, **signup) for n in range(3)),
            # 0 and 1 reach the welcome pages; 2 saw one only before signing up.
            event(project_id, 0, 70, path="/welcome/a"),
            event(project_id, 1, 70, path="/welcome/b/c"),
            event(project_id, 2, 85, path="/welcome/a"),
            # 4 signs up without ever seeing pricing.
            event(project_id, 4, 80, **signup),
        ]
    )
    return project_id


def test_funnels_are_added_listed_and_removed(http: Api, site: str) -> None:
    made = add(http, site, steps=PRICING_SIGNUP)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "/pricing → event:Signup → /welcome/**"
    assert made.json()["steps"] == PRICING_SIGNUP
    named = add(http, site, steps=PRICING_SIGNUP[:2], name="Pricing to signup").json()
    listed = funnels_of(http, site).json()["funnels"]
    assert [f["name"] for f in listed] == [made.json()["name"], "Pricing to signup"]
    removed = http.client.delete(
        f"/api/v1/projects/{site}/funnels/{named['id']}", headers=http.admin
    )
    assert removed.status_code == 204
    assert len(funnels_of(http, site).json()["funnels"]) == 1
    again = http.client.delete(f"/api/v1/projects/{site}/funnels/{named['id']}", headers=http.admin)
    assert_error(again, 404, "not_found")


def test_the_report_counts_each_step_in_order_with_conversion_and_drop_off(
    http: Api, site: str
) -> None:
    funnel = add(http, site, steps=PRICING_SIGNUP).json()
    answer = report(http, site, funnel["id"], period="24h")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["funnel"]["id"] == funnel["id"]
    assert body["filters"] == []
    assert [
        (s["visitors"], s["conversion"], s["dropoff"], s["dropoff_rate"]) for s in body["steps"]
    ] == [(4, 100.0, 0, None), (3, 75.0, 1, 25.0), (2, 50.0, 1, 33.33)]
    assert body["conversion"] == 50.0


def test_the_report_honours_filters_and_ranges(http: Api, site: str) -> None:
    funnel = add(http, site, steps=PRICING_SIGNUP).json()
    # Sessions with a welcome page: visitors 0, 1 and 2.
    body = report(http, site, funnel["id"], period="24h", filter="page==/welcome/**").json()
    assert body["filters"] == ["page==/welcome/**"]
    # Under a page filter only the events on matching pages are selected.
    assert [s["visitors"] for s in body["steps"]] == [0, 0, 0]
    body = report(http, site, funnel["id"], period="24h", filter="event==Signup").json()
    assert body["steps"][0]["visitors"] == 3
    later = (NOW + timedelta(days=2)).isoformat()
    empty = report(http, site, funnel["id"], **{"from": NOW.isoformat(), "to": later}).json()
    assert [s["visitors"] for s in empty["steps"]] == [0, 0, 0]
    assert empty["conversion"] is None
    assert [s["conversion"] for s in empty["steps"]] == [None, None, None]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"steps": [{"page": "/a"}]}, "steps", "2 to 8 steps, not 1"),
        ({"steps": [{"page": "/a"}] * 9}, "steps", "2 to 8 steps, not 9"),
        ({"steps": []}, "steps", "not 0"),
        ({"steps": [{"page": "/a"}, {"page": "pricing"}]}, "steps[1]", "starts with /"),
        ({"steps": [{"page": "/a"}, {}]}, "steps[1]", "give either page"),
        ({"steps": [{"page": "/a", "event": "x"}, {"page": "/"}]}, "steps[0]", "either"),
        ({"steps": [{"event": " "}, {"page": "/"}]}, "steps[0]", "must not be empty"),
        ({"steps": [{"event": "click"}, {"page": "/"}]}, "steps[0]", "built-in action"),
        ({"steps": [{"page": "/a"}, {"page": "/b"}], "name": " "}, "name", "must not be empty"),
    ],
)
def test_a_malformed_funnel_is_a_400_naming_the_field(
    http: Api, site: str, body: dict[str, Any], field: str, words: str
) -> None:
    answer = assert_error(add(http, site, **body), 400, "invalid_input")
    assert answer["field"] == field
    assert words in answer["message"]


def test_unknown_fields_missing_steps_and_wrong_types_are_400(http: Api, site: str) -> None:
    assert_error(add(http, site, steps=PRICING_SIGNUP, colour="red"), 400)
    assert_error(add(http, site, name="x"), 400)
    assert_error(add(http, site, steps="/a,/b"), 400)
    assert_error(add(http, site, steps=[{"page": "/a"}, {"page": "/b", "depth": 3}]), 400)


def test_a_name_is_unique_in_its_project_and_a_project_has_at_most_50(http: Api, site: str) -> None:
    assert add(http, site, steps=PRICING_SIGNUP).status_code == 201
    answer = assert_error(add(http, site, steps=PRICING_SIGNUP), 400, "invalid_input")
    assert "already" in answer["message"]
    for n in range(49):
        assert add(http, site, steps=[{"page": f"/p{n}"}, {"page": "/"}]).status_code == 201
    answer = assert_error(add(http, site, steps=[{"page": "/x"}, {"page": "/"}]), 400)
    assert "at most 50 funnels" in answer["message"]


def test_unknown_projects_funnels_and_ids_are_404(http: Api, site: str) -> None:
    assert_error(funnels_of(http, "0" * 16), 404, "not_found")
    assert_error(add(http, "0" * 16, steps=PRICING_SIGNUP), 404, "not_found")
    assert_error(report(http, site, "0" * 16), 404, "not_found")
    assert_error(report(http, site, "nothex"), 404, "not_found")
    funnel = add(http, site, steps=PRICING_SIGNUP).json()
    assert_error(report(http, "0" * 16, funnel["id"]), 404, "not_found")
    other, _ = http.create_project("other")
    assert_error(report(http, other, funnel["id"]), 404, "not_found")
    assert_error(report(http, site, funnel["id"], period="1y"), 400)
    assert_error(report(http, site, funnel["id"], filter="nonsense"), 400)
    assert_error(http.client.get(f"/api/v1/projects/{site}/funnels"), 401)


def test_deleting_a_project_deletes_its_funnels(http: Api, site: str) -> None:
    add(http, site, steps=PRICING_SIGNUP)
    assert http.client.delete(f"/api/v1/projects/{site}", headers=http.admin).status_code == 204
    assert_error(funnels_of(http, site), 404)
