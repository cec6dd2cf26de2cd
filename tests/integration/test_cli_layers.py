"""The `privalytics` command stays a thin adapter: its JSON is the HTTP API's bodies, but
printing them loads no web framework (the shapes live outside the HTTP adapter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Runs every --json command in one fresh interpreter, then names the web modules loaded.
SCRIPT = """
import json, sys
from click.testing import CliRunner
from privalytics.cli import main

def run(*args):
    result = CliRunner().invoke(main, ["--database-url", sys.argv[1], *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)

project_id = run("project", "create", "Blog")["project"]["id"]
printed = [
    run("project", "list"),
    run("project", "show", project_id),
    run("project", "update", project_id, "--name", "Shop"),
    run("project", "token", "rotate", project_id),
    run("project", "token", "list", project_id),
    run("admin", "key", "create"),
    run("admin", "key", "list"),
    run("stats", project_id),
]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"litestar", "uvicorn"}
                or m.startswith("privalytics.adapters.http"))
print(json.dumps({"printed": printed, "loaded": loaded}))
"""


def test_json_output_loads_no_web_framework(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVALYTICS_BCRYPT_ROUNDS", "4")
    url = f"sqlite+aiosqlite:///{tmp_path / 'layers.db'}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["printed"][-1]["visits"] == 0  # stats --json did print the API's body
    assert report["loaded"] == []
