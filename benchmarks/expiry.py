"""What raw-event expiry costs live ingestion (issue 15): a day of 100,000 events deleted
by ``privalytics expire`` while a real server takes single events at a steady rate.

``python -m benchmarks.expiry`` creates a project on a fresh database (``--backend
sqlite``: a file; ``postgres``: a database of its own on ``PRIVALYTICS_BENCH_POSTGRES``,
dropped at the end), stores through the event store ``--rounds`` old days of
``--events`` events each (benchmarks/traffic.py's generator, 20 days ago and after) and
``--recent`` events over the last 10 days, computes their rollups, and starts
``privalytics serve`` on it (benchmarks/load.py's servers, without a retention: the
server's own daily expiry does not run). A load client then sends single events at
``--rate`` per second from ``--clients`` kept-alive connections (each with a real
browser's user agent and the project's token; latency counted from when a request was
due, so a stalled server is not hidden by a client that waits), and each round:

1. runs ``privalytics expire`` with a retention that cuts exactly the oldest day left
   (its wall time is the expiry's duration, D);
2. lets 5 s pass (``after``: what the expiry leaves behind, e.g. a checkpoint);
3. measures a baseline of the same length D without expiry.

It prints p50/p99/max per window, every answer that was not a 202, and checks afterwards
that every event answered 202 is stored, that the old days' events are gone, and that
each old day's unfiltered stats (read from the rollups) are the same before and after.

    python -m benchmarks.expiry                           # SQLite, 3 rounds
    python -m benchmarks.expiry --backend postgres
    python -m benchmarks.expiry --events 2000 --recent 2000 --rate 50 --rounds 1  # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from sqlalchemy import text

import privalytics
from benchmarks.imports import AGENTS
from benchmarks.load import Server, _event, _privalytics, postgres_server, sqlite_server
from benchmarks.run import _load, _machine
from benchmarks.traffic import generate_events
from privalytics.adapters.sqlalchemy import create_engine, open_stores
from privalytics.bootstrap import build
from privalytics.config import Settings
from privalytics.domain.models import Stats, TimeRange

DAY = timedelta(days=1)
OLDEST = 20  # the first old day, in days before today
RECENT_DAYS = 10
WARM_UP = 5.0
SETTLE = 5.0
TIMEOUT = 10.0
# The package the benchmark imports is the one the servers run (a worktree's src).
SRC = Path(privalytics.__file__).resolve().parent.parent


# --- the load client ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    due: float  # when the request was due (monotonic seconds)
    latency: float  # seconds from ``due`` to the whole answer read
    status: int  # 0: no answer (connection error or timeout)


@dataclass
class Load:
    """Single events at a steady rate from kept-alive connections, every answer kept."""

    port: int
    token: str
    rate: float
    clients: int
    answers: list[Answer] = field(default_factory=list)
    running: bool = True

    def requests(self, agent: str) -> Iterator[bytes]:
        index = 0
        while True:
            body = json.dumps(_event(index)).encode()
            index += 1
            yield (
                f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/json\r\nAuthorization: Bearer {self.token}\r\n"
                f"User-Agent: {agent}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body

    async def _client(self, number: int, start: float) -> None:
        interval = self.clients / self.rate
        due = start + number / self.rate
        requests = self.requests(AGENTS[number % len(AGENTS)])
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while self.running:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            status = 0
            try:
                if connection is None:
                    connection = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = connection
                writer.write(next(requests))
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if b"connection: close" in head.lower():
                    writer.close()
                    connection = None
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                if connection is not None:
                    connection[1].close()
                connection = None
            self.answers.append(Answer(due, time.monotonic() - due, status))
            due += interval

    async def run(self) -> None:
        start = time.monotonic()
        await asyncio.gather(*(self._client(n, start) for n in range(self.clients)))


# --- the database ------------------------------------------------------------------------


def _midnight(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - days_ago * DAY


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def _store(url: str, project_id: str, events: int, recent: int, rounds: int) -> int:
    """The old days and the recent traffic, through the event store; returns how many."""
    stores = open_stores(url)
    stored = 0
    try:
        days = [
            next(generate_events(events, [project_id], seed=n, days=1, end=_midnight(ago - 1)))
            for n, ago in enumerate(range(OLDEST, OLDEST - rounds, -1))
        ]
        now = datetime.now(UTC)
        days += generate_events(recent, [project_id], seed=99, days=RECENT_DAYS, end=now)
        for day in days:
            for offset in range(0, len(day), 5000):
                await stores.events.add(day[offset : offset + 5000])
            stored += len(day)
    finally:
        await stores.dispose()
    return stored


async def _count(url: str, start: datetime | None = None, end: datetime | None = None) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT count(*) FROM events WHERE ts >= :start AND ts < :end"),
                {"start": _ms(start) if start else 0, "end": _ms(end) if end else 2**62},
            )
    finally:
        await engine.dispose()
    return int(found or 0)


def _changed(before: Stats, after: Stats) -> list[str]:
    """The fields whose figures differ, but for what moves with live traffic (the last
    24 hours and the current visitors) and a day's hourly series (read from the events:
    docs/data-lifecycle.md, Retention)."""
    return [
        name
        for name in before.__struct_fields__
        if name not in ("recent", "current_visitors")
        and not (name == "series" and before.series_step == "hour")
        and msgspec.json.encode(getattr(before, name)) != msgspec.json.encode(getattr(after, name))
    ]


def _spans(days_ago: list[int]) -> dict[str, TimeRange]:
    """Each old day, and all of them together (a daily series, read from the rollups,
    once the range is longer than 48 hours)."""
    spans = {
        f"{_midnight(ago):%Y-%m-%d}": TimeRange(start=_midnight(ago), end=_midnight(ago - 1))
        for ago in days_ago
    }
    if len(days_ago) > 1:
        whole = TimeRange(start=_midnight(days_ago[0]), end=_midnight(days_ago[-1] - 1))
        spans[f"{whole.start:%Y-%m-%d} to {whole.end - DAY:%Y-%m-%d}"] = whole
    return spans


async def _stats(url: str, project_id: str, spans: dict[str, TimeRange]) -> dict[str, Stats]:
    services = build(Settings(database_url=url, bcrypt_rounds=4))
    try:
        return {
            name: await services.reporting.stats(project_id, span) for name, span in spans.items()
        }
    finally:
        await services.aclose()


async def _prepare(url: str, events: int, recent: int, rounds: int) -> str:
    services = build(Settings(database_url=url, bcrypt_rounds=4))
    try:
        (project,) = await services.admin.list_projects()
        began = time.perf_counter()
        stored = await _store(url, project.id, events, recent, rounds)
        loaded = time.perf_counter() - began
        began = time.perf_counter()
        days = await services.refresh_rollups()
        print(
            f"stored {stored:,} events in {loaded:.0f} s; rollups of {days} days in "
            f"{time.perf_counter() - began:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    finally:
        await services.aclose()
    return project.id


# --- the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float


async def _expire(server: Server, retention: int) -> tuple[float, str]:
    """Wall seconds and output of ``privalytics expire`` with ``retention`` days."""
    env = {**server.env, "PRIVALYTICS_EVENT_RETENTION_DAYS": str(retention)}
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *_privalytics("expire"),
        env=env,
        cwd=SRC.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(output.decode())
    return time.monotonic() - began, output.decode().strip()


async def _drive(server: Server, args: argparse.Namespace) -> tuple[Load, list[Window], list[str]]:
    load = Load(server.port, server.token, args.rate, args.clients)
    driving = asyncio.create_task(load.run())
    windows: list[Window] = []
    outputs: list[str] = []
    try:
        await asyncio.sleep(WARM_UP)
        for n in range(args.rounds):
            # Events before the midnight after the oldest day left go: that day alone.
            began = time.monotonic()
            seconds, output = await _expire(server, OLDEST - 1 - n)
            outputs.append(f"{output} ({seconds:.1f} s)")
            print(f"  round {n + 1}: {outputs[-1]}", file=sys.stderr, flush=True)
            windows.append(Window(f"{n + 1}: during expiry", began, began + seconds))
            await asyncio.sleep(SETTLE)
            windows.append(
                Window(f"{n + 1}: {SETTLE:g} s after", began + seconds, time.monotonic())
            )
            quiet = time.monotonic()
            await asyncio.sleep(seconds)
            windows.append(Window(f"{n + 1}: baseline", quiet, time.monotonic()))
    finally:
        load.running = False
        await driving
    return load, windows, outputs


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _row(window: Window, answers: list[Answer]) -> str:
    mine = [a for a in answers if window.start <= a.due < window.end]
    latencies = [a.latency * 1000 for a in mine]
    bad = sum(a.status != 202 for a in mine)
    if not mine:
        return f"| {window.name} | {window.end - window.start:.1f} | 0 | | | | |"
    return (
        f"| {window.name} | {window.end - window.start:.1f} | {len(mine):,} "
        f"| {statistics.median(latencies):.1f} | {_percentile(latencies, 0.99):.1f} "
        f"| {max(latencies):.1f} | {bad} |"
    )


def _stop_serving(server: Server) -> None:
    """Stop the server but keep its database (``Server.stop`` drops PostgreSQL's)."""
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=20)


async def main_async(args: argparse.Namespace, server: Server, folder: Path) -> None:
    url = server.env["PRIVALYTICS_DATABASE_URL"]
    old = list(range(OLDEST, OLDEST - args.rounds, -1))
    project_id = await _prepare(url, args.events, args.recent, args.rounds)
    spans = _spans(old)
    before = await _stats(url, project_id, spans)
    counts = [await _count(url, _midnight(ago), _midnight(ago - 1)) for ago in old]
    total_before = await _count(url)
    print(f"\n## Expiry under load: {args.backend}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"Machine: {_machine()}. Load average at the start (1/5/15 min): {_load()}.")
    print(
        f"Database: {total_before:,} events; old days of "
        + ", ".join(f"{c:,}" for c in counts)
        + f" events; {args.rate:g} single events/s from {args.clients} connections.\n"
    )
    server.start(folder / "server.log")
    began_ms = _ms(datetime.now(UTC)) - 1
    try:
        load, windows, outputs = await _drive(server, args)
    finally:
        _stop_serving(server)
    after_load = datetime.now(UTC)
    idle, idle_output = await _expire(server, OLDEST - args.rounds)
    print(f"Load average at the end (1/5/15 min): {_load()}.\n")
    print("| window | s | requests | p50 ms | p99 ms | max ms | not 202 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for window in windows:
        print(_row(window, load.answers))
    accepted = sum(a.status == 202 for a in load.answers)
    statuses: dict[int, int] = {}
    for answer in load.answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    stored = await _count(url, datetime.fromtimestamp(began_ms / 1000, UTC), after_load)
    left = [await _count(url, _midnight(ago), _midnight(ago - 1)) for ago in old]
    total_after = await _count(url)
    after = await _stats(url, project_id, spans)
    changed = {name: _changed(before[name], after[name]) for name in spans}
    print()
    for output in outputs:
        print(f"- `privalytics expire`: {output}")
    print(f"- the same command with nothing left to delete: {idle_output} ({idle:.1f} s)")
    print(
        f"- answers over the whole run ({len(load.answers):,} requests): "
        + ", ".join(f"{s or 'no answer'}: {c:,}" for s, c in sorted(statuses.items()))
    )
    print(
        f"- events answered 202: {accepted:,}; stored since the load began: {stored:,}; "
        f"lost: {accepted - stored:,}"
    )
    print(
        f"- events in the database: {total_before:,} before, {total_after:,} after "
        f"(expected {total_before + accepted - sum(counts):,})"
    )
    print("- old days' events left: " + ", ".join(f"{c:,}" for c in left))
    refused = len(load.answers) - accepted
    lost = max(0, accepted - stored)
    print(
        f"- targets: answers other than 202: {refused} ("
        + ("met" if refused == 0 else "missed")
        + f"); events answered 202 and lost: {lost} ("
        + ("met" if lost == 0 else "missed")
        + ")"
    )
    for name, fields in changed.items():
        stats = after[name]
        hourly = ""
        if stats.series_step == "hour":
            kept = before[name].series == stats.series
            hourly = "; hourly series " + ("kept" if kept else "gone (raw-backed)")
        print(
            f"- unfiltered stats of {name} before and after: "
            + (f"DIFFERENT ({', '.join(fields)})" if fields else "identical")
            + f" (page views {stats.pageviews:,}, visitors {stats.unique_visitors:,}, "
            f"sessions {stats.sessions:,}, bounce rate {stats.bounce_rate} %{hourly})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--events", type=int, default=100_000, help="per old day")
    parser.add_argument("--recent", type=int, default=100_000, help="over the last 10 days")
    parser.add_argument("--rounds", type=int, default=3, help="old days, one expired a round")
    parser.add_argument("--rate", type=float, default=1000, help="single events per second")
    parser.add_argument("--clients", type=int, default=10, help="kept-alive connections")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="privalytics-expiry-"))
    if args.backend == "sqlite":
        server = sqlite_server(folder, "uvicorn", 1, SRC)
    else:
        server = postgres_server("uvicorn", 1, SRC, database="privalytics_bench_expiry")
    try:
        asyncio.run(main_async(args, server, folder))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
