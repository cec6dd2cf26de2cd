"""`privalytics admin key list / revoke` on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from privalytics.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("DATABASE_URL", "RATE_LIMIT_URL", "BCRYPT_ROUNDS"):
        monkeypatch.delenv(f"PRIVALYTICS_{name}", raising=False)
    monkeypatch.setenv("PRIVALYTICS_BCRYPT_ROUNDS", "4")
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["--database-url", url, *args])

    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_keys_are_listed_and_one_is_revoked(run: Any) -> None:
    first = _json(run("admin", "key", "create", "--json"))["key"]
    second = _json(run("admin", "key", "create", "--json"))["key"]
    first_id, second_id = first.split("_")[1], second.split("_")[1]
    listed = _json(run("admin", "key", "list", "--json"))["keys"]
    assert {k["id"] for k in listed} == {first_id, second_id}
    assert all(k["revoked_at"] is None for k in listed)
    assert first not in json.dumps(listed)

    revoked = run("admin", "key", "revoke", first_id)
    assert revoked.exit_code == 0, revoked.output
    assert revoked.output.strip() == f"revoked admin key {first_id}"
    states = {
        k["id"]: k["revoked_at"] for k in _json(run("admin", "key", "list", "--json"))["keys"]
    }
    assert states[first_id] is not None
    assert states[second_id] is None
    text = run("admin", "key", "list")
    assert text.exit_code == 0
    assert f"{first_id}  created" in text.output
    assert "revoked" in text.output
    assert "active" in text.output


def test_revoking_an_unknown_key_fails_with_a_message(run: Any) -> None:
    result = run("admin", "key", "revoke", "0" * 16)
    assert result.exit_code == 1
    assert "no admin key" in result.output
