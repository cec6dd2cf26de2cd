"""The whole benchmark in one command; prints a Markdown report (see docs/performance.md).

python -m benchmarks.run                      # the full run, about 8 minutes here
python -m benchmarks.run --seconds 3 --runs 1 --levels 64   # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.batch_insert import run_batch_insert
from benchmarks.hotpath import run_hotpath
from benchmarks.load import Row, run_load, table


def _machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _targets(rows: list[Row], batch_rates: dict[str, float]) -> list[str]:
    lines = []
    for backend, target in (("sqlite", 0.80), ("postgres", 0.75)):
        ratios = [r.ratio for r in rows if r.server == backend and r.kind == "single" and r.ratio]
        if ratios:
            best, worst = max(ratios), min(ratios)
            verdict = "met" if worst >= target else "missed"
            if worst < target <= best:
                verdict = "met at some levels"
            lines.append(
                f"- single events on {backend}: {worst:.2f}-{best:.2f} of the ceiling "
                f"(target {target:.2f}): {verdict}"
            )
    raw = batch_rates.get("raw sqlite3.executemany")
    http_batch = [r.events_per_s for r in rows if r.server == "sqlite" and r.kind == "batch"]
    if raw and http_batch:
        ratio = max(http_batch) / raw
        lines.append(
            f"- batches of 100 on SQLite over HTTP: {max(http_batch):,.0f} events/s = "
            f"{ratio:.2f} of raw executemany's {raw:,.0f} rows/s (target 0.50): "
            + ("met" if ratio >= 0.5 else "missed")
        )
    if rows:
        rss = max(r.rss_mb for r in rows if r.server != "bare")
        lines.append(
            f"- server peak RSS: {rss:.0f} MB (target < 200 MB): "
            + ("met" if rss < 200 else "missed")
        )
    lost = sum(r.lost for r in rows)
    lines.append(f"- events answered 202 but missing from the database: {lost}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5, help="per wrk run (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per level (default 3)")
    parser.add_argument("--levels", default="16,64,256", help="wrk connections (16,64,256)")
    parser.add_argument("--kinds", default="single,batch", help="single,batch")
    parser.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="sqlite,postgres (and memory); NAME/redis: that backend with the Redis rate "
        "limiter whatever the worker count (more than one worker always has it)",
    )
    parser.add_argument("--workers", type=int, default=1, help="server workers (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--asgi-servers",
        default="uvicorn",
        help="uvicorn: `privalytics serve` as the README runs it; uvicorn,granian adds the "
        "bare app and the same app factory under granian, ratios to granian's own ceiling",
    )
    parser.add_argument(
        "--compare-src",
        type=Path,
        default=None,
        help="also serve each backend from this source tree (an A/B in the same run)",
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=None,
        help="serve privalytics from this source tree instead of the installed package",
    )
    parser.add_argument("--skip", default="", help="parts to leave out: hotpath,batch,load")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    print(f"## Benchmark run, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"Machine: {_machine()}. Load average at the start (1/5/15 min): {_load()}.")
    print(
        f"Load: wrk -t{args.threads}, {args.seconds:g} s per run, {args.runs} runs per level, "
        f"{args.workers} worker(s), {args.asgi_servers}.\n"
    )
    if "hotpath" not in skip:
        log("hot path micro-benchmark ...")
        print("### Hot path (median µs per event)\n")
        for name, micros in run_hotpath().items():
            print(f"- {name}: {micros:.1f} µs")
        print()
    batch_rates: dict[str, float] = {}
    if "batch" not in skip:
        log("batch insert comparison ...")
        batch_rates = run_batch_insert()
        print("### SQLite batch insert, 100 rows per transaction, in process (rows/s)\n")
        raw = batch_rates["raw sqlite3.executemany"]
        for name, rate in batch_rates.items():
            print(f"- {name}: {rate:,.0f} rows/s ({rate / raw:.2f} of raw)")
        print()
    rows: list[Row] = []
    if "load" not in skip:
        log("HTTP load ...")
        rows = run_load(
            backends=args.backends.split(","),
            kinds=args.kinds.split(","),
            levels=[int(x) for x in args.levels.split(",")],
            runs=args.runs,
            seconds=args.seconds,
            workers=args.workers,
            threads=args.threads,
            asgi_servers=args.asgi_servers.split(","),
            log=log,
            compare_src=args.compare_src,
            src=args.src,
        )
        print("### HTTP ingestion (medians)\n")
        print(table(rows, args.runs))
        print()
    print(f"Load average at the end (1/5/15 min): {_load()}.\n")
    print("### Targets\n")
    print("\n".join(_targets(rows, batch_rates)))


if __name__ == "__main__":
    main()
