"""HTTP load: real servers in subprocesses, wrk on loopback, a count check after each run.

Servers: ``bare`` (benchmarks/bare_app.py, the ceiling), ``sqlite`` and ``postgres``
(``privalytics serve``, exactly as the README runs it, on a fresh database each), and on
request ``memory`` (the same server storing nothing durable: what HTTP and the domain cost
without storage). With ``--asgi-server granian`` the privalytics app factory is served by
granian instead, to compare the two servers. ``--compare-src DIR`` adds, in the same run,
each backend served from another source tree (e.g. ``git archive`` of an older commit),
named ``BACKEND@base``: an A/B comparison under the same noise; ``--src DIR`` serves the
others from a source tree too (by default, the installed package).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
LUA = HERE / "post.lua"
POSTGRES_ADMIN = os.environ.get(
    "PRIVALYTICS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
BENCH_DATABASE = "privalytics_bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _event(index: int) -> dict[str, Any]:
    return {
        "action": "visit",
        "path": f"/blog/post-{index % 50}",
        "referrer": "https://news.example.com/",
    }


def bodies(folder: Path) -> dict[str, tuple[Path, int]]:
    """kind -> (body file, events per request)."""
    single = folder / "single.json"
    single.write_bytes(json.dumps(_event(1)).encode())
    batch = folder / "batch.json"
    batch.write_bytes(json.dumps({"events": [_event(i) for i in range(100)]}).encode())
    return {"single": (single, 1), "batch": (batch, 100)}


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def peak_rss_mb(pid: int) -> float:
    """The largest peak RSS (VmHWM) of a process and its descendants (the workers)."""
    peak = 0
    for each in _descendants(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants."""
    total = 0
    for each in _descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    count: Callable[[], int] | None  # stored events, None for the bare app
    token: str = "pvt_bench"
    token_file: Path | None = None  # written by the server once it has made its project
    cleanup: Callable[[], None] | None = None  # after the server stops: drop its database
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> None:
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=HERE.parent
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {log.read_text()}")
            try:
                httpx.post(f"{self.url}/api/v1/events", content=b"{}", timeout=1)
                if self.token_file is not None:
                    self.token = self.token_file.read_text().strip()
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start: {log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.cleanup is not None:
            self.cleanup()


def _privalytics(*args: str) -> list[str]:
    return [sys.executable, "-m", "privalytics.cli", *args]


def _env(src: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
    env["PRIVALYTICS_LOG_LEVEL"] = "warning"
    # The benchmarks package; with ``src`` that tree's privalytics comes first.
    env["PYTHONPATH"] = os.pathsep.join(str(x) for x in (src, HERE.parent) if x)
    env.update(extra)
    return env


def _create_project(env: dict[str, str]) -> str:
    done = subprocess.run(
        _privalytics("project", "create", "bench", "--rate-limit", "1000000/second", "--json"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token: str = json.loads(done.stdout)["token"]
    return token


def _serve_command(asgi_server: str, workers: int) -> list[str]:
    if asgi_server == "uvicorn":
        return _privalytics("serve", "--port", "{port}", "--workers", str(workers))
    # The same app factory under granian (migrations are run beforehand by the project
    # creation above).
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--port",
        "{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "privalytics.bootstrap:asgi_app",
    ]


def _worker_env(workers: int, limiter: str = "") -> dict[str, str]:
    # More than one worker needs the shared rate limiter (serve refuses memory://); a
    # backend named NAME/redis (``--backends sqlite/redis``) uses it with one worker too.
    shared = workers > 1 or limiter == "redis"
    return {"PRIVALYTICS_RATE_LIMIT_URL": "redis://127.0.0.1:6379/15"} if shared else {}


def _limited(name: str, limiter: str) -> str:
    return f"{name}/{limiter}" if limiter else name


def _on(name: str, asgi_server: str) -> str:
    """Servers under granian are named ``NAME+granian``; uvicorn is the default."""
    return name if asgi_server == "uvicorn" else f"{name}+{asgi_server}"


def _ceiling_of(server: str) -> str:
    return "bare" + (f"+{server.split('+', 1)[1]}" if "+" in server else "")


def bare_server(asgi_server: str, workers: int) -> Server:
    return Server(
        _on("bare", asgi_server),
        [sys.executable, "-m", "benchmarks.bare_app", asgi_server, "{port}", str(workers)],
        _env(),
        None,
    )


def _name(backend: str, base: bool) -> str:
    return f"{backend}@base" if base else backend


def memory_server(
    folder: Path, workers: int, src: Path | None = None, *, base: bool = False
) -> Server:
    """The privalytics app on memory:// (one worker: its project lives in that process)."""
    token_file = folder / f"{_name('memory', base)}.token"
    command = [sys.executable, "-m", "benchmarks.memory_server", "{port}", str(token_file)]
    server = Server(_name("memory", base), command, _env(src), None)
    server.token_file = token_file
    return server


def sqlite_server(
    folder: Path,
    asgi_server: str,
    workers: int,
    src: Path | None = None,
    *,
    base: bool = False,
    limiter: str = "",
) -> Server:
    name = _on(_limited(_name("sqlite", base), limiter), asgi_server)
    path = folder / f"{name.replace('/', '-')}.db"
    env = _env(
        src,
        PRIVALYTICS_DATABASE_URL=f"sqlite+aiosqlite:///{path}",
        **_worker_env(workers, limiter),
    )

    def count() -> int:
        with sqlite3.connect(path) as connection:
            return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])

    server = Server(name, _serve_command(asgi_server, workers), env, count)
    server.token = _create_project(env)
    return server


async def _pg(dsn: str, statement: str) -> Any:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


def postgres_server(
    asgi_server: str,
    workers: int,
    src: Path | None = None,
    *,
    base: bool = False,
    limiter: str = "",
    database: str = BENCH_DATABASE,
) -> Server:
    admin = POSTGRES_ADMIN
    database += "_base" if base else ""
    database += "" if asgi_server == "uvicorn" else f"_{asgi_server}"
    database += f"_{limiter}" if limiter else ""
    asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    asyncio.run(_pg(admin, f'CREATE DATABASE "{database}"'))
    dsn = admin.rsplit("/", 1)[0] + f"/{database}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    env = _env(src, PRIVALYTICS_DATABASE_URL=url, **_worker_env(workers, limiter))

    def count() -> int:
        return int(asyncio.run(_pg(dsn, "SELECT count(*) FROM events")))

    name = _on(_limited(_name("postgres", base), limiter), asgi_server)
    server = Server(name, _serve_command(asgi_server, workers), env, count)
    server.cleanup = lambda: asyncio.run(
        _pg(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    )
    server.token = _create_project(env)
    return server


@dataclass(frozen=True)
class Sample:
    server: str
    kind: str
    connections: int
    requests_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    lost: int  # events answered 202 but not found in the database
    cpu_us: float  # server CPU time per accepted request: steadier than rates under noise


def wrk(
    server: Server, body: Path, per_request: int, connections: int, seconds: float, threads: int
) -> Sample:
    before = server.count() if server.count else 0
    path = "/api/v1/events/batch" if per_request > 1 else "/api/v1/events"
    assert server.process is not None
    cpu_before = cpu_seconds(server.process.pid)
    done = subprocess.run(
        [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            server.url + path,
        ],
        env={**os.environ, "BENCH_BODY": str(body), "BENCH_TOKEN": server.token},
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = cpu_seconds(server.process.pid) - cpu_before
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    figures = json.loads(line[len("BENCH ") :])
    elapsed = figures["duration_us"] / 1e6
    accepted_events = figures["accepted"] * per_request
    lost = 0
    if server.count is not None:
        # Every 202 was sent after its commit, so the rows must be there already.
        stored = server.count() - before
        lost = max(0, accepted_events - stored)
    errors = sum(figures[k] for k in ("other_status", "connect", "read", "write", "timeout"))
    return Sample(
        server=server.name,
        kind="batch" if per_request > 1 else "single",
        connections=connections,
        requests_per_s=figures["accepted"] / elapsed,
        events_per_s=accepted_events / elapsed,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=errors,
        rss_mb=peak_rss_mb(server.process.pid),
        lost=lost,
        cpu_us=cpu / max(figures["accepted"], 1) * 1e6,
    )


@dataclass(frozen=True)
class Row:
    server: str
    kind: str
    connections: int
    requests_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    lost: int
    cpu_us: float
    ratio: float | None  # median of the per-run ratios to the ceiling's events/s


_ORDER = ["bare", "memory", "sqlite", "postgres"]


def _key(sample: Sample) -> tuple[str, int, str]:
    return sample.kind, sample.connections, sample.server


def summarize(samples: list[Sample]) -> list[Row]:
    keys = sorted(
        {(s.kind, s.connections, s.server) for s in samples},
        key=lambda k: (k[0] != "single", k[1], _ORDER.index(re.split("[@+/]", k[2])[0]), k[2]),
    )
    rows = []
    for kind, connections, server in keys:
        mine = [s for s in samples if _key(s) == (kind, connections, server)]
        bare = [s for s in samples if _key(s) == (kind, connections, _ceiling_of(server))]
        ratio = None
        if not server.startswith("bare") and len(bare) == len(mine):
            ratio = statistics.median(
                m.events_per_s / b.events_per_s for m, b in zip(mine, bare, strict=True)
            )
        rows.append(
            Row(
                server=server,
                kind=kind,
                connections=connections,
                requests_per_s=statistics.median(s.requests_per_s for s in mine),
                events_per_s=statistics.median(s.events_per_s for s in mine),
                p50_ms=statistics.median(s.p50_ms for s in mine),
                p99_ms=statistics.median(s.p99_ms for s in mine),
                errors=sum(s.errors for s in mine),
                rss_mb=max(s.rss_mb for s in mine),
                lost=sum(s.lost for s in mine),
                cpu_us=statistics.median(s.cpu_us for s in mine),
                ratio=ratio,
            )
        )
    return rows


def table(rows: list[Row], runs: int) -> str:
    lines = [
        f"| kind | -c | server | req/s | events/s | p50 ms | p99 ms | errors | peak RSS MB "
        f"| lost | server CPU µs/req | ratio to ceiling (median of {runs} paired runs) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"| {r.kind} | {r.connections} | {r.server} | {r.requests_per_s:,.0f} "
            f"| {r.events_per_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} "
            f"| {r.rss_mb:.0f} | {r.lost} | {r.cpu_us:,.0f} | {ratio} |"
        )
    return "\n".join(lines)


def run_load(
    *,
    backends: list[str],
    kinds: list[str],
    levels: list[int],
    runs: int,
    seconds: float,
    workers: int,
    threads: int,
    asgi_servers: list[str],
    log: Callable[[str], None],
    compare_src: Path | None = None,
    src: Path | None = None,
) -> list[Row]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="privalytics-bench-"))
    servers = []
    for asgi_server in asgi_servers:
        servers.append(bare_server(asgi_server, workers))
        for tree, base in ((src, False), (compare_src, True)) if compare_src else ((src, False),):
            if "memory" in backends and asgi_server == "uvicorn":
                servers.append(memory_server(folder, workers, tree, base=base))
            for backend in backends:
                kind, _, limiter = backend.partition("/")
                if kind == "sqlite":
                    servers.append(
                        sqlite_server(
                            folder, asgi_server, workers, tree, base=base, limiter=limiter
                        )
                    )
                elif kind == "postgres":
                    servers.append(
                        postgres_server(asgi_server, workers, tree, base=base, limiter=limiter)
                    )
    payloads = bodies(folder)
    samples: list[Sample] = []
    try:
        for server in servers:
            server.start(folder / f"{server.name.replace('/', '-')}.log")
        for kind in kinds:
            body, per_request = payloads[kind]
            for server in servers:  # warm up: connections, caches, the first bcrypt check
                wrk(server, body, per_request, 8, 1, threads)
            for connections in levels:
                for run in range(runs):
                    # Interleaved, so the machine's noise falls on every server alike.
                    for server in servers:
                        sample = wrk(server, body, per_request, connections, seconds, threads)
                        samples.append(sample)
                        log(
                            f"  {kind} -c{connections} run {run + 1}/{runs} {server.name}: "
                            f"{sample.events_per_s:,.0f} events/s, p99 {sample.p99_ms:.1f} ms, "
                            f"errors {sample.errors}, lost {sample.lost}"
                        )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return summarize(samples)
