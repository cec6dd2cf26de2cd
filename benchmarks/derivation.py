"""The cost of deriving an arriving event's fields (``Derivation.derive``), per event,
with the real parsers and tables: what issue 13 adds to the ingestion hot path.

- warm: a site's usual traffic: visitors' agents and addresses seen before, most page views
  internal navigation, some from a known site, a few with a campaign;
- cold: every event from an agent, an address and a referring site never seen (every cache
  missing), the worst a burst of new visitors can cost.

python -m benchmarks.derivation              # 5 runs of 50,000 warm and 5,000 cold events
python -m benchmarks.derivation --runs 3 --warm 20000 --cold 2000

Figures (`python -m benchmarks.derivation`, 5 December 2026, Python 3.11, 2 shared cores,
load 1.5): warm 6.9 µs per event (runs 6.8-7.3), cold 42.2 µs (34.8-48.8). The same day,
load 1.8, after the agent cache kept finished answers: warm 5.3 µs (5.2-5.3), cold 40.3 µs
(38.2-40.7).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time

from benchmarks.agents import distinct_agents
from privalytics.adapters.agents import UaParserAgentParser
from privalytics.adapters.geo import IptoccGeoLocator
from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.derivation import Derivation

ORIGINS = ("https://example.com",)
_REFERRERS = [
    "https://example.com/",
    "https://example.com/blog/",
    "https://example.com/pricing",
    "https://www.google.com/",
    "https://news.ycombinator.com/item?id=1",
    None,
]
_PAGES = [
    "/",
    "/pricing",
    "/blog/a-post",
    "https://example.com/?utm_source=newsletter&utm_campaign=spring",
]


def _derivation() -> Derivation:
    return Derivation(
        sources=PublicSuffixSourceNamer(), agents=UaParserAgentParser(), places=IptoccGeoLocator()
    )


def _public_addresses(rng: random.Random) -> list[str]:
    # Addresses in large public blocks of several registries (never private ranges).
    firsts = [8, 31, 46, 62, 77, 85, 92, 109, 133, 151, 178, 193, 200, 212]
    return [
        f"{rng.choice(firsts)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        for _ in range(200_000)
    ]


Sent = tuple[str, str | None, str, str, int]


def _timed(derivation: Derivation, events: list[Sent]) -> float:
    """Microseconds per event to derive ``events`` (page, referrer, agent, address, width)."""
    start = time.perf_counter()
    for page, referrer, agent, ip, width in events:
        derivation.derive(
            page=page,
            referrer=referrer,
            screen_width=width,
            ip=ip,
            user_agent=agent,
            allowed_origins=ORIGINS,
        )
    return (time.perf_counter() - start) / len(events) * 1e6


def warm(count: int, rng: random.Random) -> float:
    """Microseconds per event over traffic whose agents and addresses repeat."""
    derivation = _derivation()
    agents = list(itertools.islice(distinct_agents(), 300))
    addresses = _public_addresses(rng)[:2_000]
    events = [
        (
            rng.choice(_PAGES),
            rng.choice(_REFERRERS),
            rng.choice(agents),
            rng.choice(addresses),
            1280,
        )
        for _ in range(count)
    ]
    _timed(derivation, events)  # fill the caches
    return _timed(derivation, events)


def cold(count: int, rng: random.Random) -> float:
    """Microseconds per event when nothing of an event was seen before."""
    agents = itertools.islice(distinct_agents(), 50_000, 50_000 + count)
    addresses = _public_addresses(rng)
    events = [
        ("/", f"https://site{n}.example{n % 7}.co.uk/page", agent, addresses[n], 390)
        for n, agent in enumerate(agents)
    ]
    return _timed(_derivation(), events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=50_000)
    parser.add_argument("--cold", type=int, default=5_000)
    args = parser.parse_args()
    rng = random.Random(1)
    warms = [warm(args.warm, rng) for _ in range(args.runs)]
    colds = [cold(args.cold, rng) for _ in range(args.runs)]
    for name, figures in (("warm", warms), ("cold", colds)):
        runs = ", ".join(f"{figure:.1f}" for figure in figures)
        print(f"{name}: {statistics.median(figures):.1f} µs per event (runs: {runs})")


if __name__ == "__main__":
    main()
