"""The live feed publishes only what an open page can receive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from litestar.channels import ChannelsPlugin

from privalytics.adapters.http.dashboard.live import Watchers, channel_of, publisher
from privalytics.domain.models import Action, Event


class RecordingChannels:
    """Stands in for Litestar's ChannelsPlugin: what was published, to which channels."""

    def __init__(self) -> None:
        self.published: list[tuple[bytes, list[str]]] = []

    def publish(self, data: bytes, channels: list[str]) -> None:
        self.published.append((data, channels))


def event(project_id: str) -> Event:
    return Event(
        project_id=project_id,
        action=Action.VISIT,
        path="/",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        visitor_hash="0" * 16,
    )


def channels_of(recorded: RecordingChannels) -> list[str]:
    return [channel for _, names in recorded.published for channel in names]


def test_with_only_this_process_listening_nothing_is_published_for_closed_pages() -> None:
    recorded = RecordingChannels()
    watchers = Watchers(local_only=True)
    publish = publisher(cast("ChannelsPlugin", recorded), watchers)
    publish([event("a"), event("b")])
    assert recorded.published == []
    with watchers.watching("a"):
        publish([event("a"), event("b")])
    assert channels_of(recorded) == [channel_of("a")]
    publish([event("a")])
    assert channels_of(recorded) == [channel_of("a")]


def test_two_pages_of_one_project_count_until_both_close() -> None:
    watchers = Watchers(local_only=True)
    with watchers.watching("a"):
        with watchers.watching("a"):
            assert watchers.any("a")
        assert watchers.any("a")
    assert not watchers.any("a")
    assert watchers.idle()


def test_with_a_shared_backend_everything_is_published() -> None:
    recorded = RecordingChannels()
    publish = publisher(cast("Any", recorded), Watchers(local_only=False))
    publish([event("a"), event("b")])
    assert sorted(channels_of(recorded)) == [channel_of("a"), channel_of("b")]
