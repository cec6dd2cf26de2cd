"""The committed tracker build is what tracker/tracker.js builds to (terser, pinned in
tracker/package-lock.json), so the readable source and the served bytes cannot drift."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "tracker"
BUILT = ROOT / "src" / "privalytics" / "adapters" / "http" / "static" / "tracker.js"


def test_the_served_tracker_is_the_build_of_its_source(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        if REQUIRE_SERVICES:
            pytest.fail("npm is needed to build the tracker")
        pytest.skip("npm is not installed")
    if not (SOURCE / "node_modules" / "terser").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SOURCE, check=True, timeout=300)
    output = tmp_path / "tracker.js"
    subprocess.run(
        [npm, "run", "--silent", "build", "--", "--output", str(output)],
        cwd=SOURCE,
        check=True,
        timeout=120,
    )
    assert output.read_bytes() == BUILT.read_bytes(), "run `npm run build` in tracker/"
