"""`privalytics admin user ...` in a subprocess: passwords from a prompt or standard input."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.servers import CLI, cli


def _run(database_url: str, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
    env["PRIVALYTICS_DATABASE_URL"] = database_url
    return subprocess.run(
        [*CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_users_are_created_listed_changed_and_deleted(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"
    created = _run(
        url, "admin", "user", "create", "alice", "--password-stdin", stdin="s3cret pass\n"
    )
    assert created.returncode == 0, created.stderr
    assert "s3cret" not in created.stdout + created.stderr
    prompted = _run(url, "admin", "user", "create", "bob", stdin="another pass\nanother pass\n")
    assert prompted.returncode == 0, prompted.stderr
    listing = cli(url, "admin", "user", "list")
    assert [line.split()[0] for line in listing.stdout.splitlines()] == ["alice", "bob"]
    changed = _run(
        url, "admin", "user", "password", "bob", "--password-stdin", stdin="third pass\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert cli(url, "admin", "user", "delete", "bob").returncode == 0
    missing = cli(url, "admin", "user", "delete", "bob")
    assert missing.returncode == 1
    assert "no user 'bob'" in missing.stderr


def test_bad_input_is_a_one_line_error_with_exit_code_2(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"
    short = _run(url, "admin", "user", "create", "alice", "--password-stdin", stdin="short\n")
    assert short.returncode == 2
    assert "password: must be at least 8 characters" in short.stderr
    assert "Traceback" not in short.stderr
    bad_name = _run(
        url, "admin", "user", "create", "<b>", "--password-stdin", stdin="long enough\n"
    )
    assert bad_name.returncode == 2
    assert "username:" in bad_name.stderr
    _run(url, "admin", "user", "create", "alice", "--password-stdin", stdin="long enough\n")
    again = _run(url, "admin", "user", "create", "alice", "--password-stdin", stdin="long enough\n")
    assert again.returncode == 2
    assert "exists already" in again.stderr
    mismatch = _run(url, "admin", "user", "create", "carol", stdin="one password\nanother one\n")
    assert mismatch.returncode != 0
