"""What ``privalytics import`` costs: access-log lines per second and the peak memory of
the command.

``python -m benchmarks.imports --lines 1000000`` writes an access log in the combined
format (30 days that ended yesterday; 60 % page views of 2,000 paths, the rest assets,
bots, errors, redirects and POSTs, as a small site's log looks; 40,000 addresses, a pool of
real browsers' agents, referrers from search engines, social sites and the site itself),
then runs ``privalytics import --no-refresh`` on it, in a process of its own, into a fresh
SQLite file (``--database-url`` for another database, e.g. PostgreSQL: each run then
imports into a new project there) ``--runs`` times: the wall time (parsing and checking
every line, then reading it again and storing the page views in one transaction), lines
per second, and the command's peak resident memory (the child's ``ru_maxrss``); then the
time of ``privalytics rollup``, which computes the imported days' figures (what the
command does before returning without ``--no-refresh``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
)
BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/8.4.0",
    "-",
)
REFERRERS = (
    "-", "-", "-", "https://www.google.com/", "https://duckduckgo.com/",
    "https://news.ycombinator.com/item?id=1", "https://t.co/abc", "https://www.reddit.com/r/x/",
    "https://site.example/", "https://site.example/blog/",
)  # fmt: skip
ASSETS = ("/static/app.css", "/static/app.js", "/img/logo.png", "/favicon.ico", "/font.woff2")


def write_log(path: Path, lines: int, seed: int = 15) -> None:
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=30)
    seconds = 30 * 86_400
    pages = [f"/blog/post-{n}" for n in range(1_950)] + [f"/docs/{n}" for n in range(50)]
    weights = [1 / (rank + 1) for rank in range(len(pages))]
    page_pool = rng.choices(pages, weights, k=50_000)
    addresses = [f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.1"
                 for _ in range(40_000)]  # fmt: skip
    with path.open("w") as out:
        for n in range(lines):
            moment = start + timedelta(seconds=seconds * n // lines)
            when = moment.strftime("%d/%b/%Y:%H:%M:%S +0000")
            ip = rng.choice(addresses)
            agent = rng.choice(AGENTS)
            kind = rng.random()
            method, status, target = "GET", 200, rng.choice(page_pool)
            if kind < 0.30:
                target = rng.choice(ASSETS)
            elif kind < 0.38:
                agent = rng.choice(BOTS)
            elif kind < 0.41:
                status = 404
            elif kind < 0.43:
                status = 301
            elif kind < 0.45:
                method, status = "POST", 302
            elif kind < 0.47:
                target += "?utm_source=newsletter&utm_medium=email"
            referrer = rng.choice(REFERRERS)
            out.write(
                f'{ip} - - [{when}] "{method} {target} HTTP/1.1" {status} 5120 '
                f'"{referrer}" "{agent}"\n'
            )


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "privalytics.cli", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(done.stderr or done.stdout)
    return done


def _import(url: str, log: Path, rollup: bool) -> tuple[float, float, str, float]:
    """Seconds, the child's peak RSS in MB, and the command's report, of one import into
    a new project of ``url`` (``--no-refresh``); then the seconds of ``privalytics
    rollup``, which computes the imported days' figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
    env["PRIVALYTICS_DATABASE_URL"] = url
    env["PRIVALYTICS_BCRYPT_ROUNDS"] = "4"
    created = json.loads(_run(["project", "create", "imported", "--json"], env).stdout)
    project_id = created["project"]["id"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    done = _run(["import", project_id, str(log), "--format", "access-log", "--no-refresh"], env)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of the children is the largest any child reached (see benchmarks/export.py).
    if not rollup:
        return seconds, max(peak, before) / 1024, done.stdout.strip(), float("nan")
    began = time.perf_counter()
    _run(["rollup"], env)
    return seconds, max(peak, before) / 1024, done.stdout.strip(), time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--folder", type=Path, default=None, help="default: a temporary one")
    parser.add_argument("--no-rollup", action="store_true", help="do not time the rollup after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        log = Path(folder) / "access.log"
        began = time.perf_counter()
        write_log(log, args.lines)
        size = log.stat().st_size / 1e6
        print(f"wrote {args.lines:,} lines ({size:,.0f} MB) in {time.perf_counter() - began:.0f} s")
        results = []
        for run in range(args.runs):
            url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / f'import{run}.db'}"
            results.append(_import(url, log, not args.no_rollup))
            print(results[-1][2], flush=True)
    seconds = statistics.median(r[0] for r in results)
    peak = max(r[1] for r in results)
    rollup = statistics.median(r[3] for r in results)
    print(
        "| lines | MB | import s (median) | lines/s (median) | peak RSS MB (max) "
        "| then rollup s (median) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.lines:,} | {size:,.0f} | {seconds:.1f} | {args.lines / seconds:,.0f} "
        f"| {peak:.0f} | {rollup:.1f} |"
    )


if __name__ == "__main__":
    main()
