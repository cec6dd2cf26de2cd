"""The clients' lifecycle: close within one deadline, a short close at exit, a worker
after fork, and the async queue's bound and accounting."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import warnings
from collections.abc import Iterator

import httpx
import pytest

from privalytics.client import AT_EXIT_TIMEOUT, AsyncClient, Client, ClientOptions


@pytest.fixture
def stuck() -> Iterator[threading.Event]:
    """Released at the end of the test: until then, every request hangs."""
    release = threading.Event()
    yield release
    release.set()


def hanging_transport(release: threading.Event) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        release.wait(30)
        return httpx.Response(202, json={"accepted": 1})

    return httpx.MockTransport(handle)


def test_close_keeps_one_deadline_for_flushing_and_stopping(stuck: threading.Event) -> None:
    options = ClientOptions(flush_interval=0.01, timeout=30)
    client = Client(
        "http://stats.test", "pvt_x", options=options, transport=hanging_transport(stuck)
    )
    client.track("visit", "/")
    time.sleep(0.1)  # the batch is being sent, and hangs
    started = time.monotonic()
    client.close(timeout=1.0)
    assert time.monotonic() - started < 1.5  # not flush's 1 s and then join's 1 s more


def test_at_exit_a_client_waits_briefly_whatever_its_timeout(stuck: threading.Event) -> None:
    options = ClientOptions(flush_interval=0.01, timeout=30)
    client = Client(
        "http://stats.test", "pvt_x", options=options, transport=hanging_transport(stuck)
    )
    client.track("visit", "/")
    time.sleep(0.1)
    started = time.monotonic()
    client._at_exit()  # what atexit runs
    assert time.monotonic() - started < AT_EXIT_TIMEOUT + 0.5


def test_a_forked_child_has_a_worker_and_not_the_parents_queue() -> None:
    sent: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(202, json={"accepted": 1})

    options = ClientOptions(flush_interval=0.01)
    client = Client(
        "http://stats.test", "pvt_x", options=options, transport=httpx.MockTransport(handle)
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads
            pid = os.fork()
        if pid == 0:  # the child: exit code 0 when its event was sent, alone
            code = 1
            try:
                client.track("visit", "/child")
                if client.flush(5) and client.counters.sent == 1 and len(sent) == 1:
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert client.track("visit", "/parent")  # the parent's worker goes on
        assert client.flush(5)
        assert client.counters.sent == 1
    finally:
        client.close(1)


def test_the_async_client_holds_max_queue_events() -> None:
    async def scenario() -> int:
        options = ClientOptions(max_queue=10, batch_size=100, flush_interval=60)
        client = AsyncClient(
            "http://stats.test",
            "pvt_x",
            options=options,
            transport=httpx.MockTransport(lambda r: httpx.Response(202)),
        )
        accepted = sum(client.track("visit", "/") for _ in range(15))
        assert client.counters.dropped == 5
        await client.aclose(timeout=5)
        assert client.counters.sent == 10
        return accepted

    assert asyncio.run(scenario()) == 10


def test_aclose_counts_a_batch_cancelled_while_sending_as_failed() -> None:
    async def scenario() -> None:
        started = asyncio.Event()

        async def handle(request: httpx.Request) -> httpx.Response:
            started.set()
            await asyncio.sleep(30)
            return httpx.Response(202)

        options = ClientOptions(batch_size=3, flush_interval=0.01, timeout=30)
        client = AsyncClient(
            "http://stats.test", "pvt_x", options=options, transport=httpx.MockTransport(handle)
        )
        for _ in range(5):
            client.track("visit", "/")
        await asyncio.wait_for(started.wait(), 5)
        await client.aclose(timeout=0.2)
        counters = client.counters
        assert (counters.sent, counters.failed, counters.dropped) == (0, 5, 0)

    asyncio.run(scenario())
