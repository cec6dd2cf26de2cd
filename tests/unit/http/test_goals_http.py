"""Goals over HTTP: /api/v1/projects/{id}/goals, its report, and goal as a dimension."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.goals import MAX_GOALS
from privalytics.domain.models import Action, Event
from privalytics.testing import ManualClock
from tests.unit.http.conftest import Api, assert_error, running_api, services_over

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


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


def goals_of(http: Api, project_id: str) -> Any:
    return http.client.get(f"/api/v1/projects/{project_id}/goals", headers=http.admin)


def add(http: Api, project_id: str, **body: Any) -> Any:
    # Goals are listed oldest first: each a second after the one before.
    http.clock.advance(1)
    return http.client.post(f"/api/v1/projects/{project_id}/goals", json=body, headers=http.admin)


def report(http: Api, project_id: str, **params: Any) -> Any:
    response = http.client.get(
        f"/api/v1/projects/{project_id}/goals/report", params=params, headers=http.admin
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def site(http: Api, store: InMemoryEventStore) -> str:
    project_id, _ = http.create_project()
    store.events.extend(
        [
            *(event(project_id, n, 90) for n in range(4)),
            event(project_id, 0, 89, path="/pricing"),
            event(project_id, 1, 89, path="/pricing"),
            event(project_id, 1, 88, path="/pricing"),
            event(
                project_id, 0, 87, action=Action.CUSTOM, name="Signup", value=10.0, currency="EUR"
            ),
            event(
                project_id, 2, 87, action=Action.CUSTOM, name="Signup", value=5.5, currency="EUR"
            ),
            event(project_id, 2, 86, action=Action.CUSTOM, name="Signup"),
            event(project_id, 3, 86, path="/blog/a", action=Action.SCROLL, value=80.0),
            event(project_id, 3, 85, path="/blog/a", action=Action.SCROLL, value=20.0),
        ]
    )
    return project_id


def test_goals_are_added_listed_and_removed(http: Api, site: str) -> None:
    page = add(http, site, page="/pricing")
    assert page.status_code == 201, page.text
    assert page.json()["name"] == "Visit /pricing"
    assert page.json()["kind"] == "page"
    event_goal = add(http, site, event="Signup", name="Sign-ups").json()
    scroll = add(http, site, page="/blog/**", depth=75).json()
    assert scroll["name"] == "Scroll 75% on /blog/**"
    assert scroll["depth"] == 75
    listed = goals_of(http, site).json()["goals"]
    assert [g["name"] for g in listed] == ["Visit /pricing", "Sign-ups", "Scroll 75% on /blog/**"]
    removed = http.client.delete(
        f"/api/v1/projects/{site}/goals/{event_goal['id']}", headers=http.admin
    )
    assert removed.status_code == 204
    assert [g["name"] for g in goals_of(http, site).json()["goals"]] == [
        "Visit /pricing",
        "Scroll 75% on /blog/**",
    ]
    again = http.client.delete(
        f"/api/v1/projects/{site}/goals/{event_goal['id']}", headers=http.admin
    )
    assert_error(again, 404, "not_found")


def test_the_report_counts_conversions_rates_and_revenue(http: Api, site: str) -> None:
    add(http, site, page="/pricing")
    add(http, site, event="Signup")
    add(http, site, page="/blog/**", depth=75)
    body = report(http, site, period="24h")
    assert body["visitors"] == 4
    assert body["filters"] == []
    figures = {g["goal"]["name"]: g for g in body["goals"]}
    assert figures["Visit /pricing"]["visitors"] == 2
    assert figures["Visit /pricing"]["conversions"] == 3
    assert figures["Visit /pricing"]["conversion_rate"] == 50.0
    assert figures["Visit /pricing"]["revenue"] == []
    assert figures["Signup"]["visitors"] == 2
    assert figures["Signup"]["conversions"] == 3
    assert figures["Signup"]["revenue"] == [
        {"currency": "EUR", "total": 15.5, "average": 7.75, "conversions": 2}
    ]
    assert figures["Scroll 75% on /blog/**"]["visitors"] == 1
    assert figures["Scroll 75% on /blog/**"]["conversion_rate"] == 25.0


def test_goal_is_a_dimension_and_a_filter_by_its_name(http: Api, site: str) -> None:
    add(http, site, page="/pricing")
    add(http, site, event="Signup")
    response = http.client.get(
        f"/api/v1/projects/{site}/breakdown/goal", params={"period": "24h"}, headers=http.admin
    )
    assert response.status_code == 200, response.text
    rows = {row["value"]: (row["visitors"], row["events"]) for row in response.json()["results"]}
    assert rows == {"Visit /pricing": (2, 3), "Signup": (2, 3)}
    stats = http.stats(site, period="24h", filter="goal==Signup")
    assert stats["unique_visitors"] == 2
    assert stats["filters"] == ["goal==Signup"]
    both = report(http, site, period="24h", filter="goal==Signup")
    assert both["visitors"] == 2
    signup = next(g for g in both["goals"] if g["goal"]["name"] == "Signup")
    assert signup["conversion_rate"] == 100.0
    pricing = next(g for g in both["goals"] if g["goal"]["name"] == "Visit /pricing")
    # The filter selects Signup's conversions: the other goal's are not selected.
    assert pricing["conversions"] == 0
    nothing = http.stats(site, period="24h", filter="goal==Nothing")
    assert nothing["unique_visitors"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "page"),
        ({"page": "/", "event": "x"}, "page"),
        ({"page": "pricing"}, "page"),
        ({"page": "/", "depth": 0}, "depth"),
        ({"page": "/", "depth": 101}, "depth"),
        ({"event": "x" * 121}, "event"),
        ({"page": "/", "name": ""}, "name"),
    ],
)
def test_a_malformed_goal_is_a_400_naming_the_field(
    http: Api, site: str, body: dict[str, Any], field: str
) -> None:
    answer = assert_error(add(http, site, **body), 400, "invalid_input")
    assert answer["field"] == field


def test_unknown_fields_and_wrong_types_are_400(http: Api, site: str) -> None:
    assert_error(add(http, site, page="/", colour="red"), 400)
    assert_error(add(http, site, page="/", depth="high"), 400)


def test_a_name_is_unique_in_its_project(http: Api, site: str) -> None:
    assert add(http, site, page="/pricing").status_code == 201
    answer = assert_error(add(http, site, page="/pricing"), 400, "invalid_input")
    assert "already" in answer["message"]
    other, _ = http.create_project("other")
    assert add(http, other, page="/pricing").status_code == 201


def test_a_project_has_at_most_so_many_goals(http: Api, site: str) -> None:
    for n in range(MAX_GOALS):
        assert add(http, site, page=f"/p{n}").status_code == 201
    answer = assert_error(add(http, site, page="/one-more"), 400, "invalid_input")
    assert f"at most {MAX_GOALS} goals" in answer["message"]


def test_unknown_projects_and_ids_are_404(http: Api, site: str) -> None:
    assert_error(goals_of(http, "0" * 16), 404, "not_found")
    assert_error(add(http, "0" * 16, page="/"), 404, "not_found")
    bad = http.client.delete(f"/api/v1/projects/{site}/goals/nothex", headers=http.admin)
    assert_error(bad, 404, "not_found")
    response = http.client.get(f"/api/v1/projects/{'0' * 16}/goals/report", headers=http.admin)
    assert_error(response, 404, "not_found")
    assert_error(http.client.get(f"/api/v1/projects/{site}/goals"), 401)


def test_deleting_a_project_deletes_its_goals(http: Api, site: str) -> None:
    add(http, site, page="/")
    store = http.services.goals
    assert store is not None
    assert http.client.delete(f"/api/v1/projects/{site}", headers=http.admin).status_code == 204
    assert_error(goals_of(http, site), 404)
    assert http.client.blocking_portal.call(store._goals.list_goals, site) == []  # type: ignore[attr-defined]
