"""`privalytics serve` when its address cannot be used, or a Redis server does not answer:
one clear message before anything claims to listen."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, _free_port, cli


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def _assert_one_clear_error(output: str, stdout: str) -> None:
    assert "listening" not in stdout
    assert "Traceback" not in output
    assert "Errno" not in output
    assert [line for line in output.splitlines() if line.strip()] == [output.strip()]


def test_a_port_in_use_is_one_error_naming_the_flag(url: str, taken_port: int) -> None:
    done = cli(url, "serve", "--port", str(taken_port))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    _assert_one_clear_error(done.stderr, done.stdout)
    assert f"127.0.0.1:{taken_port}" in done.stderr
    assert "already in use" in done.stderr
    assert "--port" in done.stderr
    assert "PRIVALYTICS_PORT" not in done.stderr


def test_a_port_in_use_from_the_environment_names_the_variable_too(
    url: str, taken_port: int
) -> None:
    done = cli(url, "serve", PRIVALYTICS_PORT=str(taken_port))
    assert done.returncode == 1, done.stdout + done.stderr
    _assert_one_clear_error(done.stderr, done.stdout)
    assert "--port (PRIVALYTICS_PORT)" in done.stderr


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        # TEST-NET-1 (RFC 5737): never an address of this machine.
        ("192.0.2.1", "is not an address of this machine"),
        ("no-such-host.invalid", "is not an address or a known host name"),
    ],
)
def test_a_host_that_cannot_be_bound_is_one_error_naming_the_flag(
    url: str, host: str, reason: str
) -> None:
    done = cli(url, "serve", "--host", host, "--port", str(_free_port()))
    assert done.returncode == 2, done.stdout + done.stderr
    _assert_one_clear_error(done.stderr, done.stdout)
    assert reason in done.stderr
    assert "--host" in done.stderr


@pytest.mark.slow
def test_an_unreachable_redis_is_named_at_startup_and_the_server_still_serves(
    url: str, tmp_path: Path
) -> None:
    """Nothing listens on port 1; the URL's password is never printed."""
    server = Server(
        url, tmp_path / "server.log", PRIVALYTICS_RATE_LIMIT_URL="redis://:hunter2pw@127.0.0.1:1/0"
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while status is None and time.monotonic() < deadline:
            assert server.process.poll() is None, server.log.read_text()
            try:
                status = httpx.get(f"{server.url}/healthz", timeout=1).status_code
            except httpx.TransportError:
                time.sleep(0.1)  # polling the server's start, bounded by the deadline
        assert status == 503
    finally:
        server.stop()
    log = server.log.read_text()
    warnings = [line for line in log.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, log
    assert "PRIVALYTICS_RATE_LIMIT_URL" in warnings[0]
    assert "127.0.0.1:1" in warnings[0]
    assert "hunter2pw" not in log
    # The warning comes before the server says it listens.
    assert log.index("warning:") < log.index("listening")


@pytest.mark.slow
@pytest.mark.redis
def test_a_reachable_redis_draws_no_warning(url: str, tmp_path: Path) -> None:
    from tests.conftest import REDIS_URL, require_server

    require_server(REDIS_URL, 6379, "Redis")
    server = Server(url, tmp_path / "server.log", PRIVALYTICS_RATE_LIMIT_URL=REDIS_URL)
    try:
        server.wait_ready()
    finally:
        server.stop()
    assert "warning" not in server.log.read_text()
