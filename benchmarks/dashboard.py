"""Dashboard queries over a large project: how long every stats query takes.

Generates a project with ``--events`` events spread over 13 months (plus a second project
a tenth of its size, so every query must filter by project), loads it with a bulk loader
(SQLite: ``sqlite3.executemany``; PostgreSQL: asyncpg ``COPY``) into a database migrated
by privalytics, then times the real store and query methods and the whole
``Reporting.stats`` use case (built by ``privalytics.bootstrap.build`` on that database's
URL) for the 24 h, 30 d and 12-month ranges ending at the newest event.

    python -m benchmarks.dashboard                       # 10 M events, both backends
    python -m benchmarks.dashboard --events 1000000 --backends sqlite --repeats 5

The generated databases are deleted at the end (``--keep`` keeps them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from privalytics.adapters.sqlalchemy import migrate
from privalytics.adapters.sqlalchemy.dictionary import STORED_COLUMNS, visitor_number
from privalytics.adapters.sqlalchemy.tables import ACTION_CODES, ROLLUPS, TEXT_FIELDS, rollup_stale
from privalytics.bootstrap import build
from privalytics.config import Settings
from privalytics.domain.models import Action, Event, TimeRange
from privalytics.domain.reports import TARGET_ACTIONS, _floor, previous_range, step_of
from privalytics.domain.services import DEFAULT_TOP, PERIODS, Services

POSTGRES_ADMIN = os.environ.get(
    "PRIVALYTICS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
DATABASE = "privalytics_bench_dash"
RANGES = ("24h", "30d", "12m")
HOUR = timedelta(hours=1)
DAYS = 395  # 13 months
# Every range ends here, in the afternoon as when someone looks at the dashboard, just
# after the newest event (fixed, so that every run generates the same data): each range
# starts and ends inside a day, so its first and last days are partial.
END = datetime(2026, 11, 29, 14, 37, tzinfo=UTC)
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
ROLLUP_TABLES = (*ROLLUPS, rollup_stale)
# What migration 0003 does to the events already stored.
MARK_ALL_STALE = (
    "INSERT INTO rollup_stale (project_id, day) "
    "SELECT DISTINCT n.project_id, e.ts / 86400000 FROM events e"
    " JOIN project_numbers n ON n.number = e.project"
)


class Compact:
    """Generated rows as the compact table stores them (migration 0006): the projects'
    numbers and dictionaries, made as the rows go by, written after the load."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.ids: dict[int, dict[str, int]] = {}

    def row(self, row: Row) -> tuple[Any, ...]:
        project_id, action, path, ts, visitor, referrer, target, value, props = row
        number = self.numbers.setdefault(project_id, len(self.numbers) + 1)
        ids = self.ids.setdefault(number, {})
        texts = {"path": path, "referrer": referrer, "target": target}
        stored = [texts.get(name) for name in TEXT_FIELDS]
        return (
            number,
            ts,
            visitor_number(visitor),
            ACTION_CODES[Action(action)],
            value,
            props,
            *[None if t is None else ids.setdefault(t, len(ids) + 1) for t in stored],
        )

    def numbers_rows(self) -> list[tuple[int, str, int]]:
        return [(n, p, len(self.ids.get(n, {}))) for p, n in self.numbers.items()]

    def texts_rows(self) -> list[tuple[int, int, str]]:
        return [(n, i, t) for n, ids in self.ids.items() for t, i in ids.items()]


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


# --- the generated project -------------------------------------------------------------


def _zipf(count: int, exponent: float) -> list[float]:
    total = 0.0
    cumulative = []
    for rank in range(1, count + 1):
        total += 1.0 / rank**exponent
        cumulative.append(total)
    return cumulative


@dataclass(frozen=True)
class Shape:
    """Skewed pools a project draws from."""

    paths: list[str]
    path_weights: list[float]
    referrers: list[str | None]
    referrer_weights: list[float]
    targets: list[str]
    target_weights: list[float]

    @classmethod
    def of(cls, rng: random.Random, pages: int) -> Shape:
        sections = ["blog", "docs", "pricing", "about", "guides", "changelog", "careers"]
        paths = ["/"] + [
            f"/{rng.choice(sections)}/{rng.getrandbits(32):08x}-{n}" for n in range(pages - 1)
        ]
        sites = ["google.com", "news.ycombinator.com", "reddit.com", "duckduckgo.com"]
        referrers: list[str | None] = [None, *sites]
        referrers += [f"site{n}.example" for n in range(3000)]
        # About half of the visits come without a referrer.
        referrer_weights = _zipf(len(referrers), 1.2)
        targets = [f"https://cdn.example.com/files/{n}.pdf" for n in range(300)]
        targets += [f"#button-{n}" for n in range(300)]
        rng.shuffle(targets)
        return cls(
            paths=paths,
            path_weights=_zipf(len(paths), 1.05),
            referrers=referrers,
            referrer_weights=referrer_weights,
            targets=targets,
            target_weights=_zipf(len(targets), 1.1),
        )


ACTIONS = [a.value for a in (Action.VISIT, Action.CLICK, Action.SCROLL, Action.DOWNLOAD)]
ACTIONS.append(Action.SHARE.value)
ACTION_WEIGHTS = [0.62, 0.80, 0.93, 0.97, 1.0]  # cumulative: 62 % visits, 18 % clicks, ...
# Local daytime peaks; the quietest hour has a fifth of the busiest's traffic.
HOUR_WEIGHTS: list[float] = []
for _hour in range(24):
    _total = HOUR_WEIGHTS[-1] if HOUR_WEIGHTS else 0.0
    HOUR_WEIGHTS.append(_total + 0.2 + max(0.0, 1 - abs(_hour - 14) / 9))


def _day_counts(rng: random.Random, total: int) -> list[int]:
    """Events per day: traffic grows by half over the 13 months, quieter weekends."""
    start = (END - timedelta(days=DAYS)).date()
    weights = []
    for day in range(DAYS):
        weekday = (start + timedelta(days=day + 1)).weekday()
        weights.append((1 + 0.5 * day / DAYS) * (0.7 if weekday >= 5 else 1.0))
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for day in rng.sample(range(DAYS), total - sum(counts)):
        counts[day] += 1
    return counts


Row = tuple[str, str, str, int, str, str | None, str | None, float | None, str | None]


def _project_day(
    rng: random.Random, project_id: str, shape: Shape, day_start: int, count: int, salt: int
) -> list[Row]:
    if count == 0:
        return []
    hours = rng.choices(range(24), cum_weights=HOUR_WEIGHTS, k=count)
    stamps = sorted(day_start + h * _HOUR_MS + int(rng.random() * _HOUR_MS) for h in hours)
    actions = rng.choices(ACTIONS, cum_weights=ACTION_WEIGHTS, k=count)
    paths = rng.choices(shape.paths, cum_weights=shape.path_weights, k=count)
    referrers = rng.choices(shape.referrers, cum_weights=shape.referrer_weights, k=count)
    targets = rng.choices(shape.targets, cum_weights=shape.target_weights, k=count)
    # Daily salt: a visitor's hash changes every day. About three events per visitor and
    # day on average, a few visitors with many (squared uniform draw).
    pool = max(1, count // 3)
    rand = rng.random
    rows: list[Row] = []
    for ts, action, path, referrer, target in zip(
        stamps, actions, paths, referrers, targets, strict=True
    ):
        visitor = int(pool * rand() * rand())
        mixed = ((visitor + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC835 + salt) % (1 << 128)
        if action == "visit":
            rows.append((project_id, action, path, ts, f"{mixed:016x}", referrer, None, None, None))
        elif action == "scroll":
            value = float(rng.choice((25, 50, 75, 100)))
            rows.append((project_id, action, path, ts, f"{mixed:016x}", None, None, value, None))
        else:
            rows.append((project_id, action, path, ts, f"{mixed:016x}", None, target, None, None))
    return rows


def generate(events: int, projects: list[str]) -> Iterator[list[Row]]:
    """Rows in time order, a day (both projects interleaved) at a time."""
    rng = random.Random(20261129)
    big, small = projects
    shapes = {big: Shape.of(rng, 5000), small: Shape.of(rng, 300)}
    counts = {big: _day_counts(rng, events), small: _day_counts(rng, max(DAYS, events // 10))}
    # UTC days, the last one today; of today only what happened before END.
    end = int(END.timestamp() * 1000)
    first = end // _DAY_MS * _DAY_MS - (DAYS - 1) * _DAY_MS
    for day in range(DAYS):
        day_start = first + day * _DAY_MS
        salt = rng.getrandbits(128)
        rows: list[Row] = []
        for project in projects:
            rows += _project_day(
                rng, project, shapes[project], day_start, counts[project][day], salt
            )
        rows.sort(key=lambda row: row[3])
        yield [row for row in rows if row[3] < end]


# --- loading ---------------------------------------------------------------------------


async def _create_projects(url: str) -> list[str]:
    services = build(Settings(database_url=url, bcrypt_rounds=4), clock=FixedClock(END))
    try:
        big = await services.admin.create_project("dashboard-bench")
        small = await services.admin.create_project("dashboard-bench-small")
    finally:
        await services.aclose()
    return [big.project.id, small.project.id]


def _load_sqlite(path: Path, events: int, projects: list[str]) -> int:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-262144")
    # Indexes (and the trigger marking days stale, whose work MARK_ALL_STALE does once) are
    # dropped for the load and made again from the migrations' own DDL after it.
    indexes = connection.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
        " AND tbl_name='events' AND sql IS NOT NULL"
    ).fetchall()
    for kind, name, _ in indexes:
        connection.execute(f'DROP {kind.upper()} "{name}"')
    marks = ", ".join("?" * len(STORED_COLUMNS))
    insert = f"INSERT INTO events ({', '.join(STORED_COLUMNS)}) VALUES ({marks})"
    compact = Compact()
    loaded = 0
    for rows in generate(events, projects):
        connection.execute("BEGIN")
        connection.executemany(insert, map(compact.row, rows))
        connection.execute("COMMIT")
        loaded += len(rows)
    connection.executemany(
        "INSERT INTO project_numbers (number, project_id, texts) VALUES (?, ?, ?)",
        compact.numbers_rows(),
    )
    connection.executemany(
        "INSERT INTO texts (project, id, text) VALUES (?, ?, ?)", compact.texts_rows()
    )
    for _, _, sql in indexes:
        connection.execute(sql)
    # As migrating a database that holds events does: every day with events is stale.
    connection.execute(MARK_ALL_STALE)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return loaded


async def _load_postgres(dsn: str, events: int, projects: list[str]) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"
            " AND indexname NOT LIKE 'pk_%'"
        )
        for row in indexes:
            await connection.execute(f'DROP INDEX "{row["indexname"]}"')
        compact = Compact()
        loaded = 0
        for rows in generate(events, projects):
            await connection.copy_records_to_table(
                "events", records=map(compact.row, rows), columns=STORED_COLUMNS
            )
            loaded += len(rows)
        await connection.copy_records_to_table(
            "project_numbers",
            records=compact.numbers_rows(),
            columns=("number", "project_id", "texts"),
        )
        await connection.copy_records_to_table(
            "texts", records=compact.texts_rows(), columns=("project", "id", "text")
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('project_numbers', 'number'), max(number))"
            " FROM project_numbers"
        )
        await connection.execute("SET maintenance_work_mem = '512MB'")
        for row in indexes:
            await connection.execute(row["indexdef"])
        await connection.execute(MARK_ALL_STALE)
        # What autovacuum would do after a bulk load: statistics and the visibility map.
        await connection.execute("VACUUM ANALYZE events")
    finally:
        await connection.close()
    return loaded


# --- timing ----------------------------------------------------------------------------


@dataclass
class Timing:
    backend: str
    period: str
    query: str
    samples: list[float]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        if len(ordered) == 1:
            return ordered[0]
        position = fraction * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _queries(
    services: Services, project: str, span: TimeRange, now: datetime
) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Every store/query call ``Reporting.stats`` makes for ``span``, by name."""
    events = services.reporting._events
    last_hour = now.replace(minute=0, second=0, microsecond=0)
    recent = TimeRange(start=last_hour - 23 * HOUR, end=last_hour + HOUR)
    before = previous_range(span)
    _, step = step_of(span)
    origin = _floor(span.start, step)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "count_by_action": lambda: events.count_by_action(project, span),
        "unique_visitors": lambda: events.unique_visitors(project, span),
        "top_pages": lambda: events.top_pages(project, span, DEFAULT_TOP),
        "hourly (last 24 h)": lambda: events.series(project, recent, recent.start, HOUR),
        "count_by_action (previous)": lambda: events.count_by_action(project, before),
        "unique_visitors (previous)": lambda: events.unique_visitors(project, before),
        "series": lambda: events.series(project, span, origin, step),
        "top_referrers": lambda: events.top_referrers(project, span, DEFAULT_TOP),
    }
    for action in TARGET_ACTIONS:
        calls[f"top_targets ({action.value})"] = lambda action=action: events.top_targets(
            project, span, action, DEFAULT_TOP
        )
    calls["average_value (scroll)"] = lambda: events.average_value(project, span, Action.SCROLL)
    # The session figures (unfiltered): of the range and of the previous one.
    calls["figures"] = lambda: events.figures(project, span, ())
    calls["figures (previous)"] = lambda: events.figures(project, before, ())
    calls["stats (whole call)"] = lambda: services.reporting.stats(project, span)
    return calls


async def _time(call: Callable[[], Awaitable[Any]], repeats: int, budget: float) -> list[float]:
    """At least 3 runs and at most ``repeats``, fewer once ``budget`` seconds are spent."""
    samples: list[float] = []
    while len(samples) < repeats:
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
        if len(samples) >= 3 and sum(samples) / 1000 > budget:
            break
    return samples


async def measure(
    backend: str,
    url: str,
    project: str,
    repeats: int,
    budget: float,
    run_sql: Callable[[str], Awaitable[None]],
) -> tuple[list[Timing], dict[str, bytes], list[str]]:
    """Stats from the events alone (every day stale), then the rollups computed, stats
    from them compared with those, and every query timed."""
    now = END
    services = build(Settings(database_url=url), clock=FixedClock(now))
    timings: list[Timing] = []
    results: dict[str, bytes] = {}
    notes: list[str] = []
    try:
        raw: dict[str, bytes] = {}
        for period in RANGES:
            span = TimeRange(start=now - PERIODS[period], end=now)
            start = time.perf_counter()
            raw[period] = msgspec.json.encode(await services.reporting.stats(project, span))
            notes.append(
                f"{backend}: stats {period} from the events alone (before the rollups): "
                f"{(time.perf_counter() - start) * 1000:,.0f} ms"
            )
            print("  " + notes[-1], flush=True)
        start = time.perf_counter()
        days = await services.refresh_rollups()
        notes.append(
            f"{backend}: rollups of {days} stale days (both projects) computed in "
            f"{time.perf_counter() - start:,.1f} s"
        )
        print("  " + notes[-1], flush=True)
        if backend == "postgres":
            # What autovacuum does after that many writes (this test server runs with
            # autovacuum off; PostgreSQL's default is on): statistics and dead rows.
            await run_sql("VACUUM ANALYZE " + ", ".join(t.name for t in ROLLUP_TABLES))
        for period in RANGES:
            span = TimeRange(start=now - PERIODS[period], end=now)
            results[period] = msgspec.json.encode(await services.reporting.stats(project, span))
            same = "identical" if results[period] == raw[period] else "DIFFERENT"
            notes.append(f"{backend}: stats {period} from rollups vs from the events: {same}")
            print("  " + notes[-1], flush=True)
        for period in RANGES:
            span = TimeRange(start=now - PERIODS[period], end=now)
            for name, call in _queries(services, project, span, now).items():
                samples = await _time(call, repeats, budget)
                timings.append(Timing(backend, period, name, samples))
                print(
                    f"  {backend} {period:>3} {name:<28} p50 {statistics.median(samples):9.1f} ms"
                    f"  ({len(samples)} runs)",
                    flush=True,
                )
        # The steady state: at midnight one day per project turns over, and an event sent
        # late makes its day stale again; how long recomputing it takes, median of 5, each
        # time after one late visit stored through the event store (which marks the day).
        samples = []
        for n in range(5):
            late = Event(
                project_id=project,
                action=Action.VISIT,
                path="/late",
                timestamp=now - timedelta(hours=16, minutes=n),
                visitor_hash=f"{n:016x}",
            )
            await services.reporting._events.add([late])
            start = time.perf_counter()
            await services.refresh_rollups()
            samples.append((time.perf_counter() - start) * 1000)
        notes.append(
            f"{backend}: recomputing a day of the big project after a late event (and the "
            "blocks above it): "
            f"{statistics.median(samples):,.0f} ms (median of 5)"
        )
        print("  " + notes[-1], flush=True)
    finally:
        await services.aclose()
    return timings, results, notes


async def _pg(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def run_backend(
    backend: str, folder: Path, events: int, repeats: int, budget: float, keep: bool
) -> tuple[list[Timing], dict[str, bytes], float, int, list[str]]:
    if backend == "sqlite":
        path = folder / "dashboard.db"
        url = f"sqlite+aiosqlite:///{path}"
        await migrate(url)
        projects = await _create_projects(url)
        start = time.perf_counter()
        loaded = await asyncio.to_thread(_load_sqlite, path, events, projects)
    else:
        admin = POSTGRES_ADMIN
        await _pg(admin, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await _pg(admin, f'CREATE DATABASE "{DATABASE}"')
        dsn = admin.rsplit("/", 1)[0] + f"/{DATABASE}"
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        await migrate(url)
        projects = await _create_projects(url)
        start = time.perf_counter()
        loaded = await _load_postgres(dsn, events, projects)
    load_seconds = time.perf_counter() - start
    print(f"{backend}: loaded {loaded:,} events in {load_seconds:.0f} s", flush=True)

    async def run_sql(statement: str) -> None:
        if backend == "sqlite":
            await asyncio.to_thread(_sqlite_execute, path, statement)
        else:
            await _pg(dsn, statement)

    try:
        timings, results, notes = await measure(backend, url, projects[0], repeats, budget, run_sql)
    finally:
        if not keep:
            if backend == "sqlite":
                _remove_sqlite(path)
            else:
                await _pg(POSTGRES_ADMIN, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        elif backend == "sqlite":
            print(f"kept the SQLite database {path} ({path.stat().st_size:,} bytes)")
        else:
            print(f"kept the PostgreSQL database {DATABASE!r} (dropped by the next run)")
    return timings, results, load_seconds, loaded, notes


def _sqlite_execute(path: Path, statement: str) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(statement)
    finally:
        connection.close()


def table(timings: list[Timing], backends: list[str]) -> str:
    header = "| query | " + " | ".join(f"{b} {p} p50 / p95 ms" for b in backends for p in RANGES)
    lines = [header + " |", "|---" * (1 + len(backends) * len(RANGES)) + "|"]
    by_key = {(t.backend, t.period, t.query): t for t in timings}
    names = list(dict.fromkeys(t.query for t in timings))
    for name in names:
        cells = []
        for backend in backends:
            for period in RANGES:
                t = by_key.get((backend, period, name))
                cells.append(
                    "" if t is None else f"{t.percentile(0.5):,.0f} / {t.percentile(0.95):,.0f}"
                )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.events:,} events (+ a second project"
        f" of a tenth), load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    timings: list[Timing] = []
    results: dict[str, dict[str, bytes]] = {}
    loads: list[str] = []
    notes: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="privalytics-dash-", dir=args.folder))
    try:
        for backend in backends:
            found, results[backend], seconds, loaded, found_notes = await run_backend(
                backend, folder, args.events, args.repeats, args.budget, args.keep
            )
            timings += found
            notes += found_notes
            loads.append(f"{backend}: {loaded:,} rows in {seconds:.0f} s")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(table(timings, backends))
    print()
    print("load (generation + bulk insert + index build):", "; ".join(loads))
    for note in notes:
        print(note)
    runs = sorted({len(t.samples) for t in timings})
    print(f"runs per query: {runs[0]}-{runs[-1]} (up to --repeats, fewer past --budget s)")
    if len(results) == 2:
        first, second = results.values()
        same = [p for p in RANGES if first[p] == second[p]]
        print(f"stats identical across backends for: {', '.join(same) or 'none'}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=20, help="runs per query and range")
    parser.add_argument(
        "--budget", type=float, default=20.0, help="seconds per query and range (min 3 runs)"
    )
    parser.add_argument("--folder", default=None, help="where the SQLite file goes (a tmp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
