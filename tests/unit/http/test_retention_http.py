"""Raw-event retention over HTTP: the stats and breakdown answers say from when raw events
are kept (``raw_from``) and whether their figures cover only that part (``partial``);
the daily expiry deletes old events once a UTC day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.models import Action, Event
from privalytics.domain.services import IngestSettings
from privalytics.testing import ManualClock, make_services
from tests.unit.http.conftest import Api, running_api, services_over

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
# 30 days before today's UTC midnight.
RAW_FROM = "2025-12-02T00:00:00Z"


@pytest.fixture
def kept(clock: ManualClock) -> Iterator[Api]:
    """The API over services that keep raw events 30 days."""
    clock.set(NOW)
    services = make_services(clock, IngestSettings(event_retention_days=30))
    with running_api(clock, services=services) as running:
        yield running


def _get(api: Api, path: str, **params: Any) -> dict[str, Any]:
    response = api.client.get(f"/api/v1/projects/{path}", params=params, headers=api.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_without_retention_raw_from_is_null_and_nothing_is_partial(api: Api) -> None:
    project_id, _ = api.create_project()
    stats = _get(api, f"{project_id}/stats", **{"from": "2020-01-01T00:00:00Z"})
    assert stats["raw_from"] is None
    assert stats["partial"] is False
    found = _get(api, f"{project_id}/breakdown/event", filter="page==/")
    assert (found["raw_from"], found["partial"]) == (None, False)


def test_unfiltered_whole_days_before_raw_from_are_whole(kept: Api) -> None:
    project_id, _ = kept.create_project()
    whole = {"from": "2025-11-01T00:00:00Z", "to": "2025-12-20T00:00:00Z"}
    stats = _get(kept, f"{project_id}/stats", **whole)
    assert stats["raw_from"] == RAW_FROM
    assert stats["partial"] is False
    found = _get(kept, f"{project_id}/breakdown/page", **whole)
    assert (found["raw_from"], found["partial"]) == (RAW_FROM, False)
    # A range within the kept part: nothing is missing, filters or not.
    recent = _get(kept, f"{project_id}/stats", period="7d", filter="page==/")
    assert (recent["raw_from"], recent["partial"]) == (RAW_FROM, False)


@pytest.mark.parametrize(
    ("route", "params"),
    [
        # Filters read the events.
        ("stats", {"from": "2025-11-01T00:00:00Z", "filter": "page==/"}),
        ("breakdown/page", {"from": "2025-11-01T00:00:00Z", "filter": "page==/"}),
        # Custom events' properties and goals are read from the events (their names are
        # rolled up: see test_a_breakdown_by_event_name_over_whole_days_is_not_partial).
        ("breakdown/prop:plan", {"from": "2025-11-01T00:00:00Z"}),
        # A cut day before raw_from is read from its events.
        ("stats", {"from": "2025-11-01T06:00:00Z"}),
        ("breakdown/country", {"from": "2025-11-01T06:00:00Z"}),
        # A range of up to 48 hours is drawn hour by hour, from the events.
        ("stats", {"from": "2025-11-01T00:00:00Z", "to": "2025-11-02T00:00:00Z"}),
    ],
)
def test_what_needs_expired_events_is_marked_partial(
    kept: Api, route: str, params: dict[str, str]
) -> None:
    project_id, _ = kept.create_project()
    found = _get(kept, f"{project_id}/{route}", **params)
    assert found["raw_from"] == RAW_FROM
    assert found["partial"] is True


def test_a_breakdown_by_event_name_over_whole_days_is_not_partial(kept: Api) -> None:
    """Custom event names are rolled up like pages: their unfiltered breakdown over whole
    days keeps every day, expired or not."""
    project_id, _ = kept.create_project()
    found = _get(kept, f"{project_id}/breakdown/event", **{"from": "2025-11-01T00:00:00Z"})
    assert (found["raw_from"], found["partial"]) == (RAW_FROM, False)


def _event(at: datetime) -> Event:
    return Event(
        project_id="p1", action=Action.VISIT, path="/", timestamp=at, visitor_hash="a" * 16
    )


async def test_the_expiry_runs_once_a_day_and_deletes_what_is_older() -> None:
    clock = ManualClock(NOW)
    events = InMemoryEventStore()
    services = services_over(events, clock, settings=IngestSettings(event_retention_days=30))
    old, new = _event(NOW - timedelta(days=40)), _event(NOW - timedelta(days=3))
    await events.add([old, new])
    dry = await services.expire_now(dry_run=True)
    assert dry is not None
    assert (dry.events, dry.dry_run) == (1, True)
    assert events.events == [old, new]
    done = await services.expire_events()
    assert done is not None
    assert done.events == 1
    assert done.before == datetime(2025, 12, 2, tzinfo=UTC)
    assert events.events == [new]
    # Not again the same day; again the next.
    assert await services.expire_events() is None
    clock.advance(hours=12)
    again = await services.expire_events()
    assert again is not None
    assert again.events == 0


async def test_without_retention_nothing_expires() -> None:
    services = make_services(ManualClock(NOW))
    assert await services.expire_events() is None
    assert await services.expire_now() is None
