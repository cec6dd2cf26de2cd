"""Retention over HTTP: GET /api/v1/projects/{id}/retention, honest under daily salts and
exact within the salt windows of a longer rotation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event
from privalytics.domain.services import IngestSettings
from privalytics.testing import ManualClock
from tests.unit.http.conftest import Api, assert_error, running_api, services_over

SEVEN = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The first day of a 7-day salt window, and noon of its sixth day.
WINDOW = EPOCH + window_of(datetime(2026, 3, 10, tzinfo=UTC), SEVEN) * SEVEN
NOW = WINDOW + timedelta(days=5, hours=12)


class Http:
    def __init__(self, api: Api, store: InMemoryEventStore) -> None:
        self.api = api
        self.store = store
        self.project_id, _ = api.create_project()

    def seed(self) -> None:
        """Visitor 1 on days 0, 1 and 3 of the window; 2 on day 0; 3 on day 1."""
        visits = [(1, 0), (1, 1), (1, 3), (2, 0), (3, 1)]
        events = [
            Event(
                project_id=self.project_id,
                action=Action.VISIT,
                path="/" if visitor != 3 else "/other",
                timestamp=WINDOW + timedelta(days=day, hours=9),
                visitor_hash=f"{visitor:016x}",
            )
            for visitor, day in visits
        ]
        self.api.client.blocking_portal.call(self.store.add, events)

    def get(self, **params: Any) -> Any:
        return self.api.client.get(
            f"/api/v1/projects/{self.project_id}/retention", params=params, headers=self.api.admin
        )

    def retention(self, **params: Any) -> Any:
        response = self.get(**params)
        assert response.status_code == 200, response.text
        return response.json()


def _http(rotation: timedelta) -> Iterator[Http]:
    clock = ManualClock(NOW)
    store = InMemoryEventStore(rotation)
    services = services_over(store, clock, settings=IngestSettings(salt_rotation=rotation))
    with running_api(clock, services=services) as api:
        yield Http(api, store)


@pytest.fixture
def daily() -> Iterator[Http]:
    yield from _http(timedelta(days=1))


@pytest.fixture
def weekly() -> Iterator[Http]:
    yield from _http(SEVEN)


def _window_span() -> dict[str, str]:
    return {
        "from": WINDOW.isoformat(),
        "to": (WINDOW + timedelta(days=5)).isoformat(),
    }


def test_daily_salts_answer_unavailable_in_plain_words(daily: Http) -> None:
    daily.seed()
    body = daily.retention(**_window_span())
    assert body["available"] is False
    assert body["wau_available"] is False
    assert body["mau_available"] is False
    assert body["salt_rotation_days"] == 1
    assert "PRIVALYTICS_SALT_ROTATION" in body["reason"]
    assert "docs/privacy.md" in body["reason"]
    assert body["setting"] == "PRIVALYTICS_SALT_ROTATION"
    assert body["cohorts"] == []
    # The exact daily figures, and no monthly figure made of them.
    assert [day["dau"] for day in body["days"]] == [2, 2, 0, 1, 0]
    assert all(day["wau"] is None and day["mau"] is None for day in body["days"])
    assert body["active"]["mau"] is None
    assert body["active"]["wau"] is None
    assert body["active"]["stickiness"] is None


def test_weekly_salts_give_cohorts_within_the_window(weekly: Http) -> None:
    weekly.seed()
    body = weekly.retention(**_window_span())
    assert body["available"] is True
    assert body["wau_available"] is True
    assert body["mau_available"] is False
    assert "30d" in body["reason"]
    assert body["range"] == {
        "from": WINDOW.isoformat().replace("+00:00", "Z"),
        "to": (WINDOW + timedelta(days=5)).isoformat().replace("+00:00", "Z"),
    }
    cohorts = body["cohorts"]
    assert [c["visitors"] for c in cohorts] == [2, 1, 0, 0, 0]
    # Day 0's cohort (visitors 1 and 2): visitor 1 back on days 1 and 3; the range ends
    # after day 4 (null from there).
    assert cohorts[0]["returning"] == [1, 0, 1, 0, None, None]
    assert cohorts[1]["returning"] == [0, 0, 0, None, None, None]
    # Not a week of days within the window yet: no WAU.
    assert all(day["wau"] is None for day in body["days"])


def test_a_whole_window_gives_its_wau(weekly: Http) -> None:
    weekly.seed()
    weekly.api.clock.advance(timedelta(days=3).total_seconds())
    body = weekly.retention(**{"from": WINDOW.isoformat(), "to": (WINDOW + SEVEN).isoformat()})
    assert [day["wau"] for day in body["days"]] == [None] * 6 + [3]
    assert body["active"]["wau"] == 3
    assert body["active"]["wau_day"] == (WINDOW + timedelta(days=6)).date().isoformat()
    # Returns are never followed into the next window.
    assert body["cohorts"][6]["returning"] == [None] * 6


def test_filters_choose_the_visitors(weekly: Http) -> None:
    weekly.seed()
    body = weekly.retention(**_window_span(), filter="page==/other")
    assert body["filters"] == ["page==/other"]
    assert [day["dau"] for day in body["days"]] == [0, 1, 0, 0, 0]


def test_default_period_is_thirty_days(weekly: Http) -> None:
    body = weekly.retention()
    assert len(body["days"]) == 31


def test_bad_queries_are_precise_400s_and_unknown_projects_404(weekly: Http) -> None:
    assert_error(weekly.get(period="1y"), 400)
    assert_error(weekly.get(filter="nonsense"), 400)
    assert_error(weekly.get(**{"from": "2026-01-01"}), 400)
    assert_error(weekly.get(**{"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}), 400)
    missing = weekly.api.client.get(
        f"/api/v1/projects/{'0' * 16}/retention", headers=weekly.api.admin
    )
    assert_error(missing, 404)
    unauthenticated = weekly.api.client.get(f"/api/v1/projects/{weekly.project_id}/retention")
    assert_error(unauthenticated, 401)
