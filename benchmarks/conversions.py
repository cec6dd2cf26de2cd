"""Conversions (issue 14): goal and event breakdowns at 24 h, 30 d and 12 months, a 4-step
funnel over 30 d and the retention table over 30 d with 30-day salts, p50 / p95, each
answer compared with a straight Python computation over the same events.

    python -m benchmarks.conversions --events 200000 --backends sqlite,postgres

Generates ``--events`` events of ``benchmarks/traffic.py`` (two projects, 395 days, every
dimension) with 30-day salts (a visitor keeps a hash within each epoch-aligned 30-day
window, as ``PRIVALYTICS_SALT_ROTATION=30d`` gives), and adds to them what a site with
goals sends (:func:`with_conversions`): custom events with properties after the page views
that lead to them ("Signup" after ``/pricing`` or ``/signup``, "Purchase" with a revenue
after a signup, "Copy command" on the docs, "Outbound Link: Click", "Newsletter", "404").
Stores them through the event store (the real insert path), gives the first project five
goals (pages ``/pricing`` and ``/docs/**``, events "Signup" and "Purchase", a scroll of
75 % on ``/blog/**``) and the funnel ``/`` → ``/pricing`` → Signup → Purchase through the
goal and funnel use cases, then times, through ``privalytics.bootstrap.build`` on that
database (``salt_rotation="30d"``), the calls the API makes:

- ``Reporting.breakdown(project, span, "goal" | "event", limit=10)`` per range;
- ``Reporting.funnel_report(project, funnel, 30 d)``;
- ``CohortReporting.report(project, 30 d)``.

``--repeats`` runs each (at least 3, fewer once ``--budget`` seconds are spent). Each
answer is compared with the domain's reference (``insight.breakdown`` over the range's
events read back, as ``benchmarks/breakdowns.py``) and with straight Python written here
(events per name, funnel steps per visitor and salt window, visitors per day and cohorts).
The goal and event breakdowns are timed through a second ``build`` with the default daily
salt, after the rollups and the goals' day rows are computed (``refresh_rollups``, as the
server's refresh does each minute): under daily salts they read those; the funnel and
the retention table read the range's events.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from msgspec.structs import replace

from benchmarks.dashboard import END, FixedClock, _create_projects
from benchmarks.databases import fresh_database
from benchmarks.run import _machine
from benchmarks.traffic import generate_events
from privalytics.adapters.sqlalchemy import migrate, open_stores
from privalytics.adapters.sqlalchemy.planning import events_in, interval_of
from privalytics.adapters.sqlalchemy.stored import read_events
from privalytics.bootstrap import build
from privalytics.config import Settings
from privalytics.domain import insight
from privalytics.domain.cohorts import days_of, read_span
from privalytics.domain.dimensions import dimension
from privalytics.domain.funnels import FunnelSpec, Step
from privalytics.domain.goals import GoalSpec, goal_dimension
from privalytics.domain.hashing import window_of
from privalytics.domain.models import Action, Event, TimeRange

RANGES = {"24h": timedelta(hours=24), "30d": timedelta(days=30), "12m": timedelta(days=365)}
ROTATION = timedelta(days=30)
DAILY = timedelta(days=1)
# Refresh calls after the first: each warms a month of the goals' day rows (13 months).
WARMING_CALLS = 14
DATABASE = "privalytics_conversions"
TARGETS_MS = {"breakdown": 50.0, "funnel": 1000.0, "retention": 1000.0}

GOALS = (
    GoalSpec(page="/pricing", name="Visit pricing"),
    GoalSpec(page="/docs/**", name="Read the docs"),
    GoalSpec(event="Signup"),
    GoalSpec(event="Purchase"),
    GoalSpec(page="/blog/**", depth=75, name="Read a post"),
)
FUNNEL = FunnelSpec(
    steps=(Step(page="/"), Step(page="/pricing"), Step(event="Signup"), Step(event="Purchase")),
    name="Purchase",
)

# --- the generator's extension: what a site with goals sends ----------------------------

PLANS = {"free": None, "pro": 29.0, "team": 99.0}
CURRENCIES = ("EUR", "USD", "GBP")
LANGUAGES = ("shell", "python", "javascript", "yaml")
OUTBOUND = tuple(f"https://{site}/" for site in ("github.com", "mastodon.social", "example.org"))
# Chances per page view (of a path, or of any page). From the home page, some visitors go
# on to the pricing page (a page view of their session, added here): what funnels hit.
TO_PRICING = 0.08
SIGNUP_ON = {"/pricing": 0.15, "/signup": 0.3}
PURCHASE = 0.35  # after a signup to a paid plan
COPY_COMMAND = 0.05  # on a /docs/ page
OUTBOUND_CLICK = 0.01
NEWSLETTER = 0.004
NOT_FOUND = 0.002


def _custom(view: Event, at: datetime, name: str, props: dict[str, str], **revenue: Any) -> Event:
    """A custom event of ``view``'s visitor on ``view``'s page at ``at``: what the visitor
    carries (browser, place), no source (it comes from the site itself)."""
    return replace(
        view,
        action=Action.CUSTOM,
        timestamp=at,
        name=name,
        props=props,
        target=None,
        value=revenue.get("value"),
        currency=revenue.get("currency"),
        source=None,
        referrer=None,
        utm_source=None,
        utm_medium=None,
        utm_campaign=None,
        utm_term=None,
        utm_content=None,
    )


def _after(rng: random.Random, moment: datetime, low: float, high: float) -> datetime:
    return moment + timedelta(seconds=low + (high - low) * rng.random())


def _conversions(rng: random.Random, view: Event) -> Iterator[Event]:
    """The events that follow page view ``view`` (any number, often none): custom events,
    and from the home page at times a page view of the pricing page and what follows it."""
    path = view.path
    if path == "/" and rng.random() < TO_PRICING:
        pricing = replace(
            view,
            path="/pricing",
            timestamp=_after(rng, view.timestamp, 10, 90),
            source=None,
            referrer=None,
            utm_source=None,
            utm_medium=None,
            utm_campaign=None,
            utm_term=None,
            utm_content=None,
        )
        yield pricing
        yield from _conversions(rng, pricing)
    chance = SIGNUP_ON.get(path, 0.0)
    if chance and rng.random() < chance:
        plan = rng.choice(tuple(PLANS))
        signed = _after(rng, view.timestamp, 20, 120)
        source = "pricing" if path == "/pricing" else "signup page"
        yield _custom(view, signed, "Signup", {"plan": plan, "from": source})
        price = PLANS[plan]
        if price is not None and rng.random() < PURCHASE:
            currency = rng.choice(CURRENCIES)
            yield _custom(
                view,
                _after(rng, signed, 60, 600),
                "Purchase",
                {"plan": plan},
                value=price,
                currency=currency,
            )
    if path.startswith("/docs/") and rng.random() < COPY_COMMAND:
        language = rng.choice(LANGUAGES)
        yield _custom(view, _after(rng, view.timestamp, 5, 60), "Copy command", {"lang": language})
    if rng.random() < OUTBOUND_CLICK:
        url = rng.choice(OUTBOUND)
        yield _custom(
            view, _after(rng, view.timestamp, 5, 90), "Outbound Link: Click", {"url": url}
        )
    if rng.random() < NEWSLETTER:
        at = _after(rng, view.timestamp, 10, 120)
        yield _custom(view, at, "Newsletter", {"list": "monthly", "consent": "true"})
    if rng.random() < NOT_FOUND:
        yield _custom(view, view.timestamp, "404", {"path": path})


def _time_of(event: Event) -> datetime:
    return event.timestamp


def with_conversions(
    days: Iterable[list[Event]], *, seed: int, end: datetime
) -> Iterator[list[Event]]:
    """``days`` (as :func:`~benchmarks.traffic.generate_events` yields them) with the
    events their page views lead to (custom events, pricing page views), each day
    still in time order; none on or
    after ``end`` or past its day (a day's events stay in their UTC day)."""
    for index, events in enumerate(days):
        if not events:
            yield events
            continue
        rng = random.Random(f"{seed}:conversions:{index}")
        first = events[0].timestamp.astimezone(UTC)
        limit = min(end, datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(1))
        added = [
            custom
            for event in events
            if event.action is Action.VISIT
            for custom in _conversions(rng, event)
            if custom.timestamp < limit
        ]
        yield sorted(events + added, key=_time_of)


# --- straight Python: what the answers must be -------------------------------------------


def straight_event_counts(events: Iterable[Event]) -> Counter[str]:
    """Custom events per name."""
    return Counter(e.name for e in events if e.action is Action.CUSTOM and e.name is not None)


def straight_funnel(events: Iterable[Event], rotation: timedelta) -> list[int]:
    """Per step of :data:`FUNNEL` (exact paths and names): the visitors (per project, salt
    window and hash) whose events, in time order, do steps 1..n in that order."""
    runs: dict[tuple[str, int, str], list[Event]] = defaultdict(list)
    for event in events:
        runs[(event.project_id, window_of(event.timestamp, rotation), event.visitor_hash)].append(
            event
        )
    counts = [0] * len(FUNNEL.steps)
    for run in runs.values():
        done = 0
        for event in sorted(run, key=_time_of):
            if done == len(FUNNEL.steps):
                break
            step = FUNNEL.steps[done]
            if step.event is not None:
                hit = event.action is Action.CUSTOM and event.name == step.event
            else:
                hit = event.action is Action.VISIT and event.path == step.page
            done += hit
        for n in range(done):
            counts[n] += 1
    return counts


def straight_retention(
    events: Iterable[Event], days: list[date], rotation: timedelta
) -> tuple[list[int], list[tuple[int, list[int | None]]]]:
    """Visitors per day of ``days``, and per day its cohort (visitors not seen earlier in
    their salt window) with how many of them come back on each later day of the window
    within ``days`` (None past the range or the window)."""
    seen: dict[date, set[str]] = defaultdict(set)
    for event in events:
        seen[event.timestamp.astimezone(UTC).date()].add(event.visitor_hash)

    def window(day: date) -> int:
        return window_of(datetime(day.year, day.month, day.day, tzinfo=UTC), rotation)

    cohorts = []
    for day in days:
        earlier: set[str] = set()
        before = day - timedelta(days=1)
        while window(before) == window(day):
            earlier |= seen.get(before, set())
            before -= timedelta(days=1)
        cohort = seen.get(day, set()) - earlier
        returning: list[int | None] = []
        for k in range(1, rotation.days):
            later = day + timedelta(days=k)
            if later > days[-1] or window(later) != window(day):
                returning.append(None)
            else:
                returning.append(len(cohort & seen.get(later, set())))
        cohorts.append((len(cohort), returning))
    return [len(seen.get(day, set())) for day in days], cohorts


# --- timing ------------------------------------------------------------------------------


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _timed(
    call: Callable[[], Awaitable[Any]], repeats: int, budget: float
) -> tuple[Any, list[float], list[float]]:
    """The last answer, the wall-clock and this process's CPU milliseconds of each run (at
    least 3 runs and at most ``repeats``, fewer once ``budget`` seconds are spent)."""
    samples: list[float] = []
    cpu: list[float] = []
    answer = None
    while len(samples) < repeats:
        began, used = time.perf_counter(), time.process_time()
        answer = await call()
        samples.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - used) * 1000)
        if len(samples) >= 3 and sum(samples) / 1000 > budget:
            break
    return answer, samples, cpu


async def _load(url: str, projects: Sequence[str], events: int) -> tuple[int, float]:
    stores = open_stores(url)
    stored = 0
    start = time.perf_counter()
    try:
        days = generate_events(events, projects, seed=1, end=END, salt_days=ROTATION.days)
        for day in with_conversions(days, seed=1, end=END):
            for offset in range(0, len(day), 5000):
                await stores.events.add(day[offset : offset + 5000])
            stored += len(day)
    finally:
        await stores.dispose()
    return stored, time.perf_counter() - start


async def _range_events(url: str, project: str, span: TimeRange) -> list[Event]:
    stores = open_stores(url)
    try:
        async with stores.engine.connect() as connection:
            return await read_events(connection, events_in(project, interval_of(span)))
    finally:
        await stores.dispose()


def _line(backend: str, period: str, what: str, samples: list[float], cpu: list[float]) -> str:
    kind = what.split()[0]
    target = TARGETS_MS[kind]
    p50, p95 = statistics.median(samples), _p(samples, 0.95)
    verdict = "met" if p95 <= target else "MISSED"
    return (
        f"| {backend} | {period} | {what} | {p50:,.1f} | {p95:,.1f} | {len(samples)} |"
        f" {statistics.median(cpu):,.1f} | {target:,.0f} | {verdict} |"
    )


async def run(
    backend: str, url: str, events: int, repeats: int, budget: float
) -> tuple[list[str], list[str]]:
    """The notes (load, checks) and the table rows of one backend."""
    await migrate(url)
    projects = await _create_projects(url)
    project = projects[0]
    stored, seconds = await _load(url, projects, events)
    notes = [
        f"{backend}: stored {stored:,} events ({events:,} generated + conversions)"
        f" in {seconds:.0f} s"
    ]
    print(notes[-1], flush=True)
    settings = Settings(database_url=url, salt_rotation="30d")
    services = build(settings, clock=FixedClock(END))
    daily = build(Settings(database_url=url), clock=FixedClock(END))
    rows: list[str] = []
    try:
        assert services.goals is not None
        assert services.funnels is not None
        assert services.cohorts is not None
        goals = tuple([await services.goals.add(project, spec) for spec in GOALS])
        funnel = await services.funnels.add(project, FUNNEL)
        reporting, cohorts = services.reporting, services.cohorts
        # Goal and event breakdowns are timed as a site with the default daily salt reads
        # them: from the rollups (custom event names) and the goals' day rows, computed
        # first, as the server's refresh does each minute (a month of goal days per call).
        began = time.perf_counter()
        days = await daily.refresh_rollups()
        for _ in range(WARMING_CALLS):
            await daily.refresh_rollups()
        notes.append(
            f"{backend}: rollups of {days:,} days and the goals' day rows computed in"
            f" {time.perf_counter() - began:.0f} s"
        )
        print(notes[-1], flush=True)
        event_dimension = dimension("event")
        assert event_dimension is not None
        for period, length in RANGES.items():
            span = TimeRange(start=END - length, end=END)
            began = time.perf_counter()
            inside = await _range_events(url, project, span)
            read = time.perf_counter() - began
            customs = straight_event_counts(inside)
            notes.append(
                f"{backend} {period}: {len(inside):,} events of the project in the range,"
                f" {sum(customs.values()):,} custom (read back alone in {read * 1000:,.0f} ms)"
            )
            for name, found in (("goal", goal_dimension(goals)), ("event", event_dimension)):

                async def call(name: str = name, span: TimeRange = span) -> Any:
                    return await daily.reporting.breakdown(project, span, name, limit=10)

                answer, samples, cpu = await _timed(call, repeats, budget)
                expected = insight.breakdown(inside, found, (), DAILY)[:10]
                same = answer.rows == expected
                if name == "event":
                    same = same and all(r.events == customs[r.value] for r in answer.rows)
                    same = same and len(answer.rows) == min(10, len(customs))
                rows.append(_line(backend, period, f"breakdown {name}", samples, cpu))
                notes.append(f"{backend} {period} breakdown {name}: " + _same(same))
                print(rows[-1], notes[-1], flush=True)
            if period != "30d":
                continue

            async def funnel_call(span: TimeRange = span) -> Any:
                return await reporting.funnel_report(project, funnel.id, span)

            answer, samples, cpu = await _timed(funnel_call, repeats, budget)
            counts = [step.visitors for step in answer.steps]
            expected_counts = straight_funnel(inside, ROTATION)
            rows.append(_line(backend, period, "funnel (4 steps)", samples, cpu))
            notes.append(
                f"{backend} 30d funnel visitors per step {counts} (straight: {expected_counts}): "
                + _same(counts == expected_counts)
            )
            print(rows[-1], notes[-1], flush=True)

            async def retention_call(span: TimeRange = span) -> Any:
                return await cohorts.report(project, span)

            answer, samples, cpu = await _timed(retention_call, repeats, budget)
            table = answer.activity
            wide = await _range_events(url, project, read_span(span, ROTATION))
            dau, cohort_rows = straight_retention(wide, days_of(span), ROTATION)
            found_rows = [(c.visitors, c.returning) for c in table.cohorts]
            same = [d.visitors for d in table.days] == dau and found_rows == cohort_rows
            returning = sum(n or 0 for c in table.cohorts for n in c.returning)
            same = same and table.available
            rows.append(_line(backend, period, "retention (30-day salts)", samples, cpu))
            notes.append(
                f"{backend} 30d retention: {len(wide):,} events read, {len(table.cohorts)}"
                f" cohorts, {returning:,} returning visitor-days: " + _same(same)
            )
            print(rows[-1], notes[-1], flush=True)
    finally:
        await services.aclose()
        await daily.aclose()
    return notes, rows


def _same(same: bool) -> str:
    return (
        "equal to the straight computation" if same else "DIFFERENT from the straight computation"
    )


async def main_async(args: argparse.Namespace) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {_machine()}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    notes: list[str] = []
    table = [
        "| backend | range | call | p50 ms | p95 ms | runs | CPU p50 ms | target ms | |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"--- {backend}", flush=True)
        async with fresh_database(backend, DATABASE) as url:
            found = await run(backend, url, args.events, args.repeats, args.budget)
        notes += found[0]
        table += found[1]
    print("\n".join(["", *table, "", *notes]))
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per call and range")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
