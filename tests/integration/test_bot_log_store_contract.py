"""The BotLogStore contract, over memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from privalytics.adapters.memory import InMemoryBotLogStore
from privalytics.adapters.sqlalchemy import open_stores
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import BotCount
from privalytics.domain.ports import BotLogStore
from tests.integration.conftest import ALL_BACKENDS, _migrated_url, assert_discreet

MARCH = [date(2026, 3, day) for day in range(1, 6)]


@pytest.fixture(params=ALL_BACKENDS)
async def bot_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BotLogStore]:
    if request.param == "memory":
        yield InMemoryBotLogStore()
        return
    stores = open_stores(await _migrated_url(request.param, request, tmp_path))
    yield stores.bots
    await stores.dispose()


def line(day: date, reason: str, count: int, project: str = "p1") -> BotCount:
    return BotCount(project_id=project, day=day, reason=reason, count=count)


async def test_counts_add_up_per_project_day_and_reason(bot_log: BotLogStore) -> None:
    await bot_log.add_bot_counts(
        [line(MARCH[0], "Googlebot", 3), line(MARCH[0], "curl", 1), line(MARCH[1], "curl", 2)]
    )
    await bot_log.add_bot_counts([line(MARCH[0], "Googlebot", 4), line(MARCH[0], "x", 1, "p2")])
    assert await bot_log.bot_counts("p1", MARCH[0], MARCH[4]) == [
        line(MARCH[0], "Googlebot", 7),
        line(MARCH[0], "curl", 1),
        line(MARCH[1], "curl", 2),
    ]
    assert await bot_log.bot_counts("p2", MARCH[0], MARCH[0]) == [line(MARCH[0], "x", 1, "p2")]


async def test_a_key_given_twice_in_one_call_is_added_twice(bot_log: BotLogStore) -> None:
    await bot_log.add_bot_counts([line(MARCH[2], "curl", 1), line(MARCH[2], "curl", 5)])
    assert await bot_log.bot_counts("p1", MARCH[2], MARCH[2]) == [line(MARCH[2], "curl", 6)]


async def test_only_the_days_asked_for_are_read_both_ends_included(bot_log: BotLogStore) -> None:
    await bot_log.add_bot_counts([line(day, "Googlebot", i + 1) for i, day in enumerate(MARCH)])
    found = await bot_log.bot_counts("p1", MARCH[1], MARCH[3])
    assert [(found_line.day, found_line.count) for found_line in found] == [
        (MARCH[1], 2),
        (MARCH[2], 3),
        (MARCH[3], 4),
    ]
    assert await bot_log.bot_counts("nobody", MARCH[0], MARCH[4]) == []


async def test_reasons_keep_their_text_and_counts_may_be_large(bot_log: BotLogStore) -> None:
    reasons = ["empty user agent", "Mediapartners (Googlebot)", "Ünïcode bot", "x" * 64]
    await bot_log.add_bot_counts([line(MARCH[0], reason, 2**40) for reason in reasons])
    found = await bot_log.bot_counts("p1", MARCH[0], MARCH[0])
    assert sorted((item.reason, item.count) for item in found) == sorted(
        (reason, 2**40) for reason in reasons
    )


async def test_an_empty_call_stores_nothing(bot_log: BotLogStore) -> None:
    await bot_log.add_bot_counts([])
    assert await bot_log.bot_counts("p1", MARCH[0], MARCH[4]) == []


async def test_deleting_a_project_s_log_leaves_the_others(bot_log: BotLogStore) -> None:
    await bot_log.add_bot_counts(
        [line(MARCH[0], "a", 1), line(MARCH[1], "b", 1), line(MARCH[0], "a", 1, "p2")]
    )
    assert await bot_log.delete_project_bot_counts("p1") == 2
    assert await bot_log.delete_project_bot_counts("p1") == 0
    assert await bot_log.bot_counts("p1", MARCH[0], MARCH[4]) == []
    assert await bot_log.bot_counts("p2", MARCH[0], MARCH[4]) == [line(MARCH[0], "a", 1, "p2")]


async def test_an_unreachable_database_is_storage_unavailable_without_secrets() -> None:
    stores = open_stores("postgresql+asyncpg://privalytics:hunter2secret@127.0.0.1:1/nowhere")
    try:
        for call in (
            stores.bots.add_bot_counts([line(MARCH[0], "a", 1)]),
            stores.bots.bot_counts("p1", MARCH[0], MARCH[0]),
        ):
            with pytest.raises(StorageUnavailable) as caught:
                await call
            assert_discreet(caught.value)
    finally:
        await stores.dispose()
