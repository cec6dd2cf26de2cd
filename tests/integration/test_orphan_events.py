"""Deleting a project leaves no event behind, even when another process still accepts
its token from its cache: two servers over one database, as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from privalytics import bootstrap
from privalytics.config import load_settings
from privalytics.domain.errors import Unauthenticated
from privalytics.domain.models import Action, ClientInfo, IncomingEvent
from privalytics.domain.services import Services
from privalytics.testing import ManualClock

VISIT = IncomingEvent(action=Action.VISIT, path="/")
CLIENT = ClientInfo(ip="198.51.100.7", user_agent="test")


@pytest.fixture
async def two(sql_url: str) -> AsyncIterator[tuple[Services, Services, ManualClock]]:
    clock = ManualClock()
    settings = load_settings({}, database_url=sql_url, bcrypt_rounds=4)
    one, other = bootstrap.build(settings, clock=clock), bootstrap.build(settings, clock=clock)
    try:
        yield one, other, clock
    finally:
        await one.aclose()
        await other.aclose()


async def test_events_accepted_by_another_process_after_a_delete_are_swept(
    two: tuple[Services, Services, ManualClock],
) -> None:
    one, other, clock = two
    doomed = await one.admin.create_project("doomed")
    kept = await one.admin.create_project("kept")
    for created in (doomed, kept):
        assert await other.ingestion.record(created.token.token, [VISIT], CLIENT) == 1

    await one.admin.delete_project(doomed.project.id)
    with pytest.raises(Unauthenticated):
        await one.ingestion.record(doomed.token.token, [VISIT], CLIENT)
    # The other process still trusts its cached token and project: the event is stored.
    assert await other.ingestion.record(doomed.token.token, [VISIT], CLIENT) == 1
    clock.advance(1)  # a range ends before "now"
    span = other.reporting.span(period="24h")
    assert (await other.reporting.stats(kept.project.id, span)).visits == 1

    # The periodic housekeeping of either process removes what landed after the delete.
    await other.housekeeping()
    # Sweeping again finds nothing; the live project keeps its events.
    assert await one.admin.sweep_orphan_events() == 0
    assert (await one.reporting.stats(kept.project.id, span)).visits == 1
    assert await one.admin.list_projects() == [kept.project]


async def test_the_sweep_counts_the_orphans_it_removes(
    two: tuple[Services, Services, ManualClock],
) -> None:
    one, other, _ = two
    doomed = await one.admin.create_project("doomed")
    await other.ingestion.record(doomed.token.token, [VISIT], CLIENT)
    await one.admin.delete_project(doomed.project.id)
    await other.ingestion.record(doomed.token.token, [VISIT, VISIT], CLIENT)
    assert await one.admin.sweep_orphan_events() == 2
    assert await one.admin.sweep_orphan_events() == 0
