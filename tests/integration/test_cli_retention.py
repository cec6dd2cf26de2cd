"""``privalytics retention`` on a real SQLite file: the plain-words reason under daily
salts, the cohort table's JSON under 7-day salts, and clear errors."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from privalytics.adapters.sqlalchemy import open_stores
from privalytics.cli import main
from privalytics.domain.models import Action, Event


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("DATABASE_URL", "RATE_LIMIT_URL", "BCRYPT_ROUNDS", "SALT_ROTATION"):
        monkeypatch.delenv(f"PRIVALYTICS_{name}", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, rotation: str = "1d") -> Result:
        monkeypatch.setenv("PRIVALYTICS_SALT_ROTATION", rotation)
        return CliRunner().invoke(main, ["--database-url", url, *args])

    invoke.url = url  # type: ignore[attr-defined]
    return invoke


def _seed(url: str, project_id: str) -> int:
    """Three visitors on each of the last five days; returns the visitor-days."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    events = [
        Event(
            project_id=project_id,
            action=Action.VISIT,
            path="/",
            timestamp=today - timedelta(days=day, hours=-1),
            visitor_hash=f"{visitor:016x}",
        )
        for day in range(1, 6)
        for visitor in range(3)
    ]

    async def add() -> None:
        stores = open_stores(url)
        try:
            await stores.events.add(events)
        finally:
            await stores.dispose()

    asyncio.run(add())
    return len(events)


def test_retention_says_why_under_daily_salts_and_counts_under_weekly(run: Any) -> None:
    made = run("project", "create", "Shop", "--json")
    assert made.exit_code == 0, made.output
    project_id = json.loads(made.stdout)["project"]["id"]
    visitor_days = _seed(run.url, project_id)

    daily = run("retention", project_id)
    assert daily.exit_code == 0, daily.output
    assert "cannot be measured" in daily.output
    assert "PRIVALYTICS_SALT_ROTATION" in daily.output
    assert "monthly -" in daily.output

    weekly = run("retention", project_id, "--json", rotation="7d")
    assert weekly.exit_code == 0, weekly.output
    body = json.loads(weekly.stdout)
    assert body["available"] is True
    assert body["salt_rotation_days"] == 7
    assert body["mau_available"] is False
    assert len(body["days"]) == 31
    assert sum(day["dau"] for day in body["days"]) == visitor_days
    assert len(body["cohorts"]) == 31
    assert all(len(c["returning"]) == 6 for c in body["cohorts"])
    text = run("retention", project_id, "--period", "7d", rotation="7d")
    assert text.exit_code == 0, text.output
    assert "returning on day 1, 2, ..." in text.output


def test_retention_errors_are_clear(run: Any) -> None:
    missing = run("retention", "0" * 16)
    assert missing.exit_code == 1
    assert "no project" in missing.output
    made = run("project", "create", "Shop", "--json")
    project_id = json.loads(made.stdout)["project"]["id"]
    bad = run("retention", project_id, "--filter", "nonsense")
    assert bad.exit_code == 2
    assert "Traceback" not in missing.output + bad.output
