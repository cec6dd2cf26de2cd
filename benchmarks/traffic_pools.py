"""The pools :mod:`benchmarks.traffic` draws from: people (their browser, system, device
and place, versions moving with the releases), where sessions come from (referrers named by
the real source namer, tagged campaigns), and each project's site (pages, click targets,
downloads, share networks). The values themselves are in :mod:`benchmarks.traffic_values`.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from benchmarks import traffic_values as tv
from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.models import Action

# Sessions: how many come directly, how many through a tagged campaign.
DIRECT = 0.32
CAMPAIGN = 0.04
# Chances per page view (shares: on blog posts only).
SCROLL, CLICK, DOWNLOAD, SHARE = 0.4, 0.09, 0.02, 0.012
NO_REGION, NO_CITY = 0.06, 0.1  # places the address database does not know
NO_DEVICE = 0.004  # events without a screen width (server-side senders)
_EPOCH = date(2024, 1, 1)  # the release tables' day 0

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


# --- who visits ----------------------------------------------------------------------


@dataclass(slots=True)
class Person:
    """One visitor's device and place; a new hash every day (the salt rotates daily).
    ``lag``: how many major versions behind the newest their browser is."""

    number: int
    first_day: int
    last_day: int
    browser: str | None = None
    os: str | None = None
    os_version: str | None = None
    device: str | None = None
    lag: int = 0
    country: str | None = None
    region: str | None = None
    city: str | None = None


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
        person = Person(number=number, first_day=day, last_day=day)
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

Utm = tuple[str | None, str | None, str | None, str | None, str | None]
# A session's first page view: source, referrer and the campaign's five tags.
Landing = tuple[str | None, str | None, Utm]
NO_CAMPAIGN: Utm = (None, None, None, None, None)
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
