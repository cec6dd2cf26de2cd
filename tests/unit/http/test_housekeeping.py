"""The app tidies up without traffic: at start, every few minutes, and stops on shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from litestar.testing import TestClient

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.memory import (
    InMemoryBotLogStore,
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.hashing import salt_key
from privalytics.domain.models import Action, Event
from privalytics.domain.services import IngestSettings, Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, bot_detector, lookups

DAY = timedelta(days=1)


def services_over(
    salts: InMemorySaltStore, clock: ManualClock, events: InMemoryEventStore | None = None
) -> Services:
    return build_services(
        **lookups()._asdict(),
        events=events or InMemoryEventStore(),
        tokens=InMemoryTokenStore(),
        salts=salts,
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_yesterdays_salt_is_deleted_when_the_app_starts(clock: ManualClock) -> None:
    salts = InMemorySaltStore()
    salts.salts[salt_key(clock.now() - DAY, DAY)] = b"yesterday"
    app = create_app(services_over(salts, clock), HttpOptions(housekeeping_interval=3600))
    with TestClient(app):
        assert salts.salts == {}


def test_a_quiet_app_deletes_the_salt_once_its_window_is_over(clock: ManualClock) -> None:
    salts = InMemorySaltStore()
    today = salt_key(clock.now(), DAY)
    salts.salts[today] = b"today"
    app = create_app(services_over(salts, clock), HttpOptions(housekeeping_interval=0.01))
    with TestClient(app):
        time.sleep(0.05)
        assert salts.salts == {today: b"today"}
        clock.advance(days=1)
        wait_until(lambda: salts.salts == {})


class CountingSaltStore(InMemorySaltStore):
    def __init__(self) -> None:
        super().__init__()
        self.purges = 0
        self.down = False

    async def delete_expired(self, current: int, rotation: int) -> int:
        self.purges += 1
        if self.down:
            raise StorageUnavailable("the salt store does not answer")
        return await super().delete_expired(current, rotation)


def test_the_background_task_stops_with_the_app(clock: ManualClock) -> None:
    salts = CountingSaltStore()
    app = create_app(services_over(salts, clock), HttpOptions(housekeeping_interval=0.01))
    with TestClient(app):
        wait_until(lambda: salts.purges >= 3)
    stopped = salts.purges
    time.sleep(0.1)
    assert salts.purges == stopped


def test_an_unavailable_store_is_logged_and_retried_without_stopping_the_app(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    salts = CountingSaltStore()
    salts.down = True
    app = create_app(services_over(salts, clock), HttpOptions(housekeeping_interval=0.01))
    with caplog.at_level(logging.WARNING, "privalytics.http"), TestClient(app) as client:
        wait_until(lambda: salts.purges >= 3)
        assert client.get("/healthz").status_code == 200
    assert "housekeeping skipped: storage unavailable" in caplog.messages


class RefreshCountingEventStore(InMemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.refreshed_at: list[datetime] = []

    async def refresh(self, before: datetime) -> int:
        self.refreshed_at.append(before)
        if len(self.refreshed_at) == 2:
            raise RuntimeError("a bug in one round")
        return 0


def test_rollups_are_refreshed_from_the_start_and_every_round_at_the_clocks_time(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    events = RefreshCountingEventStore()
    app = create_app(
        services_over(InMemorySaltStore(), clock, events), HttpOptions(housekeeping_interval=0.01)
    )
    with caplog.at_level(logging.ERROR, "privalytics.http"), TestClient(app):
        wait_until(lambda: len(events.refreshed_at) >= 4)
    assert set(events.refreshed_at) == {clock.now()}
    # A failing round is logged by its kind only, and the next rounds still run.
    assert "rollup refresh failed: RuntimeError" in caplog.messages


class SlowRefreshEventStore(InMemoryEventStore):
    """A refresh that takes long, as computing a year of stored days after an upgrade."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.started = False

    async def refresh(self, before: datetime) -> int:
        self.started = True
        await self.release.wait()
        return 0


def test_requests_are_served_while_the_first_rollup_refresh_runs(clock: ManualClock) -> None:
    events = SlowRefreshEventStore()
    app = create_app(
        services_over(InMemorySaltStore(), clock, events), HttpOptions(housekeeping_interval=3600)
    )
    with TestClient(app) as client:
        wait_until(lambda: events.started)
        assert client.get("/healthz").status_code == 200


def test_the_bot_log_is_written_every_few_seconds_without_a_shutdown(clock: ManualClock) -> None:
    bots = InMemoryBotLogStore()
    services = build_services(
        **lookups()._asdict(),
        events=InMemoryEventStore(),
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        bots=bot_detector(),
        bot_log=bots,
    )
    app = create_app(services, HttpOptions(housekeeping_interval=3600, bot_log_interval=0.01))
    with TestClient(app) as client:
        created = client.blocking_portal.call(services.admin.create_project, "site")
        response = client.post(
            "/api/v1/events",
            json={"action": "visit", "path": "/"},
            headers={"Authorization": f"Bearer {created.token.token}", "User-Agent": "curl/8"},
        )
        assert response.json() == {"accepted": 0}
        day = clock.now().date()

        def written() -> bool:
            counts = client.blocking_portal.call(bots.bot_counts, created.project.id, day, day)
            return [(line.reason, line.count) for line in counts] == [("curl", 1)]

        wait_until(written)


class ExpiryRecordingEventStore(InMemoryEventStore):
    """Records the order of refreshes and expiries."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def refresh(self, before: datetime) -> int:
        self.calls.append("refresh")
        return 0

    async def expire(self, before: datetime, *, dry_run: bool = False) -> int:
        self.calls.append("expire")
        return await super().expire(before, dry_run=dry_run)


def test_old_events_expire_in_the_background_after_a_refresh_once_a_day(
    clock: ManualClock,
) -> None:
    events = ExpiryRecordingEventStore()
    old = Event(
        project_id="p1",
        action=Action.VISIT,
        path="/",
        timestamp=clock.now() - timedelta(days=40),
        visitor_hash="a" * 16,
    )
    events.events.append(old)
    services = build_services(
        **lookups()._asdict(),
        events=events,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        settings=IngestSettings(event_retention_days=30),
    )
    app = create_app(services, HttpOptions(housekeeping_interval=0.01))
    with TestClient(app):
        wait_until(lambda: events.calls.count("refresh") >= 4)
    assert events.events == []
    # The expiry's own refresh came first; it ran once this day, the loop's refreshes on.
    assert events.calls.count("expire") == 1
    first = events.calls.index("expire")
    assert events.calls[first - 1] == "refresh"
