"""The library API: a Python application embeds the core over a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from privalytics import (
    Action,
    IncomingEvent,
    InvalidInput,
    NotFound,
    Privalytics,
    RateLimited,
    Unauthenticated,
)


async def test_an_app_records_events_and_reads_stats_through_the_library(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}"
    async with await Privalytics.open(url, bcrypt_rounds=4) as analytics:
        created = await analytics.create_project("App", rate_limit="10/minute")
        token = created.token.token
        visit = IncomingEvent(action=Action.VISIT, path="https://app.example/docs?x=1")
        assert await analytics.record(token, [visit, visit], ip="203.0.113.1", user_agent="A") == 2
        assert await analytics.record(token, [visit], ip="203.0.113.2", user_agent="A") == 1
        with pytest.raises(InvalidInput, match="event 1: value"):
            await analytics.record(
                token, [visit, IncomingEvent(action=Action.SCROLL, path="/")], ip="203.0.113.2"
            )
        forged = token[:-1] + ("1" if token[-1] != "1" else "2")
        with pytest.raises(Unauthenticated):
            await analytics.record(forged, [visit], ip="203.0.113.2")
        with pytest.raises(RateLimited):
            await analytics.record(token, [visit] * 8, ip="203.0.113.3", user_agent="A")
        stats = await analytics.stats(created.project.id, period="24h")
        other = IncomingEvent(action=Action.VISIT, path="/pricing")
        await analytics.record(token, [other], ip="203.0.113.4", user_agent="A")
        pricing = await analytics.stats(created.project.id, filters=["page==/pricing"])
        pages = await analytics.breakdown(created.project.id, "page", period="24h")
        entries = await analytics.breakdown(
            created.project.id, "entry_page", filters=["page!=/docs"], limit=1
        )
        with pytest.raises(NotFound):
            await analytics.breakdown(created.project.id, "colour")
    assert stats.visits == 3
    assert stats.unique_visitors == 2
    assert (stats.sessions, stats.bounce_rate) == (2, 50)
    assert (pricing.visits, pricing.unique_visitors, pricing.filters) == (1, 1, ("page==/pricing",))
    assert [(p.path, p.visits) for p in stats.top_pages] == [("/docs", 3)]
    assert [(r.value, r.figures.visitors, r.figures.reported.pageviews) for r in pages.rows] == [
        ("/docs", 2, 3),
        ("/pricing", 1, 1),
    ]
    assert [(r.value, r.figures.reported.sessions) for r in entries.rows] == [("/pricing", 1)]

    # The data outlives the process: a new instance over the same file reads it.
    async with await Privalytics.open(url) as again:
        assert (await again.stats(created.project.id, period="7d")).visits == 4


async def test_an_app_expires_old_events_through_the_library(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kept.db'}"
    async with await Privalytics.open(url, bcrypt_rounds=4) as forever:
        assert await forever.expire_events() is None
    async with await Privalytics.open(url, bcrypt_rounds=4, event_retention_days=30) as kept:
        dry = await kept.expire_events(dry_run=True)
        assert dry is not None
        assert (dry.events, dry.dry_run) == (0, True)
        done = await kept.expire_events()
        assert done is not None
        assert done.before == dry.before
