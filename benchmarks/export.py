"""What ``privalytics export`` costs: MB/s written and the peak memory of the command.

``python -m benchmarks.export --events 10000000`` generates one project's events over 13
months (the dashboard benchmark's generator and bulk load, benchmarks/dashboard.py) into
a SQLite file, then runs ``privalytics export`` over the whole range, as CSV and as JSON
Lines, in a process of its own each time (``--runs`` times per format, alternating):
the wall time, the file's size, MB/s, and the command's peak resident memory (the
child's ``ru_maxrss``). The target (issue 15): under 100 MB for 10 M events, whatever the
size of the export.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.dashboard import END, _create_projects, _load_sqlite
from privalytics.adapters.sqlalchemy import migrate

FORMATS = ("csv", "jsonl")


def _export(url: str, project_id: str, form: str, target: Path) -> tuple[float, int, float]:
    """Seconds, bytes written and the child's peak RSS in MB of one export."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
    env["PRIVALYTICS_DATABASE_URL"] = url
    start = (END - timedelta(days=400)).strftime("%Y-%m-%d")
    end = (END + timedelta(days=1)).strftime("%Y-%m-%d")
    target.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable, "-m", "privalytics.cli", "export", project_id,
            "--format", form, "--from", start, "--to", end, "--output", str(target),
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of the children is the largest any child reached: a later, smaller child
    # leaves it as it was, so each run's own peak is only known when it is the largest.
    return seconds, target.stat().st_size, max(peak, before) / 1024


async def _database(folder: Path, events: int) -> tuple[str, str]:
    path = folder / "export.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate(url)
    projects = await _create_projects(url)
    began = time.perf_counter()
    loaded = await asyncio.to_thread(_load_sqlite, path, events, projects)
    print(f"loaded {loaded:,} events in {time.perf_counter() - began:.0f} s", flush=True)
    return url, projects[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=None, help="default: a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        url, project_id = asyncio.run(_database(Path(folder), args.events))
        results: dict[str, list[tuple[float, int, float]]] = {form: [] for form in FORMATS}
        for _ in range(args.runs):
            for form in FORMATS:
                results[form].append(_export(url, project_id, form, Path(folder) / f"out.{form}"))
    print(f"\n{args.events:,} events generated (a second project holds a tenth more)")
    print("| format | MB written | seconds (median) | MB/s (median) | peak RSS MB (max) |")
    print("|---|---:|---:|---:|---:|")
    for form, runs in results.items():
        size = runs[0][1] / 1e6
        seconds = statistics.median(run[0] for run in runs)
        rates = statistics.median(run[1] / 1e6 / run[0] for run in runs)
        peak = max(run[2] for run in runs)
        print(f"| {form} | {size:,.0f} | {seconds:.1f} | {rates:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
