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
from typing import Generic, TypeVar

from msgspec.structs import replace

from benchmarks import traffic_values as tv
from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.dimensions import DIMENSIONS, Scope, SessionRole
from privalytics.domain.insight import session_value
from privalytics.domain.models import Action, Event
from privalytics.domain.sessions import PASSIVE_ACTIONS, sessionize

DAYS = 395
# Every project after the first has a tenth of its traffic (as benchmarks/dashboard.py).
OTHER_PROJECT_SHARE = 0.1
PAGES = (400, 60)  # the first project's pages, every other one's
# The shape of benchmarks/dashboard.py: growth over the period, weekends, hours (UTC).
GROWTH = 0.5
WEEKEND = 0.7
HOUR_WEIGHTS = tuple(0.2 + max(0.0, 1 - abs(hour - 14) / 9) for hour in range(24))
# Sessions: where they come from, how long they are, what happens in them.
DIRECT = 0.32
CAMPAIGN = 0.04
ONE_PAGE = 0.56  # sessions of one page view (a bounce unless something is clicked)
MORE_PAGES = 0.62  # after the second page view, the chance of one more
MAX_PAGES = 40
READING = (math.log(40), 1.0)  # seconds on a page: log-normal, median 40 s
READING_BOUNDS = (3.0, 20 * 60.0)  # never 30 minutes: the session would end
SCROLL, CLICK, DOWNLOAD, SHARE = 0.4, 0.09, 0.02, 0.012  # per page view (shares: posts)
SAME_DAY_RETURN = 0.15  # after a session, another one later that day
RETURN_GAP = (31 * 60.0, 3 * 3600.0)  # at least this long after, plus exp(mean)
RETURNING = 0.3  # a new session's visitor was seen on an earlier day
RETURN_DAYS = 30
NO_REGION, NO_CITY = 0.06, 0.1  # places the address database does not know
NO_DEVICE = 0.004  # events without a screen width (server-side senders)
_EPOCH = date(2024, 1, 1)  # the release tables' day 0
_HOUR = 3_600_000_000  # microseconds
_DAY = 24 * _HOUR
_MASK = (1 << 64) - 1
_HOUR_CUMULATIVE = tuple(itertools.accumulate(HOUR_WEIGHTS))

T = TypeVar("T")


class Table(Generic[T]):
    """Values drawn by weight (a bisection over cumulative weights)."""

    __slots__ = ("cumulative", "total", "values")

    def __init__(self, weighted: Iterable[tuple[T, float]]) -> None:
        pairs = list(weighted)
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    @classmethod
    def zipf(cls, values: Iterable[T], exponent: float) -> Table[T]:
        return cls((value, 1 / rank**exponent) for rank, value in enumerate(values, 1))

    def __call__(self, rng: random.Random) -> T:
        at = bisect.bisect(self.cumulative, rng.random() * self.total)
        return self.values[min(at, len(self.values) - 1)]


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


# --- who visits ----------------------------------------------------------------------


class Person:
    """One visitor's device and place; a new hash every day (the salt rotates daily)."""

    __slots__ = ("browser", "country", "device", "first_day", "lag", "last_day", "number")
    __slots__ += ("city", "os", "os_version", "region")

    def __init__(self, number: int, day: int) -> None:
        self.number = number
        self.first_day = self.last_day = day
        self.browser: str | None = None
        self.os: str | None = None
        self.os_version: str | None = None
        self.device: str | None = None
        self.lag = 0
        self.country: str | None = None
        self.region: str | None = None
        self.city: str | None = None


class Population:
    """Draws new people: their platform, browser and place."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.platforms = Table((p, share) for p, share in _platforms())
        tail = [code for code in tv.COUNTRIES if code not in tv.COUNTRY_HEAD]
        random.Random(f"{seed}:countries").shuffle(tail)
        rest = max(1.0, 1000 - sum(tv.COUNTRY_HEAD.values()))
        scale = rest / sum(1 / rank for rank in range(1, len(tail) + 1))
        weighted = [*tv.COUNTRY_HEAD.items(), *((c, scale / r) for r, c in enumerate(tail, 1))]
        self.countries = Table(weighted)
        self._regions: dict[str, Table[str]] = {}
        self._cities: dict[str, Table[str]] = {}
        self._lags = Table(enumerate(tv.VERSION_LAG))
        self._slow_lags = Table(enumerate(tv.SAFARI_LAG))

    def person(self, rng: random.Random, number: int, day: int) -> Person:
        person = Person(number, day)
        os, devices, browsers, versions = self.platforms(rng)
        person.os = os
        person.browser = browser = browsers(rng)
        person.device = None if rng.random() < NO_DEVICE else devices(rng)
        release = tv.RELEASES.get(browser or "")
        slow = os == "iOS" or (release is not None and release[2] > 60)
        person.lag = (self._slow_lags if slow else self._lags)(rng)
        if os == "Android" and browser in tv.REDUCED_ANDROID:
            person.os_version = "10"
        elif os != "iOS":
            person.os_version = versions(rng)
        person.country = country = self.countries(rng)
        if rng.random() >= NO_REGION:
            person.region = region = self._region_table(country)(rng)
            if rng.random() >= NO_CITY:
                person.city = self._city_table(region)(rng)
        return person

    def _region_table(self, country: str) -> Table[str]:
        table = self._regions.get(country)
        if table is None:
            codes = tv.REGIONS.get(country, "").split()
            if not codes:
                count = 2 + random.Random(f"{self.seed}:{country}").randrange(10)
                codes = [f"{n:02d}" for n in range(1, count + 1)]
            table = self._regions[country] = Table.zipf((f"{country}-{c}" for c in codes), 1.0)
        return table

    def _city_table(self, region: str) -> Table[str]:
        table = self._cities.get(region)
        if table is None:
            rng = random.Random(f"{self.seed}:{region}")
            names = [n for n in tv.CITIES.get(region, "").split(",") if n]
            rank = self._region_table(region[:2]).values.index(region)
            head = region[:2] in tv.REGIONS
            made_up = (8 + 120 // (rank + 1)) if head else (3 + 12 // (rank + 1))
            names += dict.fromkeys(tv.made_up_place(rng) for _ in range(made_up))
            table = self._cities[region] = Table.zipf(names, 1.1)
        return table


_Platform = tuple[str | None, Table[str], Table[str | None], Table[str | None]]


def _platforms() -> Iterator[tuple[_Platform, float]]:
    for os, share, devices, browsers in tv.PLATFORMS:
        versions = Table(tv.OS_VERSIONS.get(os, {None: 1}).items())
        yield (os, Table(devices.items()), Table(browsers.items()), versions), share


def agent_on(person: Person, day: date) -> tuple[str | None, str | None]:
    """The browser's major version and the system's version of ``person`` on ``day``:
    browsers update themselves, ``person.lag`` majors behind the newest."""
    days = (day - _EPOCH).days
    os_version = person.os_version
    if person.os == "iOS":
        first_major, first_day = tv.IOS_FIRST
        step = (days - first_day) // tv.IOS_MINOR_DAYS - person.lag * 2
        major, minor = first_major + step // tv.IOS_MINORS, step % tv.IOS_MINORS
        os_version = f"{major}.{minor}"
        if person.browser == "Safari":  # Safari ships with the system
            return str(major), os_version
    browser = person.browser or ""
    if browser in tv.FIXED_VERSIONS:
        return tv.FIXED_VERSIONS[browser], os_version
    release = tv.RELEASES.get(browser)
    if release is None:
        return None, os_version
    version, released, period = release
    return str(version + (days - released) // period - person.lag), os_version


# --- where they come from, what they see ---------------------------------------------

_Utm = tuple[str | None, str | None, str | None, str | None, str | None]
# A session's first page view: source, referrer and the campaign's five tags.
Landing = tuple[str | None, str | None, _Utm]
NO_CAMPAIGN: _Utm = (None, None, None, None, None)
DIRECT_LANDING: Landing = (None, None, NO_CAMPAIGN)


class Sources:
    """Referrers named as the real source namer names them, and tagged campaigns."""

    def __init__(self, rng: random.Random) -> None:
        namer = PublicSuffixSourceNamer()
        urls = [*tv.KNOWN_REFERRERS, *tv.referrer_tail(rng, 3000)]
        self.referrers = Table.zipf(((namer.name(url.split("/")[2]), url) for url in urls), 1.2)
        self.campaigns = Table(tv.CAMPAIGN_SOURCES)

    def landing(self, rng: random.Random, day: date) -> Landing:
        draw = rng.random()
        if draw < DIRECT:
            return DIRECT_LANDING
        if draw < DIRECT + CAMPAIGN:
            source, medium, referrer = self.campaigns(rng)
            name = rng.choice(tv.CAMPAIGN_NAMES)
            if name == "weekly-digest":  # one campaign per issue
                name = f"{name}-{day:%G-%V}"
            term = None
            if medium == "cpc":
                term = f"{rng.choice(tv.SLUG_WORDS)} {rng.choice(tv.SLUG_WORDS)}"
            content = rng.choice(tv.CAMPAIGN_CONTENTS) if rng.random() < 0.5 else None
            return source, referrer, (source, medium, name, term, content)
        name, url = self.referrers(rng)
        return name, url, NO_CAMPAIGN


class Site:
    """A project's pages (Zipf popularity, the home page first) and what can be clicked,
    downloaded and shared on them."""

    def __init__(self, rng: random.Random, pages: int) -> None:
        paths = list(tv.STATIC_PAGES)
        sections = Table(tv.SECTIONS.items())
        while len(paths) < pages:
            slug = "-".join(rng.sample(tv.SLUG_WORDS, rng.randint(2, 4)))
            path = f"/{sections(rng)}/{slug}"
            if path not in paths:
                paths.append(path)
        rest = paths[1:]
        rng.shuffle(rest)
        self.pages = Table.zipf([paths[0], *rest], 1.05)
        self.clicks = Table.zipf(tv.CLICK_TARGETS, 1.2)
        files = [f"https://cdn.example.com/files/{w}-{n}.pdf" for n, w in enumerate(tv.SLUG_WORDS)]
        self.downloads = Table.zipf(files, 1.1)
        self.depths = Table(zip(tv.SCROLL_DEPTHS, (30, 30, 20, 20), strict=True))
        self.networks = Table.zipf(tv.SHARE_NETWORKS, 1.0)
        self._page: tuple[_Interaction, ...] = (
            (SCROLL, Action.SCROLL, None),
            (CLICK, Action.CLICK, self.clicks),
            (DOWNLOAD, Action.DOWNLOAD, self.downloads),
        )
        self._post = (*self._page, (SHARE, Action.SHARE, self.networks))

    def interactions(self, path: str) -> tuple[_Interaction, ...]:
        """What may happen on ``path``: chances, actions, and their targets."""
        return self._post if path.startswith("/blog/") else self._page


_Interaction = tuple[float, Action, Table[str] | None]


# --- the generator -------------------------------------------------------------------


def visitor_hash(number: int, salt: int) -> str:
    """A 64-bit hash (16 hex characters) for person ``number`` under ``salt``: a bijection
    of the number for a given salt (multiply, xor-shift), so no two people share one."""
    value = (number * 0x9E3779B97F4A7C15 + salt) & _MASK
    value ^= value >> 31
    value = (value * 0xBF58476D1CE4E5B9) & _MASK
    return f"{value ^ (value >> 29):016x}"


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

    def __init__(self, project_ids: Sequence[str], seed: int, summary: Summary) -> None:
        self.rng = random.Random(seed)
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
        salt = (project.salt + index * 0xD1B54A32D192ED03) & _MASK
        mass = _mass(limit)
        out: list[Stamped] = []
        while len(out) < count:
            person = self._visitor(project, index)
            self.summary.visitors += 1
            landing = self.sources.landing(rng, day)
            moment = _moment(rng, mass)
            while True:
                session, last = self._session(
                    project, person, day, start, moment, landing, salt, limit
                )
                need = count - len(out)
                if len(session) > need:
                    session.sort(key=_stamp)
                    del session[need:]
                out += session
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
            if person.last_day != index and person.first_day != index:
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
            visitor_hash=visitor_hash(person.number, salt),
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
            at = moment
            if number == 0:
                first = replace(view, path=path, timestamp=start + timedelta(microseconds=at))
                out.append((at, _landed(first, source, referrer, utm)))
            else:
                out.append(
                    (at, replace(view, path=path, timestamp=start + timedelta(microseconds=at)))
                )
            reading = math.exp(rng.gauss(*READING))
            dwell = int(min(max(reading, READING_BOUNDS[0]), READING_BOUNDS[1]) * 1e6)
            for chance, action, target in site.interactions(path):
                if rng.random() < chance:
                    at = moment + int(dwell * (0.2 + 0.75 * rng.random()))
                    value = site.depths(rng) if action is Action.SCROLL else None
                    out.append(
                        (
                            at,
                            replace(
                                view,
                                action=action,
                                path=path,
                                timestamp=start + timedelta(microseconds=at),
                                target=target(rng) if target else None,
                                value=value,
                            ),
                        )
                    )
            moment += dwell
        last = max(at for at, _ in out)
        return [item for item in out if item[0] < limit], last


def _landed(view: Event, source: str | None, referrer: str | None, utm: _Utm) -> Event:
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


def _mass(limit: int) -> float:
    """The hour weights' mass before ``limit`` microseconds into a day."""
    hour, part = divmod(min(limit, _DAY), _HOUR)
    before = _HOUR_CUMULATIVE[hour - 1] if hour else 0.0
    return before + (HOUR_WEIGHTS[hour] * part / _HOUR if hour < 24 else 0.0)


def _moment(rng: random.Random, mass: float) -> int:
    """Microseconds into a day, by the hour weights, within the first ``mass`` of them."""
    drawn = rng.random() * mass
    hour = min(bisect.bisect(_HOUR_CUMULATIVE, drawn), 23)
    before = _HOUR_CUMULATIVE[hour - 1] if hour else 0.0
    return hour * _HOUR + min(int((drawn - before) / HOUR_WEIGHTS[hour] * _HOUR), _HOUR - 1)


def day_counts(rng: random.Random, total: int, first: date, days: int, last: float) -> list[int]:
    """``total`` events over ``days`` days from ``first``: growing by GROWTH over the
    period, weekends at WEEKEND; the last day counts for the fraction ``last``."""
    weights = []
    for day in range(days):
        weekend = (first + timedelta(days=day)).weekday() >= 5
        weights.append((1 + GROWTH * day / days) * (WEEKEND if weekend else 1.0))
    weights[-1] *= last
    scale = total / sum(weights)
    counts = [int(weight * scale) for weight in weights]
    open_days = [day for day in range(days) if weights[day] > 0]
    rng.shuffle(open_days)
    for extra in range(total - sum(counts)):
        counts[open_days[extra % len(open_days)]] += 1
    return counts


def generate_events(
    total: int,
    project_ids: Sequence[str],
    *,
    seed: int = 0,
    days: int = DAYS,
    end: datetime,
    summary: Summary | None = None,
) -> Iterator[list[Event]]:
    """Exactly ``total`` events over the ``days`` UTC days up to ``end`` (of its day only
    what comes before it), one list per day, oldest first, each in time order. The first
    project has the most; each other one a tenth as many. The same arguments give the same
    events. ``summary``, when given, counts what was made as it is made."""
    if total < 0 or days < 1 or not project_ids or end.tzinfo is None:
        raise ValueError("need total >= 0, days >= 1, a project and a timezone-aware end")
    traffic = Traffic(project_ids, seed, Summary() if summary is None else summary)
    end = end.astimezone(UTC)
    last_day = (end - timedelta(microseconds=1)).date()
    first_day = last_day - timedelta(days=days - 1)
    limit = (end - datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC)) // timedelta(
        microseconds=1
    )
    shares = [1.0] + [OTHER_PROJECT_SHARE] * (len(project_ids) - 1)
    totals = [int(total * share / sum(shares)) for share in shares]
    totals[0] += total - sum(totals)
    last = _mass(limit) / _mass(_DAY)
    counts = [day_counts(traffic.rng, t, first_day, days, last) for t in totals]
    for index in range(days):
        day_limit = limit if index == days - 1 else _DAY
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
