"""Bots at ingestion: a bot's event is answered as accepted, never stored, and counted in
the project's bot log per UTC day and reason; the log is written by flushes, which keep
their counts on a storage failure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from privalytics.adapters.memory import (
    InMemoryBotLogStore,
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.bots import EMPTY_AGENT, WEBDRIVER, BotLog
from privalytics.domain.errors import NotFound, StorageUnavailable
from privalytics.domain.models import (
    Action,
    BotCount,
    ClientInfo,
    IncomingEvent,
    RateLimit,
    TimeRange,
    TokenKind,
)
from privalytics.domain.services import Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, bot_detector, lookups

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)
VISIT = IncomingEvent(action=Action.VISIT, path="/")


class FailingBotLogStore(InMemoryBotLogStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def add_bot_counts(self, counts: Sequence[BotCount]) -> None:
        if self.down:
            raise StorageUnavailable("the database is away")
        await super().add_bot_counts(counts)


def world(
    clock: ManualClock, store: InMemoryBotLogStore | None = None, *, on: bool = True
) -> tuple[Services, InMemoryEventStore, InMemoryBotLogStore]:
    events = InMemoryEventStore()
    store = store if store is not None else InMemoryBotLogStore()
    services = build_services(
        **lookups()._asdict(),
        events=events,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        bots=bot_detector() if on else None,
        bot_log=store,
    )
    return services, events, store


def client(agent: str) -> ClientInfo:
    return ClientInfo(ip="198.51.100.7", user_agent=agent)


async def new_project(services: Services, rate_limit: RateLimit | None = None) -> tuple[str, str]:
    created = await services.admin.create_project("site", rate_limit=rate_limit)
    return created.project.id, created.token.token


def today(clock: ManualClock) -> TimeRange:
    return TimeRange(start=clock.now() - timedelta(hours=1), end=clock.now())


async def test_a_bot_s_event_is_accepted_not_stored_and_counted_by_reason() -> None:
    clock = ManualClock(NOON)
    services, events, _ = world(clock)
    project_id, token = await new_project(services)
    assert await services.ingestion.record(token, [VISIT], client(GOOGLEBOT)) == 0
    assert await services.ingestion.record(token, [VISIT], client("")) == 0
    assert await services.ingestion.record(token, [VISIT], client("curl/8.5.0")) == 0
    assert await services.ingestion.record(token, [VISIT], client(BROWSER)) == 1
    assert len(events.events) == 1
    report = await services.bot_report(project_id, today(clock))
    assert report.total == 3
    assert {row.name: row.count for row in report.reasons} == {
        "Googlebot": 1,
        EMPTY_AGENT: 1,
        "curl": 1,
    }
    assert {(line.day, line.reason) for line in report.days} == {
        (date(2026, 3, 1), "Googlebot"),
        (date(2026, 3, 1), EMPTY_AGENT),
        (date(2026, 3, 1), "curl"),
    }


async def test_webdriver_makes_a_browser_s_event_a_bot_s() -> None:
    clock = ManualClock(NOON)
    services, events, _ = world(clock)
    project_id, token = await new_project(services)
    driven = IncomingEvent(action=Action.VISIT, path="/", webdriver=True)
    assert await services.ingestion.record(token, [driven], client(BROWSER)) == 0
    assert events.events == []
    report = await services.bot_report(project_id, today(clock))
    assert [(row.name, row.count) for row in report.reasons] == [(WEBDRIVER, 1)]


async def test_in_a_batch_only_the_bots_events_are_turned_away_by_their_own_agent() -> None:
    clock = ManualClock(NOON)
    services, events, _ = world(clock)
    project_id, _ = await new_project(services)
    # A server token: the events name their visitors' agents.
    token = (await services.admin.issue_token(project_id, kind=TokenKind.SERVER)).token
    batch = [
        IncomingEvent(action=Action.VISIT, path="/a", user_agent=BROWSER),
        IncomingEvent(action=Action.VISIT, path="/b", user_agent=GOOGLEBOT),
        IncomingEvent(action=Action.VISIT, path="/c"),  # the request's agent: a browser
        IncomingEvent(action=Action.VISIT, path="/d", user_agent=""),
    ]
    assert await services.ingestion.record(token, batch, client(BROWSER)) == 2
    assert sorted(event.path for event in events.events) == ["/a", "/c"]
    report = await services.bot_report(project_id, today(clock))
    assert {row.name: row.count for row in report.reasons} == {"Googlebot": 1, EMPTY_AGENT: 1}


async def test_bots_do_not_spend_the_projects_rate_limit() -> None:
    clock = ManualClock(NOON)
    services, events, _ = world(clock)
    _, token = await new_project(services, RateLimit(events=2, period_seconds=3600))
    for _ in range(10):
        assert await services.ingestion.record(token, [VISIT], client(GOOGLEBOT)) == 0
    assert await services.ingestion.record(token, [VISIT, VISIT], client(BROWSER)) == 2
    assert len(events.events) == 2


async def test_with_the_filter_off_every_event_is_stored() -> None:
    clock = ManualClock(NOON)
    services, events, _ = world(clock, on=False)
    project_id, token = await new_project(services)
    driven = IncomingEvent(action=Action.VISIT, path="/", webdriver=True)
    assert await services.ingestion.record(token, [driven], client(GOOGLEBOT)) == 1
    assert await services.ingestion.record(token, [VISIT], client("")) == 1
    assert len(events.events) == 2
    report = await services.bot_report(project_id, today(clock))
    assert report.total == 0


async def test_counts_reach_the_store_on_flush_and_reports_read_both() -> None:
    clock = ManualClock(NOON)
    services, _, store = world(clock)
    project_id, token = await new_project(services)
    for _ in range(3):
        await services.ingestion.record(token, [VISIT], client(GOOGLEBOT))
    assert await store.bot_counts(project_id, date(2026, 3, 1), date(2026, 3, 1)) == []
    assert await services.flush_bot_log() == 3
    assert await services.flush_bot_log() == 0
    await services.ingestion.record(token, [VISIT], client(GOOGLEBOT))
    stored = await store.bot_counts(project_id, date(2026, 3, 1), date(2026, 3, 1))
    assert [(line.reason, line.count) for line in stored] == [("Googlebot", 3)]
    report = await services.bot_report(project_id, today(clock))
    assert report.total == 4
    await services.aclose()
    stored = await store.bot_counts(project_id, date(2026, 3, 1), date(2026, 3, 1))
    assert [(line.reason, line.count) for line in stored] == [("Googlebot", 4)]


async def test_a_failed_flush_keeps_its_counts_for_the_next_one() -> None:
    clock = ManualClock(NOON)
    store = FailingBotLogStore()
    services, _, _ = world(clock, store)
    project_id, token = await new_project(services)
    await services.ingestion.record(token, [VISIT], client(GOOGLEBOT))
    with pytest.raises(StorageUnavailable):
        await services.flush_bot_log()
    await services.ingestion.record(token, [VISIT], client(GOOGLEBOT))
    report = await services.bot_report(project_id, today(clock))
    assert report.total == 2
    store.down = False
    assert await services.flush_bot_log() == 2
    stored = await store.bot_counts(project_id, date(2026, 3, 1), date(2026, 3, 1))
    assert [(line.reason, line.count) for line in stored] == [("Googlebot", 2)]


async def test_a_report_covers_the_utc_days_its_range_touches() -> None:
    log = BotLog(InMemoryBotLogStore())
    for day in (1, 2, 3, 4):
        log.note("p", date(2026, 3, day), "Googlebot", count=day)
    log.note("other", date(2026, 3, 2), "Googlebot", count=100)
    await log.flush()
    log.note("p", date(2026, 3, 3), "curl")
    span = TimeRange(
        start=datetime(2026, 3, 2, 23, tzinfo=UTC), end=datetime(2026, 3, 4, tzinfo=UTC)
    )
    report = await log.report("p", span)
    assert (report.first_day, report.last_day) == (date(2026, 3, 2), date(2026, 3, 3))
    assert report.total == 2 + 3 + 1
    assert [(row.name, row.count) for row in report.reasons] == [("Googlebot", 5), ("curl", 1)]
    assert [(line.day.day, line.reason, line.count) for line in report.days] == [
        (2, "Googlebot", 2),
        (3, "Googlebot", 3),
        (3, "curl", 1),
    ]


async def test_an_unknown_project_has_no_bot_log() -> None:
    services, _, _ = world(ManualClock(NOON))
    with pytest.raises(NotFound):
        await services.bot_report("nope", TimeRange(start=NOON - timedelta(days=1), end=NOON))


async def test_deleting_a_project_deletes_its_bot_log() -> None:
    clock = ManualClock(NOON)
    services, _, store = world(clock)
    project_id, token = await new_project(services)
    await services.ingestion.record(token, [VISIT], client(GOOGLEBOT))
    await services.flush_bot_log()
    await services.ingestion.record(token, [VISIT], client("curl/8"))
    await services.admin.delete_project(project_id)
    await services.flush_bot_log()
    assert await store.bot_counts(project_id, date(2000, 1, 1), date(2100, 1, 1)) == []
