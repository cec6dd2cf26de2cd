"""The cost of telling a bot from a browser (``CrawlerListBotDetector.classify``), per call.

- warm: agents the detector has seen, as real traffic repeats the same few hundred;
- cold: agents it has never seen (each call a cache miss, evictions included once the
  cache is full): a burst of new agents or a cache-busting client;
- naive: the same cold agents tried against every pattern of the list in turn (the
  package's own ``is_crawler``, chunks of 25 patterns), for comparison;
- startup: building the index, once per process (the list's JSON is read on import).

Agents are real browsers' (as benchmarks.agents makes them, versions varied so that every
cold call reads an agent never read before) and, one in twelve, Googlebot's. Each figure
is the median of ``--runs`` runs.

python -m benchmarks.bots                    # 5 runs of 200,000 warm and 5,000 cold calls
python -m benchmarks.bots --runs 3 --warm 50000 --cold 2000   # a quick look

Figures: docs/performance.md#bot-filter.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from collections.abc import Callable

import crawleruseragents

from benchmarks.agents import distinct_agents
from privalytics.adapters.bots import DEFAULT_CACHE_SIZE, CrawlerListBotDetector


def _per_call_us(classify: Callable[[str], object], agents: list[str]) -> float:
    start = time.perf_counter()
    for agent in agents:
        classify(agent)
    return (time.perf_counter() - start) / len(agents) * 1e6


def run_bots(
    runs: int = 5, warm_calls: int = 200_000, cold_calls: int = 5_000, working_set: int = 300
) -> dict[str, float]:
    """Median µs per call of each case (startup in ms)."""
    fresh = distinct_agents()
    startups, warm, cold, naive = [], [], [], []
    rng = random.Random(13)
    crawleruseragents.is_crawler("warm the package's own chunks up")
    for _ in range(runs):
        start = time.perf_counter()
        detector = CrawlerListBotDetector()
        startups.append((time.perf_counter() - start) * 1e3)
        # The patterns a browser's agent needs are compiled on first use: once, before.
        detector.classify(next(fresh))
        agents = list(itertools.islice(fresh, cold_calls))
        cold.append(_per_call_us(detector.classify, agents))
        naive.append(_per_call_us(crawleruseragents.is_crawler, agents))
        seen = list(itertools.islice(fresh, working_set))
        for agent in seen:
            detector.classify(agent)
        weights = [1 / rank for rank in range(1, len(seen) + 1)]
        calls = rng.choices(seen, weights=weights, k=warm_calls)
        warm.append(_per_call_us(detector.classify, calls))
    return {
        "warm µs per call": statistics.median(warm),
        "cold µs per call": statistics.median(cold),
        "naive µs per call (every pattern)": statistics.median(naive),
        "startup ms (index)": statistics.median(startups),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=200_000, help="warm calls per run")
    parser.add_argument("--cold", type=int, default=5_000, help="cold calls per run")
    args = parser.parse_args()
    print(f"CrawlerListBotDetector (cache {DEFAULT_CACHE_SIZE}), median of {args.runs} runs:")
    for name, value in run_bots(args.runs, args.warm, args.cold).items():
        print(f"- {name}: {value:.2f}")


if __name__ == "__main__":
    main()
