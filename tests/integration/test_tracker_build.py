"""The committed tracker builds are what tracker/tracker.js and tracker/tracker-tags.js
build to (terser, pinned in tracker/package-lock.json), so the readable sources and the
served bytes cannot drift."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "tracker"
STATIC = ROOT / "src" / "privalytics" / "adapters" / "http" / "static"
# package.json's script that builds each served file.
BUILDS = {"build:core": "tracker.js", "build:tags": "tracker-tags.js"}


@pytest.mark.parametrize(("build", "built"), BUILDS.items())
def test_the_served_script_is_the_build_of_its_source(
    tmp_path: Path, build: str, built: str
) -> None:
    npm = shutil.which("npm")
    if npm is None:
        if REQUIRE_SERVICES:
            pytest.fail("npm is needed to build the tracker")
        pytest.skip("npm is not installed")
    if not (SOURCE / "node_modules" / "terser").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SOURCE, check=True, timeout=300)
    output = tmp_path / built
    subprocess.run(
        [npm, "run", "--silent", build, "--", "--output", str(output)],
        cwd=SOURCE,
        check=True,
        timeout=120,
    )
    assert output.read_bytes() == (STATIC / built).read_bytes(), "run `npm run build` in tracker/"
