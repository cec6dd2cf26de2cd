"""GET /api/v1/projects/{id}/breakdown/{dimension} and filter= on stats, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.dimensions import DIMENSIONS
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
        visitor_hash=f"{visitor:032x}",
        **values,
    )


@pytest.fixture
def site(http: Api, store: InMemoryEventStore) -> str:
    project_id, _ = http.create_project()
    berlin = {"country": "DE", "city": "Berlin"}
    store.events.extend(
        [
            *(event(project_id, n, 90, source="Google", **berlin) for n in range(5)),
            event(project_id, 1, 80, path="/pricing", **berlin),
            event(project_id, 1, 79, action=Action.CLICK, target="Buy", **berlin),
            event(project_id, 9, 30, country="DE", city="Smalltown", source="Google"),
            event(project_id, 10, 2, path="/pricing", country="FR"),
        ]
    )
    return project_id


def breakdown(http: Api, project_id: str, dimension: str, **params: Any) -> Any:
    return http.client.get(
        f"/api/v1/projects/{project_id}/breakdown/{dimension}", params=params, headers=http.admin
    )


def test_a_breakdown_ranks_values_by_visitors_with_their_figures(http: Api, site: str) -> None:
    response = breakdown(http, site, "source", period="24h")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dimension"] == "source"
    assert body["filters"] == []
    assert body["results"] == [
        {
            "value": "Google",
            "visitors": 6,
            "pageviews": 7,
            "sessions": 6,
            "views_per_session": 1.17,
            "bounce_rate": 83,
            "visit_duration": 110,
        },
        {
            "value": None,
            "visitors": 1,
            "pageviews": 1,
            "sessions": 1,
            "views_per_session": 1.0,
            "bounce_rate": 100,
            "visit_duration": 0,
        },
    ]


def test_small_cities_are_merged_and_filters_see_them_as_other(http: Api, site: str) -> None:
    cities = breakdown(http, site, "city").json()["results"]
    assert [(row["value"], row["visitors"]) for row in cities] == [("Berlin", 5), ("(other)", 2)]
    # Smalltown's one visitor cannot be singled out by a filter.
    none = breakdown(http, site, "country", filter="city==Smalltown").json()
    assert none["results"] == []
    assert none["filters"] == ["city==Smalltown"]
    other = breakdown(http, site, "country", filter="city==(other)").json()["results"]
    assert [(row["value"], row["visitors"]) for row in other] == [("DE", 1), ("FR", 1)]


def test_filters_repeat_and_all_apply(http: Api, site: str) -> None:
    params = [("filter", "source==Google"), ("filter", "page==/pricing"), ("period", "24h")]
    response = http.client.get(
        f"/api/v1/projects/{site}/breakdown/page", params=params, headers=http.admin
    )
    assert [(r["value"], r["visitors"]) for r in response.json()["results"]] == [("/pricing", 1)]


def test_limit_cuts_the_ranking(http: Api, site: str) -> None:
    rows = breakdown(http, site, "page", limit=1).json()["results"]
    assert [row["value"] for row in rows] == ["/"]


def test_every_dimension_answers(http: Api, site: str) -> None:
    for name in DIMENSIONS:
        assert breakdown(http, site, name).status_code == 200, name


def test_stats_gain_the_session_figures_the_previous_ones_and_current_visitors(
    http: Api, site: str
) -> None:
    stats = http.stats(site)
    assert (stats["visits"], stats["pageviews"], stats["sessions"]) == (8, 8, 7)
    assert stats["views_per_session"] == 1.14
    assert stats["bounce_rate"] == 86
    assert stats["visit_duration"] == 94
    assert stats["current_visitors"] == 1
    assert stats["filters"] == []
    previous = stats["previous"]
    assert (previous["pageviews"], previous["sessions"], previous["bounce_rate"]) == (0, 0, None)


def test_filtered_stats_honour_the_filters_everywhere(http: Api, site: str) -> None:
    stats = http.stats(site, filter="page==/pricing")
    assert (stats["visits"], stats["unique_visitors"], stats["sessions"]) == (2, 2, 2)
    assert stats["actions"] == {
        "visit": 2,
        "click": 0,
        "scroll": 0,
        "download": 0,
        "share": 0,
        "custom": 0,
    }
    assert [page["path"] for page in stats["top_pages"]] == ["/pricing"]
    assert sum(step["visits"] for step in stats["series"]) == 2
    assert sum(hour["visits"] for hour in stats["recent"]) == 2
    assert stats["current_visitors"] == 1
    assert stats["filters"] == ["page==/pricing"]
    google = http.stats(site, filter="source==Google")
    assert google["actions"]["click"] == 1
    assert google["top_targets"]["click"] == [{"name": "Buy", "count": 1}]
    assert google["current_visitors"] == 0


def test_the_route_needs_the_admin_key(http: Api, site: str) -> None:
    response = http.client.get(f"/api/v1/projects/{site}/breakdown/page")
    assert_error(response, 401, "unauthenticated")


def test_an_unknown_project_is_404(http: Api) -> None:
    body = assert_error(breakdown(http, "0123456789abcdef", "page"), 404, "not_found")
    assert body["message"] == "no project '0123456789abcdef'"


def test_the_openapi_schema_documents_the_route(http: Api) -> None:
    schema = http.client.get("/schema/openapi.json").json()
    operation = schema["paths"]["/api/v1/projects/{project_id}/breakdown/{dimension}"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"dimension", "period", "from", "to", "limit", "filter"} <= names
    assert operation["security"] == [{"adminKey": []}]
    stats = schema["paths"]["/api/v1/projects/{project_id}/stats"]["get"]
    assert "filter" in {parameter["name"] for parameter in stats["parameters"]}
