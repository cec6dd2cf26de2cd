"""Six weeks of plausible traffic for the demo site, as a tracker would have sent it.

People come from search engines, Hacker News, GitHub, Mastodon, newsletters or directly;
more on weekdays than at weekends, more in the (European and American) day than at night.
Some come back the same day and some over the following days; a newsletter links with
its campaign's UTM parameters. Each person is one device: an address and a browser's user
agent, which the server hashes like any other and never stores, and a screen width. So
that the demo shows countries as a real site would, each person's address is one of a
small block in a country's public address space (made-up people on real networks, as the
offline country table places them); the rest come from the documentation ranges
(RFC 5737, RFC 3849), which lie nowhere.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from privalytics.domain.models import Action, IncomingEvent, PropValue

DAYS = 42
# Sessions on an ordinary weekday at the start of the history; the site grows a little.
_SESSIONS_PER_DAY = 60
_GROWTH = 0.3
# Monday first: busier in the week, quiet at weekends.
_WEEKDAY = (1.0, 1.1, 1.05, 1.0, 0.85, 0.45, 0.5)
# Sessions by UTC hour: night low, Europe's working day, then America's evening.
_HOURS = (2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 11, 12, 13, 13, 12, 10, 9, 8, 6, 4, 3)
# The day (days before today) a post made Hacker News' front page, and its extra sessions.
_LAUNCH_DAY = 17
_LAUNCH_SESSIONS = 100

_HOME, _BLOG, _PRICING, _ABOUT = "/", "/blog/", "/pricing", "/about"
_POSTS = ("/blog/hello-world", "/blog/privacy-first", "/blog/counting-without-cookies")
_DOCS = ("/docs/", "/docs/install", "/docs/api")
_PAGES = (_HOME, _BLOG, *_POSTS, _PRICING, *_DOCS, _ABOUT)
_LAUNCH_POST = "/blog/privacy-first"

# (referrer, weight, landing pages); None is a direct visit (typed, bookmarked, an app).
_NEWSLETTER = "?utm_source=newsletter&utm_medium=email&utm_campaign=december-digest"
_SOURCES: tuple[tuple[str | None, float, tuple[str, ...]], ...] = (
    (None, 30, (_HOME, _HOME, _BLOG, _PRICING, "/docs/")),
    ("https://www.google.com/", 22, (*_DOCS, *_POSTS, _HOME)),
    ("https://duckduckgo.com/", 8, (*_DOCS, *_POSTS, _HOME)),
    ("https://www.bing.com/", 3, (_HOME, "/docs/install")),
    ("https://github.com/privalytics/privalytics", 9, ("/docs/install", _HOME, "/docs/")),
    ("https://news.ycombinator.com/", 4, (_LAUNCH_POST, _HOME)),
    ("https://lobste.rs/s/4xkq2b/counting_visitors_without_cookies", 2, (_POSTS[2],)),
    ("https://mastodon.social/@privalytics", 5, _POSTS),
    ("https://fosstodon.org/@selfhosting", 3, (_LAUNCH_POST, _HOME)),
    ("https://www.reddit.com/r/selfhosted/", 3, (_HOME, _LAUNCH_POST)),
    ("https://selfh.st/weekly/", 3, (_HOME, "/docs/install")),
    ("https://buttondown.com/privacy-digest/archive/", 3, (_POSTS[1], _POSTS[2])),
    # The newsletter's own links name their campaign.
    (None, 4, tuple(f"{post}{_NEWSLETTER}" for post in _POSTS)),
)
_SOURCE_WEIGHTS = tuple(weight for _, weight, _ in _SOURCES)
_HACKER_NEWS = "https://news.ycombinator.com/"

_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
)
_AGENT_WEIGHTS = (20, 10, 12, 8, 6, 6, 18, 14, 6)
# Each agent's screen widths in CSS pixels (a desktop browser may be a laptop's).
_WIDTHS = (
    (1920, 1536, 1366),
    (1440, 1512, 2560),
    (1440, 1512, 1728),
    (1920, 1366),
    (1920, 1536),
    (1920, 1280),
    (390, 393, 430),
    (412, 393),
    (384, 412, 800),
)
_IPV4_RANGES = ("192.0.2", "198.51.100", "203.0.113")
# A /24 in each country's public address space (as the bundled table places it) and how
# many of the people come from there; the rest are documentation addresses (no country).
_COUNTRIES = (
    ("34.101.177", 24),  # US
    ("53.191.153", 14),  # DE
    ("145.183.88", 9),  # GB
    ("194.206.111", 7),  # FR
    ("195.129.232", 6),  # NL
    ("142.115.202", 5),  # CA
    ("103.127.108", 5),  # IN
    ("145.235.121", 3),  # SE
    ("179.250.122", 3),  # BR
    ("126.212.213", 3),  # JP
    ("210.11.93", 2),  # AU
    ("185.209.121", 2),  # ES
    ("93.105.140", 2),  # PL
    ("129.129.232", 2),  # CH
    ("151.85.212", 2),  # IT
    (None, 11),
)
_COUNTRY_WEIGHTS = tuple(weight for _, weight in _COUNTRIES)

# Chances per page view.
_MORE_PAGES = 0.45
_MAX_PAGES = 6
_SCROLL_DEPTHS = (25.0, 50.0, 75.0, 100.0)
_SCROLL_WEIGHTS = (30, 30, 20, 20)
_CLICKS = {
    _HOME: ("Get started", "/pricing", "https://github.com/privalytics/privalytics"),
    _PRICING: ("Start free trial", "Contact sales"),
    "/docs/install": ("Copy command", "https://github.com/privalytics/privalytics"),
}
_DOWNLOAD_CHANCE = {"/docs/install": 0.3, "/blog/privacy-first": 0.05}
_DOWNLOADS = ("/files/privalytics-1.4.0.tar.gz", "/files/privacy-checklist.pdf")
_NETWORKS = ("mastodon", "bluesky", "hacker-news", "linkedin", "email")
# Custom events (docs/goals.md): a sign-up from the pricing page now and then, with its
# plan, and for a paid plan sometimes a purchase with its revenue.
_SIGNUP_CHANCE = 0.12
_PLANS = {"free": 0.6, "pro": 0.3, "team": 0.1}
_PRICES = {"pro": 9.0, "team": 29.0}
_PURCHASE_CHANCE = 0.5
# A person seen in the last RETURN_DAYS days comes back with this chance per new session.
_RETURNING = 0.3
_RETURN_DAYS = 14
_SAME_DAY_RETURN = 0.3


@dataclass(frozen=True)
class Person:
    """One device: what the server sees of a visitor."""

    ip: str
    user_agent: str
    first_seen: datetime
    screen_width: int | None = None


def _person_ip(number: int, network: str | None) -> str:
    if network is not None:
        return f"{network}.{number % 254 + 1}"
    if number < 3 * 254:
        return f"{_IPV4_RANGES[number // 254]}.{number % 254 + 1}"
    return f"2001:db8::{number:x}"


class _Traffic:
    def __init__(self, now: datetime, seed: int) -> None:
        self.now = now
        self.rng = random.Random(seed)  # noqa: S311 (sample data, not secrets)
        self.people: list[Person] = []

    def person(self, start: datetime) -> Person:
        rng = self.rng
        if self.people and rng.random() < _RETURNING:
            # Someone first seen in the last few days: people are in order of first visit.
            since = start - timedelta(days=_RETURN_DAYS)
            first = bisect.bisect_left(self.people, since, key=lambda p: p.first_seen)
            if first < len(self.people):
                return rng.choice(self.people[first:])
        kind = rng.choices(range(len(_AGENTS)), _AGENT_WEIGHTS)[0]
        network = rng.choices(_COUNTRIES, _COUNTRY_WEIGHTS)[0][0]
        person = Person(
            ip=_person_ip(len(self.people), network),
            user_agent=_AGENTS[kind],
            first_seen=start,
            screen_width=rng.choice(_WIDTHS[kind]),
        )
        self.people.append(person)
        return person

    def moment(self, day: datetime, hours: tuple[int, ...] = _HOURS) -> datetime:
        hour = self.rng.choices(range(24), hours)[0]
        return day + timedelta(hours=hour, seconds=self.rng.randrange(3600))

    def session(
        self, person: Person, start: datetime, referrer: str | None, landing: str
    ) -> Iterator[IncomingEvent]:
        """A visit to a few pages and what the visitor did on each."""
        rng = self.rng
        pages = [landing]
        while len(pages) < _MAX_PAGES and rng.random() < _MORE_PAGES:
            pages.append(rng.choice([p for p in _PAGES if p != pages[-1]]))
        moment = start

        def event(
            action: Action,
            path: str,
            *,
            referrer: str | None = None,
            target: str | None = None,
            value: float | None = None,
            name: str | None = None,
            props: dict[str, PropValue] | None = None,
            currency: str | None = None,
        ) -> IncomingEvent:
            return IncomingEvent(
                action=action,
                name=name,
                path=path,
                referrer=referrer,
                target=target,
                value=value,
                currency=currency,
                props=props or {},
                timestamp=moment,
                visitor_ip=person.ip,
                user_agent=person.user_agent,
                screen_width=person.screen_width,
            )

        for index, page in enumerate(pages):
            yield event(Action.VISIT, page, referrer=referrer if index == 0 else None)
            reading = timedelta(seconds=rng.randrange(15, 240))
            if page in _POSTS or page in _DOCS or rng.random() < 0.3:
                moment += reading * rng.random()
                depth = rng.choices(_SCROLL_DEPTHS, _SCROLL_WEIGHTS)[0]
                yield event(Action.SCROLL, page, value=depth)
            if page in _CLICKS and rng.random() < 0.25:
                moment += timedelta(seconds=rng.randrange(2, 30))
                yield event(Action.CLICK, page, target=rng.choice(_CLICKS[page]))
            if rng.random() < _DOWNLOAD_CHANCE.get(page, 0.0):
                moment += timedelta(seconds=rng.randrange(2, 30))
                yield event(Action.DOWNLOAD, page, target=rng.choice(_DOWNLOADS))
            if page == _PRICING and rng.random() < _SIGNUP_CHANCE:
                moment += timedelta(seconds=rng.randrange(20, 120))
                plan = rng.choices(list(_PLANS), list(_PLANS.values()))[0]
                yield event(Action.CUSTOM, page, name="Signup", props={"plan": plan})
                if plan in _PRICES and rng.random() < _PURCHASE_CHANCE:
                    moment += timedelta(seconds=rng.randrange(30, 300))
                    yield event(
                        Action.CUSTOM,
                        page,
                        name="Purchase",
                        props={"plan": plan},
                        value=_PRICES[plan],
                        currency="EUR",
                    )
            if page in _POSTS and rng.random() < 0.06:
                moment += timedelta(seconds=rng.randrange(2, 30))
                yield event(Action.SHARE, page, target=rng.choice(_NETWORKS))
            moment = max(moment, start) + reading

    def day(self, day: datetime, progress: float, launch: bool) -> Iterator[IncomingEvent]:
        rng = self.rng
        count = _SESSIONS_PER_DAY * _WEEKDAY[day.weekday()] * (1 + _GROWTH * progress)
        sessions: list[tuple[datetime, str | None, str]] = []
        for _ in range(round(count * rng.uniform(0.85, 1.15))):
            referrer, _, landings = rng.choices(_SOURCES, _SOURCE_WEIGHTS)[0]
            sessions.append((self.moment(day), referrer, rng.choice(landings)))
        if launch:
            # The post reached the front page at 14:00 UTC: a burst that fades by midnight.
            curve = (0,) * 14 + (10, 14, 12, 10, 8, 6, 5, 4, 3, 2)
            for _ in range(_LAUNCH_SESSIONS):
                sessions.append((self.moment(day, curve), _HACKER_NEWS, _LAUNCH_POST))
        sessions.sort(key=lambda s: s[0])
        for start, referrer, landing in sessions:
            person = self.person(start)
            yield from self.session(person, start, referrer, landing)
            if rng.random() < _SAME_DAY_RETURN:
                # Back later the same day, directly (a tab left open, a bookmark).
                later = start + timedelta(minutes=rng.randrange(60, 480))
                if later.date() == start.date():
                    yield from self.session(person, later, None, rng.choice((_HOME, _BLOG)))


def demo_traffic(now: datetime, *, days: int = DAYS, seed: int = 7) -> list[IncomingEvent]:
    """The events of the ``days`` UTC days up to ``now`` (today's until ``now``), oldest
    first, each with its own timestamp, visitor address and user agent."""
    traffic = _Traffic(now, seed)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    events: list[IncomingEvent] = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        events.extend(traffic.day(day, 1 - back / days, launch=back == _LAUNCH_DAY))
    events.sort(key=_timestamp)
    return [event for event in events if _timestamp(event) < now]


def _timestamp(event: IncomingEvent) -> datetime:
    if event.timestamp is None:
        raise ValueError("every demo event has its timestamp")
    return event.timestamp
