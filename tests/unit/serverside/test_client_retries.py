"""Both clients retry what is worth retrying (a connection error, 5xx), with the same
policy, and give a part up once out of retries: the policy is shared, each client only
moves the bytes."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from privalytics.client import AsyncClient, Client, ClientOptions, Counters

OPTIONS = ClientOptions(flush_interval=0.01, backoff=0.001, max_backoff=0.01, max_retries=2)

Answer = Callable[[httpx.Request], httpx.Response]


def unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503)


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no route", request=request)


def accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, json={"accepted": 1})


class Script:
    """Answers each request with the next of ``answers`` (the last one again once they
    run out), counting the requests."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            answer = self.answers[min(self.requests, len(self.answers) - 1)]
            self.requests += 1
        return answer(request)


CASES = [
    pytest.param((unavailable, unreachable, accepted), 3, Counters(sent=1), id="retried"),
    pytest.param((unreachable,), 3, Counters(failed=1), id="out-of-retries"),
]


@pytest.mark.parametrize(("answers", "requests", "counters"), CASES)
def test_the_sync_client_retries_then_settles(
    answers: tuple[Answer, ...], requests: int, counters: Counters
) -> None:
    script = Script(*answers)
    client = Client(
        "http://stats.test", "pvt_x", options=OPTIONS, transport=httpx.MockTransport(script)
    )
    assert client.track("visit", "/")
    assert client.flush(timeout=10)
    client.close()
    assert (script.requests, client.counters) == (requests, counters)


@pytest.mark.parametrize(("answers", "requests", "counters"), CASES)
async def test_the_async_client_retries_then_settles(
    answers: tuple[Answer, ...], requests: int, counters: Counters
) -> None:
    script = Script(*answers)
    transport = httpx.MockTransport(script)
    async with AsyncClient(
        "http://stats.test", "pvt_x", options=OPTIONS, transport=transport
    ) as client:
        assert client.track("visit", "/")
        assert await client.flush(timeout=10)
    assert (script.requests, client.counters) == (requests, counters)
