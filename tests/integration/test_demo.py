"""The demo's history on a real SQLite file: six weeks of traffic with a weekly rhythm,
recorded through the ingestion path and hashed per salt window as real traffic is."""

from __future__ import annotations

import asyncio
import itertools
import shlex
import sqlite3
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from privalytics import bootstrap
from privalytics.adapters.sqlalchemy.dictionary import ACTIONS, visitor_text
from privalytics.cli import _dashboard_hint, main
from privalytics.config import Settings, load_settings
from privalytics.demo import prepare_demo
from privalytics.domain.hashing import salt_key, window_of
from privalytics.domain.models import Action, ClientInfo, IncomingEvent

# Past this gap between two events of one visitor, a new session begins (the usual 30
# minutes of web analytics).
SESSION_GAP = timedelta(minutes=30)
WEEKEND = {5, 6}


def _prepare(settings: Settings) -> tuple[str, datetime]:
    async def run() -> tuple[str, datetime]:
        await bootstrap.migrate(settings)
        now = datetime.now(UTC)
        return await prepare_demo(settings, now=now), now

    return asyncio.run(run())


def _events(path: Path) -> list[tuple[datetime, str, str, float | None, str | None]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT ts, visitor, action, value, t.text FROM events e"
            " LEFT JOIN texts t ON t.project = e.project AND t.id = e.referrer ORDER BY ts"
        ).fetchall()
    return [
        (
            datetime.fromtimestamp(ts / 1000, UTC),
            visitor_text(visitor),
            ACTIONS[action].value,
            value,
            referrer,
        )
        for ts, visitor, action, value, referrer in rows
    ]


@pytest.mark.parametrize(
    ("rotation", "max_age_hours"),
    # The defaults; and week-long salts with a short accepted event age, which the replay
    # must record in pieces of a few hours.
    [("1d", 24), ("7d", 3)],
)
def test_the_demo_has_six_weeks_of_traffic_hashed_per_salt_window(
    tmp_path: Path, rotation: str, max_age_hours: int
) -> None:
    path = tmp_path / "demo.db"
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        salt_rotation=rotation,
        max_event_age_hours=max_age_hours,
    )
    _, now = _prepare(settings)
    events = _events(path)

    first, last = events[0][0], events[-1][0]
    assert last - first >= timedelta(days=35)
    assert last <= now

    per_day: dict[date, int] = defaultdict(int)
    for moment, *_ in events:
        per_day[moment.date()] += 1
    assert {day.weekday() for day in per_day} == set(range(7))
    # Whole days only: today's is still going.
    whole = {day: count for day, count in per_day.items() if day < now.date()}
    weekdays = [count for day, count in whole.items() if day.weekday() not in WEEKEND]
    weekends = [count for day, count in whole.items() if day.weekday() in WEEKEND]
    assert statistics.mean(weekdays) > 1.3 * statistics.mean(weekends)

    # Every action, scrolls at several depths, visits from several sites and direct ones.
    assert {action for _, _, action, _, _ in events} == {a.value for a in Action}
    depths = {value for _, _, action, value, _ in events if action == Action.SCROLL}
    assert len(depths) > 1
    assert all(depth is not None and 0 <= depth <= 100 for depth in depths)
    referrers = [referrer for _, _, action, _, referrer in events if action == Action.VISIT]
    assert None in referrers
    assert len({urlsplit(r).hostname for r in referrers if r is not None}) >= 6

    # No visitor hash in two salt windows.
    windows: dict[str, set[int]] = defaultdict(set)
    moments: dict[str, list[datetime]] = defaultdict(list)
    for moment, visitor, *_ in events:
        windows[visitor].add(window_of(moment, settings.rotation))
        moments[visitor].append(moment)
    assert all(len(held) == 1 for held in windows.values())
    # Several visits per visitor: sessions apart within one window, for many visitors.
    sessions = [
        1 + sum(later - earlier > SESSION_GAP for earlier, later in itertools.pairwise(times))
        for times in moments.values()
    ]
    assert sum(count > 1 for count in sessions) >= 0.1 * len(sessions)
    assert max(sessions) >= 3

    with sqlite3.connect(path) as db:
        salts = [start for (start,) in db.execute("SELECT salt_window FROM salts")]
        stale = db.execute("SELECT day FROM rollup_stale").fetchall()
        totals = db.execute("SELECT count(*) FROM rollup_totals WHERE level = 0").fetchone()
    # No salt of a window that is over survives; the current window's may.
    assert all(start >= salt_key(now, settings.rotation) for start in salts)
    # The rollups hold every day that is over.
    today = (now - datetime(1970, 1, 1, tzinfo=UTC)).days
    assert all(day >= today for (day,) in stale)
    assert totals[0] >= len(whole)


def test_a_second_demo_run_says_how_to_get_new_secrets_and_its_commands_work(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    settings = load_settings(database_url=url)
    first, _ = _prepare(settings)
    again, _ = _prepare(settings)
    with sqlite3.connect(tmp_path / "demo.db") as db:
        (count,) = db.execute("SELECT count(*) FROM events").fetchone()
    # The second run added nothing: the first run's events are all there are.
    assert f"with {count} sample events" in first
    commands = [
        shlex.split(line.split("privalytics ", 1)[1].split("  (", 1)[0])
        for line in again.splitlines()
        if "privalytics " in line
    ]
    by_name = {tuple(command[:3]): command for command in commands}
    # A new token, a new admin key and a new password for the `demo` user.
    assert set(by_name) == {
        ("project", "token", "rotate"),
        ("admin", "key", "create"),
        ("admin", "user", "password"),
    }
    runner = CliRunner()
    out: dict[str, str] = {}
    for name, command in by_name.items():
        stdin = None
        if name[-1] == "password":
            command, stdin = [*command, "--password-stdin"], "a new demo password\n"
        result = runner.invoke(main, ["--database-url", url, *command], input=stdin)
        assert result.exit_code == 0, result.output
        out[name[-1]] = result.output

    async def check() -> None:
        services = bootstrap.build(settings)
        try:
            assert services.accounts is not None
            user = await services.accounts.authenticate(
                "demo", "a new demo password", client="test"
            )
            assert user.username == "demo"
            await services.admin.check_admin_key(out["create"].split()[-1])
            token = out["rotate"].split()[-1]
            sent = [IncomingEvent(action=Action.VISIT, path="/again")]
            client = ClientInfo(ip="192.0.2.1", user_agent="A")
            assert await services.ingestion.record(token, sent, client) == 1
        finally:
            await services.aclose()

    asyncio.run(check())


def test_the_dashboard_hint_asks_for_a_user_only_while_there_is_none(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")

    async def hint() -> str:
        services = bootstrap.build(settings)
        try:
            return await _dashboard_hint(services)
        finally:
            await services.aclose()

    asyncio.run(bootstrap.migrate(settings))
    assert "admin user create" in asyncio.run(hint())
    # `serve --demo` creates the `demo` user before it prints the hint, first time and later.
    for _ in range(2):
        _prepare(settings)
        assert asyncio.run(hint()) == ""
