"""What reading a visit's campaign and source costs per event: ``campaign_of`` on a page
with and without UTM tags, ``source_of`` for internal navigation (most referrers) and for
an outside referrer with the namer's cache warm (a host seen before, as nearly every one
is) and cold (a host never seen: the public-suffix lookups), and building the namer once
per process.

    python -m benchmarks.sources
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.sources import campaign_of, own_hosts, source_of

PAGE = "https://example.com/blog/post-1"
TAGGED = (
    "https://example.com/blog/post-1?utm_source=newsletter&utm_medium=email"
    "&utm_campaign=spring+sale&fbclid=IwAR2x9"
)
REFERRER = "https://www.google.de/search?q=privacy+analytics"
INTERNAL = "https://www.example.com/blog/?page=2"
OWN = own_hosts(["https://example.com", "https://www.example.com"])


def _per_call(body: Callable[[int], None], calls: int, repeats: int) -> float:
    """Median µs per call of ``body(calls)`` over ``repeats`` runs."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        body(calls)
        timings.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(timings)


def run_sources(calls: int = 50_000, repeats: int = 5) -> dict[str, float]:
    """Median µs per call of each measured step."""
    start = time.perf_counter()
    namer = PublicSuffixSourceNamer()
    results = {"PublicSuffixSourceNamer() (once per process)": (time.perf_counter() - start) * 1e6}
    untagged, tagged = campaign_of(PAGE), campaign_of(TAGGED)

    def no_query(n: int) -> None:
        for _ in range(n):
            campaign_of(PAGE)

    def utm_query(n: int) -> None:
        for _ in range(n):
            campaign_of(TAGGED)

    def warm(n: int) -> None:
        for _ in range(n):
            source_of(REFERRER, untagged, OWN, namer)

    def internal(n: int) -> None:
        for _ in range(n):
            source_of(INTERNAL, untagged, OWN, namer)

    def warm_tagged(n: int) -> None:
        for _ in range(n):
            source_of(REFERRER, tagged, OWN, namer)

    fresh = iter(range(10**9))

    def cold(n: int) -> None:
        # Hosts never seen, of the shapes met: known sites' subdomains, other sites.
        for _ in range(n):
            i = next(fresh)
            host = f"s{i}.google.co.uk" if i % 2 else f"www.site{i}.example.co.uk"
            source_of(f"https://{host}/a?b", untagged, OWN, namer)

    def cold_namer(n: int) -> None:
        for _ in range(n):
            namer.name(f"www.site{next(fresh)}.example.com")

    def warm_namer(n: int) -> None:
        for _ in range(n):
            namer.name("www.google.de")

    for name, body in (
        ("campaign_of, page without query", no_query),
        ("campaign_of, page with 3 UTM tags and 1 other", utm_query),
        ("source_of, internal navigation (the site's own page)", internal),
        ("source_of, warm cache (Google referrer)", warm),
        ("source_of, warm cache, utm_source set", warm_tagged),
        ("source_of, cold cache (a host never seen)", cold),
        ("namer.name, warm", warm_namer),
        ("namer.name, cold", cold_namer),
    ):
        results[name] = _per_call(body, calls, repeats)
    return results


if __name__ == "__main__":
    print(f"sources ({datetime.now(UTC):%Y-%m-%d}, median of 5 runs of 50 000 calls):")
    for name, micros in run_sources().items():
        print(f"  {name}: {micros:.2f} µs")
