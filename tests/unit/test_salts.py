"""Expired salts leave storage: whatever the rotation was, and with no event to prompt it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.hashing import salt_key
from privalytics.domain.models import Action, ClientInfo, IncomingEvent
from privalytics.domain.services import IngestSettings, Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
# Weekly windows start on Thursdays (1970-01-01 was one): 2026-01-01 starts one.
WEEK_START = datetime(2026, 1, 1, tzinfo=UTC)
WEDNESDAY = datetime(2026, 1, 7, 15, 0, tzinfo=UTC)
CLIENT = ClientInfo(ip="198.51.100.7", user_agent="Mozilla/5.0 test")


class Site:
    """Processes over one set of stores, each started with its own rotation."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.events = InMemoryEventStore()
        self.tokens = InMemoryTokenStore()
        self.salts = InMemorySaltStore()

    def process(self, rotation: timedelta = DAY) -> Services:
        return build_services(
            **lookups()._asdict(),
            events=self.events,
            tokens=self.tokens,
            salts=self.salts,
            limiter=InMemoryRateLimiter(self.clock),
            hasher=PlaintextSecretHasher(),
            clock=self.clock,
            settings=IngestSettings(salt_rotation=rotation),
        )

    def stored(self) -> list[datetime]:
        return sorted(datetime.fromtimestamp(start, UTC) for start in self.salts.salts)


async def visit(services: Services, token: str) -> None:
    await services.ingestion.record(token, [IncomingEvent(action=Action.VISIT, path="/")], CLIENT)


async def token_of(services: Services) -> str:
    return (await services.admin.create_project("site")).token.token


def test_salts_are_keyed_by_the_start_of_their_window_in_epoch_seconds() -> None:
    assert salt_key(WEDNESDAY, DAY) == int(datetime(2026, 1, 7, tzinfo=UTC).timestamp())
    assert salt_key(WEDNESDAY, WEEK) == int(WEEK_START.timestamp())


async def test_changing_the_rotation_from_a_day_to_a_week_leaves_no_daily_salt() -> None:
    """Today's daily salt started after this week's window did: still removed."""
    clock = ManualClock(WEDNESDAY)
    site = Site(clock)
    daily = site.process(DAY)
    token = await token_of(daily)
    await visit(daily, token)
    assert site.stored() == [datetime(2026, 1, 7, tzinfo=UTC)]

    weekly = site.process(WEEK)
    assert await weekly.purge_expired_salts() == 1
    assert site.stored() == []
    await visit(weekly, token)
    assert site.stored() == [WEEK_START]


async def test_changing_the_rotation_from_a_week_to_a_day_leaves_no_weekly_salt() -> None:
    clock = ManualClock(WEDNESDAY)
    site = Site(clock)
    weekly = site.process(WEEK)
    token = await token_of(weekly)
    await visit(weekly, token)
    assert site.stored() == [WEEK_START]

    daily = site.process(DAY)
    await visit(daily, token)
    assert site.stored() == [datetime(2026, 1, 7, tzinfo=UTC)]


async def test_a_quiet_day_then_the_purge_removes_yesterdays_salt(clock: ManualClock) -> None:
    site = Site(clock)
    services = site.process()
    await visit(services, await token_of(services))
    assert len(site.stored()) == 1
    clock.advance(days=1)
    assert await services.purge_expired_salts() == 1
    assert site.stored() == []
    assert await services.purge_expired_salts() == 0


async def test_a_server_started_after_midnight_removes_yesterdays_salt_at_once(
    clock: ManualClock,
) -> None:
    site = Site(clock)
    before = site.process()
    await visit(before, await token_of(before))
    clock.advance(days=1, hours=3)
    after = site.process()
    assert await after.purge_expired_salts() == 1
    assert site.stored() == []


async def test_the_purge_forgets_the_processs_own_copy_of_an_expired_salt(
    clock: ManualClock,
) -> None:
    site = Site(clock)
    services = site.process()
    token = await token_of(services)
    await visit(services, token)
    yesterday = next(iter(site.salts.salts.values()))
    clock.advance(days=1)
    await services.purge_expired_salts()
    await visit(services, token)
    assert list(site.salts.salts.values()) != [yesterday]


async def test_the_purge_keeps_the_current_salt_and_a_later_one_of_the_same_rotation(
    clock: ManualClock,
) -> None:
    """A process whose clock runs ahead may already hash with tomorrow's salt."""
    site = Site(clock)
    services = site.process()
    token = await token_of(services)
    await visit(services, token)
    today = dict(site.salts.salts)
    tomorrow = salt_key(clock.now() + DAY, DAY)
    site.salts.salts[tomorrow] = b"ahead"
    assert await services.purge_expired_salts() == 0
    assert site.salts.salts == {**today, tomorrow: b"ahead"}


async def test_salts_stored_under_window_numbers_by_older_versions_are_purged(
    clock: ManualClock,
) -> None:
    site = Site(clock)
    site.salts.salts[20_454] = b"a window number, not a start"
    assert await site.process().purge_expired_salts() == 1
    assert site.stored() == []


async def test_processes_racing_into_a_new_window_share_one_salt(clock: ManualClock) -> None:
    site = Site(clock)
    processes = [site.process() for _ in range(4)]
    token = await token_of(processes[0])
    clock.advance(days=1)
    await asyncio.gather(
        *(visit(services, token) for services in processes for _ in range(5)),
        *(services.purge_expired_salts() for services in processes),
    )
    assert len(site.salts.salts) == 1
    assert len({event.visitor_hash for event in site.events.events}) == 1


async def test_the_purge_gives_a_store_that_lost_its_salts_the_current_one_back(
    clock: ManualClock,
) -> None:
    """PostgreSQL empties the (unlogged) salts table when it recovers from a crash: a
    process started afterwards must hash with the salt the running ones still hold."""
    site = Site(clock)
    running = site.process()
    token = await token_of(running)
    await visit(running, token)
    current = dict(site.salts.salts)
    site.salts.salts.clear()

    assert await running.purge_expired_salts() == 0
    assert site.salts.salts == current
    started_later = site.process()
    await visit(started_later, token)
    assert site.salts.salts == current
    assert len({event.visitor_hash for event in site.events.events}) == 1


async def test_after_a_lost_salt_the_purge_adopts_the_one_a_newer_process_stored(
    clock: ManualClock,
) -> None:
    site = Site(clock)
    running = site.process()
    token = await token_of(running)
    await visit(running, token)
    site.salts.salts.clear()
    started_later = site.process()
    await visit(started_later, token)
    stored = dict(site.salts.salts)

    await running.purge_expired_salts()
    await visit(running, token)
    assert site.salts.salts == stored
    hashes = [event.visitor_hash for event in site.events.events]
    assert hashes[1] == hashes[2] != hashes[0]
