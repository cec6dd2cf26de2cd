"""Which ASGI server keeps serving when clients are slow or silent (issue 16, item 3).

``python -m benchmarks.slow_clients [SERVER ...]`` starts each server on a tiny ASGI app
(read the body, answer 202) with a 1,024-file limit, then, at once:

- opens 1,100 connections that never send a byte, and then times one real request;
- trickles a request's headers at one byte every half second;
- sends a request's headers, then its 220-byte body at one byte per second;

and prints how long each took to be answered or closed (``held`` when still open after
``CAP`` seconds); before that, the requests per second of four kept-alive clients.
``--rate`` compares the server CPU time per kept-alive request instead, uvicorn and
``guarded`` alternately, three times (Linux: it reads /proc).
Servers: ``uvicorn`` (as privalytics ran it before: defaults),
``uvicorn-limits`` (uvicorn's own ``limit_concurrency`` and ``timeout_keep_alive``),
``hypercorn`` (its ``read_timeout``), ``granian`` (its header read timeout) and ``guarded``
(uvicorn with privalytics' protocol, ``adapters/uvicornguard.py``). hypercorn and granian
are not privalytics dependencies: ``pip install hypercorn granian`` to compare them. Each
server gets deadlines of 10 s where it has them. Figures are in docs/deployment.md.
"""

from __future__ import annotations

import os
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

SILENT = 1_100
OPEN_FILES = 1_024
CAP = 25.0
DEADLINE = 10

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body, answer 202."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False) and message["type"] == "http.request"
    await send(
        {"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def _serve_guarded(port: int) -> None:
    import uvicorn

    from privalytics.adapters.uvicornguard import PROTOCOL, configure

    configure(header_timeout=DEADLINE, body_timeout=DEADLINE, max_connections=1000)
    uvicorn.run(app, port=port, http=PROTOCOL, log_level="critical")


COMMANDS = {
    "uvicorn": ["-m", "uvicorn", "--http", "httptools", "--log-level", "critical"],
    "uvicorn-limits": [
        "-m",
        "uvicorn",
        "--http",
        "httptools",
        "--log-level",
        "critical",
        "--limit-concurrency",
        "900",
        "--timeout-keep-alive",
        str(DEADLINE),
    ],
    "hypercorn": ["-m", "hypercorn", "--read-timeout", str(DEADLINE), "--log-level", "critical"],
    "granian": [
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--http",
        "1",
        "--http1-header-read-timeout",
        str(DEADLINE * 1000),
        "--log-level",
        "critical",
    ],
}


def _start(server: str, port: int) -> subprocess.Popen[bytes]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))

    if server == "guarded":
        command = [
            "-c",
            f"from benchmarks.slow_clients import _serve_guarded; _serve_guarded({port})",
        ]
    elif server == "hypercorn":
        command = [*COMMANDS[server], "--bind", f"127.0.0.1:{port}", "benchmarks.slow_clients:app"]
    elif server == "granian":
        command = [*COMMANDS[server], "--port", str(port), "benchmarks.slow_clients:app"]
    else:
        command = [*COMMANDS[server], "--port", str(port), "benchmarks.slow_clients:app"]
    return subprocess.Popen([sys.executable, *command], preexec_fn=limit)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


REQUEST = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 220\r\n\r\n"


def _readable(sock: socket.socket, seconds: float) -> bool:
    """Whether ``sock`` has something to read (or was closed) within ``seconds``."""
    poller = select.poll()  # not select(): the crowd's descriptors are above 1,024
    poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(seconds, 0) * 1000))


def _outcome(sock: socket.socket, started: float) -> str:
    """When the server answered or closed, from ``started``; 'held' after CAP."""
    remaining = CAP - (time.monotonic() - started)
    if not _readable(sock, remaining):
        return "held"
    try:
        first = sock.recv(64)
    except ConnectionError:
        first = b""
    status = first.split(b" ")[1].decode() if first.startswith(b"HTTP/") else "closed"
    return f"{status} after {time.monotonic() - started:.1f} s"


def _trickle(port: int, first: bytes, rest: bytes, pause: float) -> str:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        sock.sendall(first)
        for byte in rest:
            if _readable(sock, pause) or time.monotonic() - started > CAP:
                break
            try:
                sock.sendall(bytes([byte]))
            except ConnectionError:
                break
        return _outcome(sock, started)


def _real_request_after_crowd(port: int) -> str:
    crowd = []
    try:
        for _ in range(SILENT):
            crowd.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            started = time.monotonic()
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return _outcome(sock, started)
    except OSError as exc:
        return f"failed ({type(exc).__name__})"
    finally:
        for sock in crowd:
            sock.close()


def _keep_alive_rate(port: int, requests: int = 2000, clients: int = 4) -> str:
    """Requests per second of ``clients`` kept-alive connections, one request at a time
    each: what the deadlines' timers cost a request."""

    def client() -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            for _ in range(requests):
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
                answer = b""
                while b"\r\n\r\n" not in answer:
                    answer += sock.recv(4096)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return f"{requests * clients / (time.perf_counter() - started):.0f}/s"


def measure(server: str) -> dict[str, str]:
    port = _free_port()
    process = _start(server, port)
    try:
        _wait_listening(port)
        rate = _keep_alive_rate(port)
        with ThreadPoolExecutor(max_workers=3) as pool:
            headers = pool.submit(_trickle, port, b"POST / HTTP/1.1\r\n", REQUEST[17:] * 20, 0.5)
            body = pool.submit(_trickle, port, REQUEST, b"x" * 220, 1.0)
            crowd = pool.submit(_real_request_after_crowd, port)
            return {
                "after 1,100 silent connections": crowd.result(),
                "headers at 2 B/s": headers.result(),
                "body at 1 B/s": body.result(),
                "kept-alive requests": rate,
            }
    finally:
        process.terminate()
        process.wait(timeout=15)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rates(rounds: int = 3, requests: int = 5000, clients: int = 4) -> None:
    """Server CPU time per kept-alive request, uvicorn and the guarded protocol
    alternately: on a shared machine, CPU time is steadier than requests per second."""
    for _ in range(rounds):
        for server in ("uvicorn", "guarded"):
            port = _free_port()
            process = _start(server, port)
            try:
                _wait_listening(port)
                _keep_alive_rate(port, requests=200)  # warm up
                before = _cpu_seconds(process.pid)
                rate = _keep_alive_rate(port, requests=requests, clients=clients)
                spent = _cpu_seconds(process.pid) - before
                micros = spent / (requests * clients) * 1e6
                print(server, f"{micros:.1f} µs of server CPU per request ({rate})", flush=True)
            finally:
                process.terminate()
                process.wait(timeout=15)


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    if sys.argv[1:] == ["--rate"]:
        rates()
        return
    for server in sys.argv[1:] or ["uvicorn", "uvicorn-limits", "hypercorn", "granian", "guarded"]:
        results = measure(server)
        print(server, "|", " | ".join(f"{k}: {v}" for k, v in results.items()), flush=True)


if __name__ == "__main__":
    main()
