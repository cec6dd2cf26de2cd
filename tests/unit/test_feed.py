"""The live feed: stored events reach listeners after they are stored, never before."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, ClientInfo, Event, IncomingEvent, TokenKind
from privalytics.domain.services import Services


async def test_stored_events_are_published_without_address_or_agent(services: Services) -> None:
    created = await services.admin.create_project("Site")
    server = await services.admin.issue_token(created.project.id, kind=TokenKind.SERVER)
    seen: list[Event] = []
    services.feed.attach(seen.extend)
    await services.ingestion.record(
        server.token,
        [IncomingEvent(action=Action.VISIT, path="/a", visitor_ip="192.0.2.7", user_agent="UA/1")],
        ClientInfo(ip="192.0.2.1", user_agent="Agent/2"),
    )
    assert [(e.project_id, e.path) for e in seen] == [(created.project.id, "/a")]
    assert "192.0.2" not in repr(seen)
    assert "UA/1" not in repr(seen)


async def test_a_refused_batch_is_not_published(services: Services) -> None:
    created = await services.admin.create_project("Site")
    seen: list[Event] = []
    services.feed.attach(seen.extend)
    with pytest.raises(InvalidInput):
        await services.ingestion.record(
            created.token.token,
            [IncomingEvent(action=Action.VISIT, path="no-slash")],
            ClientInfo(ip="192.0.2.1"),
        )
    assert seen == []


async def test_a_failing_listener_neither_fails_ingestion_nor_stops_others(
    services: Services,
) -> None:
    created = await services.admin.create_project("Site")

    def broken(_: Sequence[Event]) -> None:
        raise RuntimeError("listener bug")

    seen: list[Event] = []
    services.feed.attach(broken)
    detach = services.feed.attach(seen.extend)
    event = IncomingEvent(action=Action.VISIT, path="/")
    assert await services.ingestion.record(created.token.token, [event], ClientInfo(ip="::1")) == 1
    assert len(seen) == 1
    detach()
    await services.ingestion.record(created.token.token, [event], ClientInfo(ip="::1"))
    assert len(seen) == 1
