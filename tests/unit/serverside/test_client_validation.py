"""The client refuses what the server would refuse, and never loses a good event because
of a bad neighbour in its batch."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from privalytics.client import (
    AsyncClient,
    Client,
    ClientOptions,
    Counters,
    Delivery,
    checked_event,
)
from privalytics.domain.errors import InvalidInput
from privalytics.domain.validation import MAX_PATH, MAX_PROPS, MAX_USER_AGENT
from privalytics.testing import ManualClock
from tests.unit.http.conftest import Api, running_api

ADDRESS = "203.0.113.5"
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

GOOD: list[tuple[str, str, dict[str, Any]]] = [
    ("visit", "/", {}),
    ("visit", "https://site.example/pricing?plan=pro#top", {"referrer": "mailto:someone"}),
    ("click", "/a", {"target": "Buy", "props": {"plan": "pro"}}),
    ("click", "/a", {"props": {"seats": 3, "yearly": True, "ratio": 0.5}}),
    ("scroll", "/a", {"value": 80}),
    ("scroll", "/a", {"value": 100.0}),
    ("scroll", "/a", {"value": 101}),  # clamped to 100 by the server
    ("download", "/a", {"target": "https://cdn.example/file.pdf?sig=x"}),
    ("visit", "/", {"visitor_ip": "::ffff:198.51.100.7", "user_agent": AGENT}),
    ("visit", "/", {"timestamp": datetime.now(UTC) - timedelta(hours=1)}),
    ("visit", "/?utm_source=mail", {"screen_width": 390}),
    ("visit", "/", {"screen_width": 0}),
]
BAD: list[tuple[str, str, dict[str, Any], str]] = [
    ("scroll", "/a", {}, "value"),
    ("scroll", "/a", {"value": math.nan}, "value"),
    ("click", "/a", {"value": True}, "value"),
    ("scrol", "/a", {}, "action"),
    ("visit", "pricing", {}, "path"),
    ("visit", "/a\nb", {}, "path"),
    ("visit", "/" + "a" * MAX_PATH, {}, "path"),
    ("click", "/a", {"target": "Buy\x00"}, "target"),
    ("click", "/a", {"props": {"plan": [1]}}, "props"),
    ("click", "/a", {"props": {f"k{n}": "v" for n in range(MAX_PROPS + 1)}}, "props"),
    ("visit", "/", {"visitor_ip": "testclient"}, "visitor_ip"),
    ("visit", "/", {"user_agent": "A" * (MAX_USER_AGENT + 1)}, "user_agent"),
    ("visit", "/", {"timestamp": datetime.now(UTC) + timedelta(hours=1)}, "timestamp"),
    ("visit", "/", {"screen_width": -1}, "screen_width"),
    ("visit", "/", {"screen_width": 100_001}, "screen_width"),
    ("visit", "/", {"screen_width": "390"}, "screen_width"),
    ("visit", "/", {"screen_width": 390.5}, "screen_width"),
]


@pytest.fixture
def api() -> Iterator[Api]:
    """The real HTTP app on memory services, its clock at the real time: the client
    stamps its events with the real time."""
    with running_api(ManualClock(datetime.now(UTC))) as running:
        yield running


def server_accepts(api: Api, token: str, event: dict[str, Any]) -> bool:
    response = api.send({"events": [event]}, token, batch=True)
    assert response.status_code in (202, 400), response.text
    return response.status_code == 202


def wire(action: str, path: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The event as the HTTP API reads it, as a client that checks nothing would send it."""
    event: dict[str, Any] = {"action": action, "path": path}
    for name, value in fields.items():
        event[name] = value.isoformat() if isinstance(value, datetime) else value
    return event


def test_the_client_accepts_and_refuses_what_the_server_does(api: Api) -> None:
    # The client is a server-side sender: it holds a server token.
    token = api.server_token(api.create_project()[0])
    for action, path, fields in GOOD:
        assert server_accepts(api, token, wire(action, path, fields)), (action, fields)
        checked_event(action, path, **fields)
    for action, path, fields, field in BAD:
        assert not server_accepts(api, token, wire(action, path, fields)), (action, fields)
        with pytest.raises(InvalidInput) as refused:
            checked_event(action, path, **fields)
        assert refused.value.field == field


def test_the_age_of_a_timestamp_is_left_to_the_server_whose_setting_it_is(api: Api) -> None:
    token = api.server_token(api.create_project()[0])
    old = {"timestamp": datetime.now(UTC) - timedelta(hours=30)}
    checked_event("visit", "/", **old)
    assert not server_accepts(api, token, wire("visit", "/", old))


def test_a_naive_timestamp_is_sent_as_utc_as_the_domain_reads_it() -> None:
    naive = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    event = checked_event("visit", "/", timestamp=naive)
    assert datetime.fromisoformat(event["timestamp"]) == naive.replace(tzinfo=UTC)


class Recorder:
    """A transport that answers 202 and keeps what was posted."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.posted = threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.batches.append(msgspec.json.decode(request.content)["events"])
        self.posted.set()
        return httpx.Response(202, json={"accepted": 1})


@pytest.mark.parametrize(("action", "path", "fields", "field"), BAD)
def test_track_refuses_a_malformed_event_with_a_warning_that_names_only_the_field(
    action: str, path: str, fields: dict[str, Any], field: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    with Client("http://stats.test", "pvt_x", transport=httpx.MockTransport(recorder)) as client:
        caplog.set_level(logging.WARNING, "privalytics.client")
        visitor = {"visitor_ip": ADDRESS, "user_agent": AGENT}
        assert client.track(action, path, **{**visitor, **fields}) is False
        assert client.counters == Counters(dropped=1)
    assert recorder.batches == []
    [record] = [r for r in caplog.records if r.name == "privalytics.client"]
    assert f"{field}: " in record.getMessage()
    assert ADDRESS not in record.getMessage()
    assert AGENT not in record.getMessage()


def test_an_unknown_field_is_refused_by_name() -> None:
    recorder = Recorder()
    with Client("http://stats.test", "pvt_x", transport=httpx.MockTransport(recorder)) as client:
        assert client.track("visit", "/", nonsense=1) is False
    assert recorder.batches == []


async def test_the_async_client_refuses_a_malformed_event_and_sends_its_neighbours() -> None:
    recorder = Recorder()
    transport = httpx.MockTransport(recorder)
    options = ClientOptions(flush_interval=0.01)
    async with AsyncClient("http://stats.test", "pvt_x", options=options, transport=transport) as c:
        tracked = [c.track("visit", "/"), c.track("scroll", "/"), c.track("click", "/")]
        assert await c.flush()
    assert tracked == [True, False, True]
    assert c.counters == Counters(sent=2, dropped=1)
    assert [e["action"] for batch in recorder.batches for e in batch] == ["visit", "click"]


def test_counters_have_a_readable_repr() -> None:
    assert repr(Counters(sent=3, dropped=1)) == "Counters(sent=3, dropped=1, failed=0)"


# ---- what to send after a refusal -------------------------------------------------------


def events(*names: str) -> list[dict[str, Any]]:
    return [{"action": "click", "path": "/", "target": name} for name in names]


def refusal(status: int = 400, **body: Any) -> httpx.Response:
    body = {"error": "invalid_input", "message": "no", **body}
    return httpx.Response(status, content=msgspec.json.encode(body))


def test_a_part_refused_for_one_event_is_sent_again_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery = Delivery(events("a", "b", "c"))
    part = delivery.next_part()
    assert part is not None
    assert delivery.settle(part, refusal(index=1, field="value"), None) == (0, 1)
    assert delivery.next_part() == events("a", "c")
    assert delivery.next_part() is None
    assert "field value" in caplog.text


@pytest.mark.parametrize(
    "answer",
    [
        refusal(),
        refusal(index=3),
        refusal(index=-1),
        httpx.Response(400, content=b"<html>bad request</html>"),
        httpx.Response(400, content=b'{"index": "1"}'),
    ],
    ids=["no index", "index past the end", "negative index", "not json", "index not a number"],
)
def test_a_part_refused_without_naming_an_event_is_sent_one_event_at_a_time(
    answer: httpx.Response,
) -> None:
    delivery = Delivery(events("a", "b", "c"))
    part = delivery.next_part()
    assert part is not None
    assert delivery.settle(part, answer, None) == (0, 0)
    singles = [delivery.next_part() for _ in range(3)]
    assert singles == [events("a"), events("b"), events("c")]
    assert delivery.next_part() is None


@pytest.mark.parametrize(
    "answer",
    [refusal(index=0), refusal(401), refusal(413), httpx.Response(503)],
    ids=["one refused event", "unauthenticated", "too large", "out of retries"],
)
def test_a_single_refused_event_and_any_other_refusal_are_given_up(
    answer: httpx.Response,
) -> None:
    sizes = [1] if answer.status_code == 400 else [1, 2]
    for size in sizes:
        delivery = Delivery(events(*"ab"[:size]))
        part = delivery.next_part()
        assert part is not None
        assert delivery.settle(part, answer, None) == (0, size)
        assert (delivery.next_part(), delivery.unsettled) == (None, 0)


def test_a_refused_field_name_is_logged_only_when_it_is_an_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery = Delivery(events("a", "b"))
    part = delivery.next_part()
    assert part is not None
    delivery.settle(part, refusal(index=0, field=ADDRESS), None)
    assert ADDRESS not in caplog.text
    assert "refused one event (HTTP 400)" in caplog.text
