"""Slow and silent clients against the real server (issue 16, item 3): connections that
send nothing, headers trickled a byte at a time and bodies sent at 1 byte/s are timed out,
and a crowd of silent connections larger than the open-file limit does not keep a real
client out."""

from __future__ import annotations

import resource
import select
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL, require_server
from tests.servers import BROWSER, Server, cli_json

pytestmark = pytest.mark.slow

SILENT = 1_100
OPEN_FILES = 1_024  # the server's limit, as in the issue
DEADLINE = 2.0  # header and body deadlines of the deadline tests, seconds
# A loaded 2-core machine may answer late; never early.
SLACK = 8.0


def _raise_own_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"this test needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _token(database_url: str) -> str:
    created = cli_json(database_url, "project", "create", "Slow clients")
    token: str = created["token"]
    return token


def _send_event(server: Server, token: str, timeout: float) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/events",
        json={"action": "visit", "path": "/"},
        # A browser's agent, so that the event goes all the way to the database (httpx's
        # own agent is a bot's, answered without storing).
        headers={"Authorization": f"Bearer {token}", **BROWSER},
        timeout=timeout,
    )


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"


@pytest.fixture
def crowded_server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """A server with a 1,024-file limit and deadlines too long to help within the test."""
    running = Server(
        database_url,
        tmp_path / "server.log",
        open_files=OPEN_FILES,
        PRIVALYTICS_HEADER_TIMEOUT="300",
        PRIVALYTICS_BODY_TIMEOUT="300",
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_a_real_client_gets_its_202_while_1100_silent_connections_are_held(
    crowded_server: Server, database_url: str
) -> None:
    _raise_own_file_limit(SILENT + 256)
    token = _token(database_url)
    silent: list[socket.socket] = []
    try:
        for _ in range(SILENT):
            silent.append(socket.create_connection(("127.0.0.1", crowded_server.port), timeout=30))
        # Queued behind all of them: the server reaches it only after taking the crowd.
        answer = _send_event(crowded_server, token, timeout=60)
        assert answer.status_code == 202, answer.text
        assert crowded_server.process.poll() is None
        # The server made room by closing the longest-silent connections.
        evicted = SILENT - (OPEN_FILES - 128)
        closed = _closed_by_server(silent, at_least=evicted)
        assert len(closed) >= evicted
        # The longest-silent first.
        assert max(closed) < SILENT // 2, sorted(closed)
        assert "Too many open files" not in crowded_server.log.read_text()
    finally:
        for sock in silent:
            sock.close()
    # Still serving once the crowd is gone.
    assert _send_event(crowded_server, token, timeout=30).status_code == 202


def _closed_by_server(sockets: list[socket.socket], at_least: int) -> set[int]:
    """The indexes of the sockets the server closed, once at least ``at_least`` are."""
    poller = select.poll()
    for sock in sockets:
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    index = {sock.fileno(): i for i, sock in enumerate(sockets)}
    closed: set[int] = set()
    deadline = time.monotonic() + 30
    while len(closed) < at_least and time.monotonic() < deadline:
        for fileno, _ in poller.poll(1000):
            poller.unregister(fileno)
            closed.add(index[fileno])
    return closed


@pytest.fixture
def strict_server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """Two workers, each of which must load the guarded protocol, with short deadlines."""
    require_server(REDIS_URL, 6379, "Redis")
    running = Server(
        database_url,
        tmp_path / "server.log",
        "--workers",
        "2",
        PRIVALYTICS_RATE_LIMIT_URL=REDIS_URL,
        PRIVALYTICS_HEADER_TIMEOUT=str(DEADLINE),
        PRIVALYTICS_BODY_TIMEOUT=str(DEADLINE),
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def _answer_and_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionError:
            return received
        if not chunk:
            return received
        received += chunk


def _trickle(port: int, first: bytes, rest: bytes) -> tuple[float, bytes]:
    """Send ``first``, then ``rest`` one byte every half second until the server answers
    or closes; the seconds from the connection's start and what the server sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE + SLACK + 5) as sock:
        started = time.monotonic()
        sock.sendall(first)
        for byte in rest:
            try:
                sock.sendall(bytes([byte]))
            except ConnectionError:
                break
            sock.settimeout(0.5)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except ConnectionError:
                return time.monotonic() - started, b""
            finally:
                sock.settimeout(DEADLINE + SLACK + 5)
            return time.monotonic() - started, chunk + _answer_and_close(sock)
        received = _answer_and_close(sock)
        return time.monotonic() - started, received


def _silent(port: int) -> tuple[float, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE + SLACK + 5) as sock:
        started = time.monotonic()
        received = _answer_and_close(sock)
        return time.monotonic() - started, received


def test_tricklers_and_silent_connections_are_timed_out_in_every_worker(
    strict_server: Server, database_url: str
) -> None:
    token = _token(database_url)
    port = strict_server.port
    headers = (
        b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"X-Padding: "
        + b"a" * 200
        + b"\r\n\r\n"
    )
    body = b'{"action":"visit","path":"/' + b"b" * 200 + b'"}'
    body_headers = (
        b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    # Several of each, so that both workers meet some.
    with ThreadPoolExecutor(max_workers=18) as pool:
        header_tricklers = [
            pool.submit(_trickle, port, b"POST /api/v1/events HTTP/1.1\r\n", headers)
            for _ in range(6)
        ]
        body_tricklers = [pool.submit(_trickle, port, body_headers, body) for _ in range(6)]
        silent = [pool.submit(_silent, port) for _ in range(6)]
        # Meanwhile, real clients are served.
        assert _send_event(strict_server, token, timeout=30).status_code == 202
        for future in (*header_tricklers, *body_tricklers):
            elapsed, answer = future.result()
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert DEADLINE - 0.5 <= elapsed <= DEADLINE + SLACK, elapsed
        for future in silent:
            elapsed, answer = future.result()
            assert answer == b""
            assert DEADLINE - 0.5 <= elapsed <= DEADLINE + SLACK, elapsed
    assert _send_event(strict_server, token, timeout=30).status_code == 202
    log = strict_server.log.read_text()
    assert "Traceback" not in log, log
