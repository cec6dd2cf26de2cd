"""``python -m benchmarks.dashboard --keep`` keeps the database it names (a newcomer found
the folder empty): the kept SQLite file exists and holds the generated events."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_keep_leaves_the_named_sqlite_database_with_its_events(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "benchmarks.dashboard", "--events", "500",
            "--backends", "sqlite", "--repeats", "1", "--budget", "0.01",
            "--keep", "--folder", str(tmp_path),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    kept = re.search(r"kept the SQLite database (\S+) \(", done.stdout)
    assert kept is not None, done.stdout[-2000:]
    path = Path(kept.group(1))
    assert path.is_relative_to(tmp_path)
    connection = sqlite3.connect(path)
    try:
        (count,) = connection.execute("SELECT count(*) FROM events").fetchone()
    finally:
        connection.close()
    assert count >= 500


@pytest.mark.redis
def test_the_limiter_benchmark_runs_and_prints_a_figure_per_limiter() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.limiter", "--runs", "1", "--checks", "300",
         "--levels", "1,64"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = re.findall(r"^\| (memory|redis), (\d+) in flight \| ([\d.]+) \|", done.stdout, re.M)
    assert [(kind, level) for kind, level, _ in rows] == [
        ("memory", "64"),
        ("redis", "1"),
        ("redis", "64"),
    ]
    assert all(float(figure) > 0 for _, _, figure in rows)
