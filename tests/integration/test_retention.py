"""Raw-event retention on a real SQLite file and the real PostgreSQL (domain/retention.py,
adapters/sqlalchemy/expiry.py): the expired events go, in batches, after their days were
rolled up, and every unfiltered figure of whole days (the stats and the breakdown of every
dimension the rollups hold) is then exactly what it was."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import text

from privalytics.adapters.sqlalchemy import SqlStores, migrate, open_stores
from privalytics.adapters.sqlalchemy.partitions import partitions
from privalytics.domain.dimensions import DIMENSIONS, Scope
from privalytics.domain.models import Action, Event, Project, RateLimit, TimeRange, TokenRecord
from privalytics.domain.reporting import Reporting
from privalytics.domain.retention import Expiry, Retention
from privalytics.testing import ManualClock
from tests.conftest import POSTGRES_URL, require_server

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
DAYS = 20
# UTC midnight 20 days before today: what the retention keeps from.
RAW_FROM = datetime(2026, 11, 15, tzinfo=UTC)
FIRST = datetime(2026, 10, 20, tzinfo=UTC)
PROJECT = "prj_retention0001"

# Whole days only: wholly expired, and across the retention's start.
EXPIRED = TimeRange(start=FIRST, end=RAW_FROM)
ACROSS = TimeRange(start=FIRST + timedelta(days=5), end=NOW.replace(hour=0))
# What the rollups hold (custom events' names too); their properties are read from the
# events.
ROLLED_UP = [d for d in DIMENSIONS.values() if d.scope is not Scope.CUSTOM or d.name == "event"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the test's own (expiry drops PostgreSQL's tables)."""
    if request.param == "sqlite":
        made = f"sqlite+aiosqlite:///{tmp_path / 'retention.db'}"
        await migrate(made)
        yield made
        return
    from tests.integration.conftest import create_database, drop_database, fresh_database_name

    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    name = fresh_database_name()
    made = await create_database(name)
    try:
        await migrate(made)
        yield made
    finally:
        await drop_database(name)


@pytest.fixture
async def stores(url: str) -> AsyncIterator[SqlStores]:
    opened = open_stores(url)
    try:
        await opened.tokens.add_project(
            Project(
                id=PROJECT,
                name="Retention",
                rate_limit=RateLimit(events=1000, period_seconds=60),
                created_at=FIRST - timedelta(days=400),
            ),
            TokenRecord(id="tok_retention", project_id=PROJECT, secret_hash=b"x", created_at=FIRST),
        )
        yield opened
    finally:
        await opened.dispose()


_SOURCES = [
    {"source": "Google", "referrer": "https://www.google.com/"},
    {"source": "news.example", "referrer": "https://news.example/a"},
    {
        "source": "Newsletter",
        "utm_source": "Newsletter",
        "utm_medium": "email",
        "utm_campaign": "dec",
    },
    {
        "utm_source": "ads",
        "utm_medium": "cpc",
        "utm_campaign": "x",
        "utm_term": "t",
        "utm_content": "c",
    },
    {},
]
_PLACES = [
    {"country": "DE", "region": "Berlin", "city": "Berlin"},
    {"country": "FR", "region": "Île-de-France", "city": "Paris"},
    {"country": "US", "region": "Oregon", "city": "Portland"},
    {},
]
_AGENTS = [
    {
        "browser": "Firefox",
        "browser_version": "133",
        "os": "Linux",
        "os_version": None,
        "device": "desktop",
    },
    {
        "browser": "Safari",
        "browser_version": "18",
        "os": "iOS",
        "os_version": "18.1",
        "device": "mobile",
    },
    {
        "browser": "Chrome",
        "browser_version": "131",
        "os": "Windows",
        "os_version": "11",
        "device": "laptop",
    },
]


def _events() -> list[Event]:
    """46 days of visits: sessions of one to four pages, clicks, scrolls, downloads and
    custom events, visitors from a few sources, places and browsers."""
    pick = random.Random(15)
    found = []
    day = FIRST
    while day < NOW.replace(hour=0):
        for visitor in range(pick.randint(3, 9)):
            derived = {
                **pick.choice(_SOURCES),
                **pick.choice(_PLACES),
                **pick.choice(_AGENTS),
            }
            moment = day + timedelta(minutes=pick.randint(0, 23 * 60))
            who = f"{visitor:04x}{day.toordinal():08x}".ljust(16, "0")
            for _page in range(pick.randint(1, 4)):
                moment += timedelta(seconds=pick.randint(5, 400))
                path = pick.choice(["/", "/pricing", "/blog/a", "/blog/b", "/docs"])
                common = dict(project_id=PROJECT, path=path, visitor_hash=who, **derived)
                found.append(Event(action=Action.VISIT, timestamp=moment, **common))
                roll = pick.random()
                later = moment + timedelta(seconds=3)
                if roll < 0.3:
                    found.append(
                        Event(
                            action=Action.CLICK,
                            timestamp=later,
                            target=pick.choice(["https://a.example/", "https://b.example/"]),
                            **common,
                        )
                    )
                elif roll < 0.5:
                    found.append(
                        Event(
                            action=Action.SCROLL,
                            timestamp=later,
                            value=float(pick.randint(0, 100)),
                            **common,
                        )
                    )
                elif roll < 0.6:
                    found.append(
                        Event(
                            action=Action.CUSTOM,
                            timestamp=later,
                            name=pick.choice(["Signup", "Buy"]),
                            props={"plan": pick.choice(["free", "pro"])},
                            **common,
                        )
                    )
                elif roll < 0.65:
                    found.append(
                        Event(
                            action=Action.DOWNLOAD,
                            timestamp=later,
                            target="https://x.example/app.zip",
                            **common,
                        )
                    )
        day += timedelta(days=1)
    return found


def _reporting(stores: SqlStores, clock: ManualClock) -> Reporting:
    return Reporting(
        events=stores.events,
        tokens=stores.tokens,
        clock=clock,
        retention=Retention(DAYS),
    )


async def _figures(reporting: Reporting, span: TimeRange) -> dict[str, object]:
    """The stats and every rolled-up dimension's breakdown of ``span``, unfiltered."""
    found: dict[str, object] = {
        "stats": msgspec.to_builtins(await reporting.stats(PROJECT, span, top=100)),
    }
    for dimension in ROLLED_UP:
        breakdown = await reporting.breakdown(PROJECT, span, dimension.name, limit=100)
        assert not breakdown.partial
        found[dimension.name] = msgspec.to_builtins(breakdown)
    return found


async def _count(stores: SqlStores, where: str = "") -> int:
    async with stores.engine.connect() as connection:
        return int(await connection.scalar(text(f"SELECT count(*) FROM events {where}")) or 0)


async def _stale(stores: SqlStores) -> list[tuple[str, int]]:
    async with stores.engine.connect() as connection:
        rows = await connection.execute(text("SELECT project_id, day FROM rollup_stale"))
        return sorted((str(p), int(d)) for p, d in rows.all())


async def test_expiry_keeps_every_unfiltered_figure_of_whole_days(
    stores: SqlStores, url: str
) -> None:
    clock = ManualClock(NOW)
    events = _events()
    await stores.events.add(events)
    reporting = _reporting(stores, clock)
    old = sum(1 for e in events if e.timestamp < RAW_FROM)
    assert old
    assert old < len(events)

    # Read with every day still stale (from the events), then the expiry's own refresh.
    before = {span: await _figures(reporting, span) for span in (EXPIRED, ACROSS)}
    expiry = Expiry(events=stores.events, clock=clock, retention=Retention(DAYS))
    assert expiry.raw_from() == RAW_FROM
    dry = await expiry.run(dry_run=True)
    assert dry is not None
    assert dry.dry_run
    assert dry.events == old
    assert await _count(stores) == len(events)

    # Two instances at once: the events go once, between them. (The day rollups are
    # computed first: two SQLite refreshes at once may meet a busy database, which the
    # server's loop logs and retries a minute later; here the deletes are what meet.)
    await stores.events.refresh(NOW)
    other = open_stores(url)
    try:
        runs = await asyncio.gather(
            expiry.run(),
            Expiry(events=other.events, clock=clock, retention=Retention(DAYS)).run(),
        )
    finally:
        await other.dispose()
    assert all(run is not None and run.before == RAW_FROM for run in runs)
    assert sum(run.events for run in runs if run is not None) == old

    assert await _count(stores, f"WHERE ts < {int(RAW_FROM.timestamp() * 1000)}") == 0
    assert await _count(stores) == len(events) - old
    # Deleting expired events marks no day stale: only today (not over yet) is.
    today = int(NOW.timestamp()) // 86_400
    assert {day for _, day in await _stale(stores)} <= {today}
    after = {span: await _figures(reporting, span) for span in (EXPIRED, ACROSS)}
    assert after == before

    # Again: nothing left to delete.
    again = await expiry.run()
    assert again is not None
    assert again.events == 0

    # What needs raw events says so: a filtered view and a custom-event property
    # breakdown of a range that starts before the retention's start cover only its kept
    # part; the breakdown by event name is rolled up, whole.
    filtered = await reporting.stats(PROJECT, ACROSS, filters=("browser==Firefox",))
    assert filtered.partial
    assert filtered.raw_from == RAW_FROM
    plans = await reporting.breakdown(PROJECT, ACROSS, "prop:plan")
    assert plans.partial
    kept = TimeRange(start=RAW_FROM, end=ACROSS.end)
    assert not (await reporting.breakdown(PROJECT, kept, "prop:plan")).partial
    assert (await reporting.breakdown(PROJECT, EXPIRED, "prop:plan")).rows == []
    named = await reporting.breakdown(PROJECT, ACROSS, "event")
    assert not named.partial
    assert (await reporting.breakdown(PROJECT, EXPIRED, "event")).rows != []
    if "postgresql" in url:
        # October was wholly before the cutoff: dropped as a table; November stays.
        async with stores.engine.connect() as connection:
            months = set(await partitions(connection))
        assert (2026, 10) not in months
        assert (2026, 11) in months


async def test_a_day_not_rolled_up_keeps_its_events_until_it_is(stores: SqlStores) -> None:
    clock = ManualClock(NOW)
    await stores.events.add(_events())
    await stores.events.refresh(NOW)
    # A late arrival (as an import might store) makes November 10th stale again.
    late = Event(
        action=Action.VISIT,
        project_id=PROJECT,
        path="/late",
        timestamp=datetime(2026, 11, 10, 9, tzinfo=UTC),
        visitor_hash="1a7e000000000000",
    )
    await stores.events.add([late])
    span = TimeRange(start=FIRST, end=RAW_FROM)
    figures = await _figures(_reporting(stores, clock), span)

    # The store alone (no refresh first): up to the stale day only.
    await stores.events.expire(RAW_FROM)
    stale_ms = int(datetime(2026, 11, 10, tzinfo=UTC).timestamp() * 1000)
    assert await _count(stores, f"WHERE ts < {stale_ms}") == 0
    assert await _count(stores, f"WHERE ts >= {stale_ms} AND ts < {stale_ms + 5 * 86_400_000}")
    # The expiry rolls the day up first, then it goes too; the figures never changed.
    await Expiry(events=stores.events, clock=clock, retention=Retention(DAYS)).run()
    assert await _count(stores, f"WHERE ts < {int(RAW_FROM.timestamp() * 1000)}") == 0
    assert await _figures(_reporting(stores, clock), span) == figures


async def test_under_weekly_salts_what_the_rollups_hold_stays_and_the_rest_is_partial(
    url: str,
) -> None:
    """Distinct visitors, top pages (with their visitors) and breakdowns are read from the
    events under salt windows longer than a day (docs/data-lifecycle.md, Retention):
    visits, page views, sessions, bounce rate, duration, actions, referrers, targets and
    scroll depth stay exact, and every answer over expired days says it is partial."""
    week = timedelta(days=7)
    stores = open_stores(url, week)
    try:
        await stores.tokens.add_project(
            Project(
                id=PROJECT,
                name="Weekly",
                rate_limit=RateLimit(events=1000, period_seconds=60),
                created_at=FIRST - timedelta(days=400),
            ),
            TokenRecord(id="tok_weekly", project_id=PROJECT, secret_hash=b"x", created_at=FIRST),
        )
        await stores.events.add(_events())
        clock = ManualClock(NOW)
        retention = Retention(DAYS, week)
        raw_from = retention.raw_from(NOW)
        assert raw_from is not None
        assert raw_from <= RAW_FROM
        reporting = Reporting(
            events=stores.events, tokens=stores.tokens, clock=clock, retention=retention
        )
        span = TimeRange(start=FIRST, end=raw_from)

        async def kept() -> tuple[object, ...]:
            stats = await reporting.stats(PROJECT, span, top=100)
            assert stats.partial
            assert stats.raw_from == raw_from
            return (
                stats.visits,
                stats.pageviews,
                stats.sessions,
                stats.bounce_rate,
                stats.visit_duration,
                stats.actions,
                stats.top_referrers,
                stats.top_targets,
                stats.average_scroll_depth,
            )

        before = await kept()
        expired = await Expiry(events=stores.events, clock=clock, retention=retention).run()
        assert expired is not None
        assert expired.events > 0
        assert await kept() == before
        assert (await reporting.breakdown(PROJECT, span, "browser")).partial
    finally:
        await stores.dispose()
