"""Benchmark traffic: stored events as ingestion would have stored them, seeded.

A mid-size site's year: people come from search engines, GitHub, Hacker News, Reddit,
Mastodon, a long tail of small sites or directly (about a third), a few percent through
tagged campaigns; they use the browsers and systems of real traffic (as ua-parser names
them, with versions that move with the releases), on phones, tablets, laptops and
desktops, from every country, a few thousand cities among them. Each visit is a session
(:mod:`privalytics.domain.sessions`): one to a few dozen page views, a few minutes long,
about half of them bounces, with scrolls, clicks, downloads and shares between the page
views; some visitors come back the same day after more than 30 minutes, some on later
days (with a new hash: salts rotate daily). Traffic follows ``benchmarks/dashboard.py``'s
shape: a daytime peak, quieter weekends, growth by half over the period.

Every event carries what derivation gives it on arrival: the session's browser, system,
device and place on every event; the source, referrer and campaign only on the session's
first page view (later page views come from the site itself, so ingestion derives none),
and the session takes them from that first event. Nothing here touches a database.

    python -m benchmarks.traffic --events 100000      # generate, print the shape and time
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from msgspec.structs import replace

from benchmarks import traffic_shape as shape
from benchmarks.traffic_pools import (
    DIRECT_LANDING,
    NO_CAMPAIGN,
    Landing,
    Person,
    Population,
    Site,
    Sources,
    Utm,
    agent_on,
)
from privalytics.domain.dimensions import DIMENSIONS, Scope, SessionRole
from privalytics.domain.insight import session_value
from privalytics.domain.models import Action, Event
from privalytics.domain.sessions import PASSIVE_ACTIONS, sessionize

DAYS = 395
_EPOCH_DAY = date(1970, 1, 1)
# Every project after the first has a tenth of its traffic (as benchmarks/dashboard.py).
OTHER_PROJECT_SHARE = 0.1
PAGES = (400, 60)  # the first project's pages, every other one's
# Sessions: how long they are, when they come back.
ONE_PAGE = 0.56  # sessions of one page view (a bounce unless something is clicked)
MORE_PAGES = 0.62  # after the second page view, the chance of one more
MAX_PAGES = 40
READING = (math.log(40), 1.0)  # seconds on a page: log-normal, median 40 s
READING_BOUNDS = (3.0, 20 * 60.0)  # never 30 minutes: the session would end
SAME_DAY_RETURN = 0.15  # after a session, another one later that day
RETURN_GAP = (31 * 60.0, 3 * 3600.0)  # at least this long after, plus exp(mean)
RETURNING = 0.3  # a new session's visitor was seen on an earlier day
RETURN_DAYS = 30


@dataclass
class Summary:
    """What was generated: counts, and the distinct values of every dimension (missing
    values not counted). Visitors: distinct hashes per project and UTC day, summed."""

    events: int = 0
    pageviews: int = 0
    sessions: int = 0
    bounces: int = 0
    direct: int = 0
    campaigns: int = 0
    visitors: int = 0
    values: dict[str, set[str]] = field(default_factory=lambda: {n: set() for n in DIMENSIONS})

    def counts(self) -> dict[str, int]:
        counts = {k: v for k, v in vars(self).items() if isinstance(v, int)}
        return counts | {f"distinct {n}": len(found) for n, found in self.values.items()}


def shape_summary(days: Iterable[Sequence[Event]]) -> Summary:
    """The :class:`Summary` of ``days`` (each the events of one UTC day, as
    :func:`generate_events` yields them), computed from the events alone with
    :func:`~privalytics.domain.sessions.sessionize` and the dimensions' own definitions."""
    summary = Summary()
    for events in days:
        summary.events += len(events)
        summary.visitors += len({(e.project_id, e.visitor_hash) for e in events})
        for session in sessionize(events):
            _count(summary, session.pageviews, session.bounced, session.paths)
            for dimension in DIMENSIONS.values():
                if dimension.scope is Scope.SESSION:
                    value = session_value(dimension, session)
                    if value is not None:
                        summary.values[dimension.name].add(value)
            summary.direct += session.first.source is None
            summary.campaigns += session.first.utm_source is not None
    return summary


def _count(summary: Summary, pageviews: int, bounced: bool, paths: Iterable[str]) -> None:
    summary.sessions += 1
    summary.pageviews += pageviews
    summary.bounces += bounced
    summary.values["page"].update(paths)


# --- the generator -------------------------------------------------------------------


Stamped = tuple[int, Event]  # microseconds into the UTC day, the event


def _stamp(item: Stamped) -> int:
    return item[0]


@dataclass
class _Project:
    id: str
    site: Site
    salt: int
    # People first seen in the last RETURN_DAYS days, oldest first.
    people: list[Person] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=itertools.count)


class Traffic:
    """The generator's state: people, sites and sources; a day's events at a time."""

    def __init__(
        self, project_ids: Sequence[str], seed: int, summary: Summary | None, salt_days: int = 1
    ) -> None:
        self.rng = random.Random(seed)
        self.salt_days = salt_days
        self.population = Population(seed)
        self.sources = Sources(random.Random(f"{seed}:sources"))
        self.summary = summary
        self.projects = [
            _Project(
                pid,
                Site(random.Random(f"{seed}:{pid}"), PAGES[min(n, 1)]),
                self.rng.getrandbits(64),
            )
            for n, pid in enumerate(project_ids)
        ]

    def day(self, index: int, day: date, counts: Sequence[int], limit: int) -> list[Event]:
        """The events of the ``index``-th day ``day``: ``counts[n]`` of project ``n``, all
        before ``limit`` microseconds into the day, in time order."""
        stamped: list[Stamped] = []
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for project, count in zip(self.projects, counts, strict=True):
            stamped += self._project_day(project, index, day, start, count, limit)
        stamped.sort(key=_stamp)
        return [event for _, event in stamped]

    def _project_day(
        self, project: _Project, index: int, day: date, start: datetime, count: int, limit: int
    ) -> list[Stamped]:
        rng = self.rng
        people = project.people
        recent = bisect.bisect_left(people, index - RETURN_DAYS + 1, key=_first_day)
        del people[:recent]
        # Daily salts: the day's index (as ever). Longer ones: salt windows of whole UTC
        # days aligned on the epoch, as privalytics.domain.hashing.window_of.
        window = index if self.salt_days == 1 else (day - _EPOCH_DAY).days // self.salt_days
        salt = shape.daily_salt(project.salt, window)
        weight = shape.mass(limit)
        out: list[Stamped] = []
        while len(out) < count:
            person = self._visitor(project, index)
            if self.summary is not None:
                self.summary.visitors += 1
            landing = self.sources.landing(rng, day)
            moment = shape.moment(rng, weight)
            while True:
                session, last = self._session(
                    project, person, day, start, moment, landing, salt, limit
                )
                need = count - len(out)
                if len(session) > need:
                    session.sort(key=_stamp)
                    del session[need:]
                out += session
                if self.summary is not None:
                    _record(self.summary, session)
                if len(out) >= count or rng.random() >= SAME_DAY_RETURN:
                    break
                moment = last + int((RETURN_GAP[0] + rng.expovariate(1 / RETURN_GAP[1])) * 1e6)
                if moment >= limit:
                    break
                landing = DIRECT_LANDING if rng.random() < 0.7 else self.sources.landing(rng, day)
        return out

    def _visitor(self, project: _Project, index: int) -> Person:
        people = project.people
        if people and self.rng.random() < RETURNING:
            person = people[int(self.rng.random() * len(people))]
            if person.last_day != index:  # one hash a day: not someone seen today
                person.last_day = index
                return person
        person = self.population.person(self.rng, next(project.numbers), index)
        people.append(person)
        return person

    def _session(
        self,
        project: _Project,
        person: Person,
        day: date,
        start: datetime,
        moment: int,
        landing: Landing,
        salt: int,
        limit: int,
    ) -> tuple[list[Stamped], int]:
        """One session from ``moment`` (microseconds into the day): its events before
        ``limit``, and when its last event would be."""
        rng, site = self.rng, project.site
        browser_version, os_version = agent_on(person, day)
        view = Event(
            project_id=project.id,
            action=Action.VISIT,
            path="/",
            timestamp=start,
            visitor_hash=shape.visitor_hash(person.number, salt),
            browser=person.browser,
            browser_version=browser_version,
            os=person.os,
            os_version=os_version,
            device=person.device,
            country=person.country,
            region=person.region,
            city=person.city,
        )
        pages = 1
        if rng.random() >= ONE_PAGE:
            pages = 2
            while pages < MAX_PAGES and rng.random() < MORE_PAGES:
                pages += 1
        source, referrer, utm = landing
        out: list[Stamped] = []
        path = ""
        for number in range(pages):
            previous, path = path, site.pages(rng)
            if path == previous:  # a reload is not another page view here
                path = site.pages(rng)
            page = replace(view, path=path, timestamp=start + timedelta(microseconds=moment))
            out.append((moment, _landed(page, source, referrer, utm) if number == 0 else page))
            reading = math.exp(rng.gauss(*READING))
            dwell = int(min(max(reading, READING_BOUNDS[0]), READING_BOUNDS[1]) * 1e6)
            for chance, action, targets in site.interactions(path):
                if rng.random() < chance:
                    at = moment + int(dwell * (0.2 + 0.75 * rng.random()))
                    done = replace(
                        page,
                        action=action,
                        timestamp=start + timedelta(microseconds=at),
                        target=targets(rng) if targets else None,
                        value=site.depths(rng) if action is Action.SCROLL else None,
                    )
                    out.append((at, done))
            moment += dwell
        last = max(at for at, _ in out)
        return [item for item in out if item[0] < limit], last


def _landed(view: Event, source: str | None, referrer: str | None, utm: Utm) -> Event:
    """The session's first page view, with what its referrer and page URL tell."""
    if source is None and referrer is None and utm == NO_CAMPAIGN:
        return view
    utm_source, utm_medium, utm_campaign, utm_term, utm_content = utm
    return replace(
        view,
        source=source,
        referrer=referrer,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        utm_term=utm_term,
        utm_content=utm_content,
    )


def _record(summary: Summary, session: list[Stamped]) -> None:
    """Count a session as the generator made it (its first item is its first event)."""
    first = session[0][1]
    visits = [event.path for _, event in session if event.action is Action.VISIT]
    interactive = any(event.action not in PASSIVE_ACTIONS for _, event in session)
    summary.events += len(session)
    _count(summary, len(visits), len(visits) == 1 and not interactive, visits)
    summary.direct += first.source is None
    summary.campaigns += first.utm_source is not None
    for dimension in DIMENSIONS.values():
        if dimension.scope is Scope.SESSION:
            if dimension.role is SessionRole.FIRST:
                value = dimension.read(first)
            else:
                value = visits[0] if dimension.role is SessionRole.ENTRY else visits[-1]
            if value is not None:
                summary.values[dimension.name].add(value)


def _first_day(person: Person) -> int:
    return person.first_day


def generate_events(
    total: int,
    project_ids: Sequence[str],
    *,
    seed: int = 0,
    days: int = DAYS,
    end: datetime,
    summary: Summary | None = None,
    salt_days: int = 1,
) -> Iterator[list[Event]]:
    """Exactly ``total`` events over the ``days`` UTC days up to ``end`` (of its day only
    what comes before it), one list per day, oldest first, each in time order. The first
    project has the most; each other one a tenth as many. The same arguments give the same
    events. ``summary``, when given, counts what was made as it is made (which costs about
    a quarter more time). ``salt_days``: how long a visitor keeps a hash (1: a new one
    every UTC day; 30: within each epoch-aligned 30-day salt window, as
    ``PRIVALYTICS_SALT_ROTATION=30d`` gives)."""
    if total < 0 or days < 1 or salt_days < 1 or not project_ids or end.tzinfo is None:
        raise ValueError(
            "need total >= 0, days >= 1, salt_days >= 1, a project and a timezone-aware end"
        )
    traffic = Traffic(project_ids, seed, summary, salt_days)
    end = end.astimezone(UTC)
    last_day = (end - timedelta(microseconds=1)).date()
    first_day = last_day - timedelta(days=days - 1)
    limit = (end - datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC)) // timedelta(
        microseconds=1
    )
    shares = [1.0] + [OTHER_PROJECT_SHARE] * (len(project_ids) - 1)
    totals = [int(total * share / sum(shares)) for share in shares]
    totals[0] += total - sum(totals)
    last = shape.mass(limit) / shape.mass(shape.DAY)
    counts = [shape.day_counts(traffic.rng, t, first_day, days, last) for t in totals]
    for index in range(days):
        day_limit = limit if index == days - 1 else shape.DAY
        today = [project[index] for project in counts]
        yield traffic.day(index, first_day + timedelta(days=index), today, day_limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--days", type=int, default=DAYS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    summary = Summary()
    end = datetime(2026, 11, 29, 14, 37, tzinfo=UTC)  # benchmarks/dashboard.py's END
    projects = [f"project-{n}" for n in range(args.projects)]
    started = time.perf_counter()
    for _ in generate_events(
        args.events, projects, seed=args.seed, days=args.days, end=end, summary=summary
    ):
        pass
    seconds = time.perf_counter() - started
    for name, count in summary.counts().items():
        print(f"{name:<32} {count:>12,}")
    print(f"generated in {seconds:.2f} s ({seconds / max(1, args.events) * 1e6:.1f} µs per event)")


if __name__ == "__main__":
    main()
