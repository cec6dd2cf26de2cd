"""Retention (active visitors and cohorts) through the real stores, a SQLite file and the
real PostgreSQL, under 7-day and 30-day salts: the same answer as over the in-memory store
for the same events, with and without filters, and the events before the range (in the
first day's salt window) read so that "first seen" is exact."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from privalytics.adapters.memory import InMemoryEventStore, InMemoryTokenStore
from privalytics.adapters.sqlalchemy import open_stores
from privalytics.domain.cohortreport import CohortReporting
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event, Project, RateLimit, TimeRange, TokenRecord
from privalytics.domain.ports import EventStore, TokenStore
from privalytics.testing import ManualClock

PROJECT = "prj_cohorts00001"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
THIRTY = timedelta(days=30)
# The start of a 30-day salt window; 7-day windows start elsewhere in it.
WINDOW = EPOCH + window_of(datetime(2026, 10, 1, tzinfo=UTC), THIRTY) * THIRTY
NOW = WINDOW + timedelta(days=40)


def _events() -> list[Event]:
    chance = random.Random(14)
    pages = ["/", "/pricing", "/blog/a"]
    found = []
    for day in range(40):
        for _ in range(chance.randint(0, 12)):
            visitor = chance.randint(1, 15)
            found.append(
                Event(
                    project_id=PROJECT,
                    action=chance.choice([Action.VISIT, Action.VISIT, Action.CLICK]),
                    path=chance.choice(pages),
                    timestamp=WINDOW
                    + timedelta(
                        days=day, hours=chance.randint(0, 23), minutes=chance.randint(0, 59)
                    ),
                    visitor_hash=f"{visitor:016x}",
                )
            )
    return found


async def _project(tokens: TokenStore) -> None:
    await tokens.add_project(
        Project(
            id=PROJECT,
            name="Cohorts",
            rate_limit=RateLimit(events=1000, period_seconds=60),
            created_at=WINDOW - timedelta(days=1),
        ),
        TokenRecord(id="tok_cohorts", project_id=PROJECT, secret_hash=b"x", created_at=WINDOW),
    )


def _reporting(events: EventStore, tokens: TokenStore, rotation: timedelta) -> CohortReporting:
    return CohortReporting(
        events=events,
        tokens=tokens,
        clock=ManualClock(NOW),
        rotation=rotation,
        min_cell_visitors=1,
    )


@pytest.mark.parametrize("rotation_days", [7, 30])
async def test_sql_stores_answer_as_the_memory_store(sql_url: str, rotation_days: int) -> None:
    rotation = timedelta(days=rotation_days)
    events = _events()
    memory = InMemoryEventStore(rotation)
    memory_tokens = InMemoryTokenStore()
    await _project(memory_tokens)
    await memory.add(events)
    expected = _reporting(memory, memory_tokens, rotation)
    stores = open_stores(sql_url, rotation)
    try:
        await _project(stores.tokens)
        await stores.events.add(events)
        found = _reporting(stores.events, stores.tokens, rotation)
        # Starts within a window and mid-day: the days before it in the window are read.
        spans = [
            TimeRange(start=WINDOW + timedelta(days=3, hours=5), end=WINDOW + timedelta(days=31)),
            TimeRange(start=WINDOW, end=WINDOW + timedelta(days=40)),
        ]
        for span in spans:
            for filters in ((), ("page==/pricing",), ("page!=/",)):
                want = await expected.report(PROJECT, span, filters)
                got = await found.report(PROJECT, span, filters)
                assert msgspec.to_builtins(got) == msgspec.to_builtins(want)
        whole = await found.report(PROJECT, spans[1])
        assert whole.activity.available
        assert any(c.visitors for c in whole.activity.cohorts)
        assert any(r for c in whole.activity.cohorts for r in c.returning if r)
        if rotation_days == 30:
            assert whole.activity.days[29].mau is not None
            assert whole.activity.active.stickiness is not None
    finally:
        await stores.dispose()
