"""The cost of reading a user agent (``UaParserAgentParser.parse``), per call.

- warm: agents the parser has seen, as real traffic repeats the same few hundred;
- cold: agents it has never seen (each call a cache miss, evictions included once the
  cache is full), what a burst of new agents or a cache-busting client costs;
- startup: building the matchers, once per process.

Agents are real ones from twelve browsers and systems, versions varied so that every cold
call reads an agent never read before. Each figure is the median of ``--runs`` runs.

python -m benchmarks.agents                   # 5 runs of 200,000 warm and 5,000 cold calls
python -m benchmarks.agents --runs 3 --warm 50000 --cold 2000   # a quick look

Figures (`python -m benchmarks.agents`, ua-parser 1.0.2, ua-parser-rs 0.1.5, builtins
202610, Python 3.11, 2 cores shared with a mutation-testing run, load 4.2): warm 2.1-2.3 µs,
cold 13.6-13.8 µs, startup 118-123 ms. Keying the cache by a digest instead of the agent
costs 0.7 µs of the warm figure (1.4 µs with ua-parser's cache keyed by the agent's text).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from collections.abc import Iterator

from privalytics.adapters.agents import DEFAULT_CACHE_SIZE, UaParserAgentParser

_TEMPLATES = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{a}.0) Gecko/20100101 Firefox/{a}.{c}",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.0.0 Safari/537.36 Edg/{a}.0.{b}.{c}",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{a}.{c} Safari/605.1.{b}",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{a}.0) Gecko/20100101 Firefox/{a}.{c}",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{c} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.{c} Mobile/15E{b} Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_{c} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.{c} Mobile/15E{b} Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/{c}.0 Chrome/{a}.0.{b}.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{c} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/{a}.0.{b}.119 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.{c}; +http://www.google.com/bot.html?{a}.{b})",
)


def distinct_agents() -> Iterator[str]:
    """Real agents, each different from every one before it."""
    for b, a, c in itertools.product(range(1000, 10**6), range(100, 130), range(10)):
        for template in _TEMPLATES:
            yield template.format(a=a, b=b, c=c)


def _per_call_us(parser: UaParserAgentParser, agents: list[str]) -> float:
    parse = parser.parse
    start = time.perf_counter()
    for agent in agents:
        parse(agent)
    return (time.perf_counter() - start) / len(agents) * 1e6


def run_agents(
    runs: int = 5, warm_calls: int = 200_000, cold_calls: int = 5_000, working_set: int = 300
) -> dict[str, float]:
    """Median µs per call of each case (startup in ms)."""
    fresh = distinct_agents()
    startups, warm, cold = [], [], []
    rng = random.Random(13)
    for _ in range(runs):
        start = time.perf_counter()
        parser = UaParserAgentParser()
        startups.append((time.perf_counter() - start) * 1e3)
        # Cold first, on agents never seen, evictions included past the cache's size.
        cold.append(_per_call_us(parser, list(itertools.islice(fresh, cold_calls))))
        # Warm: a working set smaller than the cache, drawn with repeats (a few agents
        # are most of the traffic), every agent read once before.
        seen = list(itertools.islice(fresh, working_set))
        for agent in seen:
            parser.parse(agent)
        weights = [1 / rank for rank in range(1, len(seen) + 1)]
        calls = rng.choices(seen, weights=weights, k=warm_calls)
        warm.append(_per_call_us(parser, calls))
    return {
        "warm µs per call": statistics.median(warm),
        "cold µs per call": statistics.median(cold),
        "startup ms (matchers)": statistics.median(startups),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=200_000, help="warm calls per run")
    parser.add_argument("--cold", type=int, default=5_000, help="cold calls per run")
    args = parser.parse_args()
    print(f"UaParserAgentParser (cache {DEFAULT_CACHE_SIZE}), median of {args.runs} runs:")
    for name, value in run_agents(args.runs, args.warm, args.cold).items():
        print(f"- {name}: {value:.2f}")


if __name__ == "__main__":
    main()
