"""The client's pure parts: what an event looks like on the wire, when to retry."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from privalytics.client import ClientOptions, make_event, retry_delay
from privalytics.domain.validation import MAX_BATCH

OPTIONS = ClientOptions(backoff=1.0, max_backoff=8.0, max_retries=3)


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


def test_an_event_is_stamped_when_tracked_and_leaves_out_what_is_not_given() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = make_event("click", "/a", target="Buy", props={"k": "v"}, timestamp=moment)
    assert event == {
        "action": "click",
        "path": "/a",
        "target": "Buy",
        "props": {"k": "v"},
        "timestamp": "2026-01-02T03:04:05+00:00",
    }
    assert datetime.fromisoformat(make_event("visit", "/")["timestamp"]).tzinfo is not None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_a_batch_the_server_refuses_is_not_retried(status: int) -> None:
    assert retry_delay(0, answer(status), OPTIONS) is None


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_overload_and_server_errors_are_retried_with_growing_backoff(status: int) -> None:
    delays = [retry_delay(attempt, answer(status), OPTIONS) for attempt in range(4)]
    assert delays[3] is None  # out of retries
    first, second, third = (d for d in delays[:3] if d is not None)
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    assert 2.0 <= third <= 4.0


def test_connection_errors_are_retried_and_retry_after_is_honoured_within_the_cap() -> None:
    assert retry_delay(0, None, OPTIONS) is not None
    assert retry_delay(0, answer(429, **{"Retry-After": "5"}), OPTIONS) == 5.0
    assert retry_delay(0, answer(503, **{"Retry-After": "600"}), OPTIONS) == 8.0
    assert retry_delay(0, answer(503, **{"Retry-After": "soon"}), OPTIONS) is not None


@pytest.mark.parametrize(
    "fields",
    [{"batch_size": 0}, {"batch_size": 1001}, {"max_queue": 0}, {"timeout": 0}],
)
def test_options_out_of_range_are_refused(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ClientOptions(**fields)  # type: ignore[arg-type]


def test_a_client_batches_up_to_what_the_server_accepts_and_no_more() -> None:
    """The server takes batches of up to MAX_BATCH events (tests/unit/test_ingestion.py):
    a client may be set to send that many, and not one more, which it would send in vain."""
    assert ClientOptions(batch_size=MAX_BATCH).batch_size == MAX_BATCH
    with pytest.raises(ValueError, match="batch_size must be"):
        ClientOptions(batch_size=MAX_BATCH + 1)
