"""The `privalytics` command on a real SQLite file: output, JSON shapes and clear errors."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from privalytics.cli import main
from privalytics.domain import tokens
from tests.servers import BROWSER, Server, cli_json


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("DATABASE_URL", "RATE_LIMIT_URL", "BCRYPT_ROUNDS"):
        monkeypatch.delenv(f"PRIVALYTICS_{name}", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, ["--database-url", url, *args], input=input)

    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_project_create_prints_the_project_and_its_token_once_as_json(run: Any) -> None:
    created = _json(
        run(
            "project",
            "create",
            "My blog",
            "--rate-limit",
            "1000/minute",
            "--allowed-origin",
            "https://Blog.Example",
            "--json",
        )
    )
    assert set(created) == {"project", "token"}
    assert created["project"]["name"] == "My blog"
    assert created["project"]["rate_limit"] == "1000/minute"
    assert created["project"]["allowed_origins"] == ["https://blog.example"]
    assert tokens.parse(created["token"], tokens.TOKEN_PREFIX) is not None
    listed = _json(run("project", "list", "--json"))
    assert [p["id"] for p in listed["projects"]] == [created["project"]["id"]]
    assert created["token"] not in json.dumps(listed)


def test_project_create_without_json_is_friendly_text(run: Any) -> None:
    result = run("project", "create", "Docs")
    assert result.exit_code == 0
    assert "Tracking token (shown only once" in result.output
    assert "pvt_" in result.output
    assert "any (set --allowed-origin to restrict)" in result.output


def test_admin_key_create_prints_a_key_as_json(run: Any) -> None:
    key = _json(run("admin", "key", "create", "--json"))["key"]
    assert tokens.parse(key, tokens.ADMIN_KEY_PREFIX) is not None


def test_projects_are_updated_rotated_revoked_and_deleted(run: Any) -> None:
    project_id = _json(run("project", "create", "Shop", "--json"))["project"]["id"]
    updated = _json(
        run(
            "project",
            "update",
            project_id,
            "--name",
            "Shop 2",
            "--rate-limit",
            "50/second",
            "--allowed-origin",
            "https://a.example",
            "--json",
        )
    )["project"]
    assert (updated["name"], updated["rate_limit"], updated["allowed_origins"]) == (
        "Shop 2",
        "50/second",
        ["https://a.example"],
    )
    cleared = _json(run("project", "update", project_id, "--any-origin", "--json"))
    assert cleared["project"]["allowed_origins"] == []
    rotated = _json(run("project", "token", "rotate", project_id, "--revoke-others", "--json"))
    listed = _json(run("project", "token", "list", project_id, "--json"))["tokens"]
    assert len(listed) == 2
    assert [t["revoked_at"] is None for t in listed] == [False, True]
    assert listed[1]["id"] == rotated["id"]
    revoked = run("project", "token", "revoke", project_id, rotated["id"])
    assert revoked.exit_code == 0
    assert _json(run("project", "token", "list", project_id, "--json"))["tokens"][1]["revoked_at"]
    assert run("project", "delete", project_id, input="n\n").exit_code == 1
    assert run("project", "delete", project_id, "--yes").exit_code == 0
    assert _json(run("project", "list", "--json")) == {"projects": []}


def test_goals_are_added_listed_with_their_conversions_and_removed(run: Any) -> None:
    project_id = _json(run("project", "create", "Shop", "--json"))["project"]["id"]
    page = _json(run("project", "goal", "add", project_id, "--page", "/pricing", "--json"))
    assert page["name"] == "Visit /pricing"
    added = run("project", "goal", "add", project_id, "--event", "Signup", "--name", "Sign-ups")
    assert added.exit_code == 0, added.output
    assert "added goal 'Sign-ups' (event Signup)" in added.output
    scroll = _json(
        run("project", "goal", "add", project_id, "--page", "/b/**", "--depth", "75", "--json")
    )
    assert (scroll["kind"], scroll["depth"]) == ("scroll", 75)
    listed = _json(run("project", "goal", "list", project_id, "--period", "7d", "--json"))
    assert listed["visitors"] == 0
    assert {g["goal"]["name"] for g in listed["goals"]} == {
        "Visit /pricing",
        "Sign-ups",
        "Scroll 75% on /b/**",
    }
    assert all(g["conversion_rate"] is None for g in listed["goals"])
    text = run("project", "goal", "list", project_id)
    assert "Sign-ups  (event Signup): 0 visitors converted (-), 0 conversions" in text.output
    removed = run("project", "goal", "remove", project_id, page["id"])
    assert removed.output == "removed goal 'Visit /pricing'\n"
    again = run("project", "goal", "remove", project_id, page["id"])
    assert again.exit_code == 1
    assert "no goal" in again.output
    refused = run("project", "goal", "add", project_id, "--page", "pricing")
    assert refused.exit_code == 2
    assert "page: a page pattern starts with /" in refused.output
    twice = run("project", "goal", "add", project_id, "--event", "Signup", "--name", "Sign-ups")
    assert twice.exit_code == 2
    assert "already" in twice.output
    assert "Traceback" not in refused.output + twice.output + again.output
    assert run("project", "delete", project_id, "--yes").exit_code == 0
    gone = run("project", "goal", "list", project_id)
    assert gone.exit_code == 1
    assert "no project" in gone.output


def test_stats_reads_the_numbers(run: Any) -> None:
    project_id = _json(run("project", "create", "Empty", "--json"))["project"]["id"]
    printed = _json(run("stats", project_id, "--period", "7d", "--json"))
    assert printed["visits"] == 0
    assert printed["actions"] == {
        "visit": 0,
        "click": 0,
        "scroll": 0,
        "download": 0,
        "share": 0,
        "custom": 0,
    }
    # The HTTP API's names: range from/to, an hour per recent bucket.
    assert set(printed["range"]) == {"from", "to"}
    assert set(printed["recent"][0]) == {"hour", "visits", "unique_visitors"}
    assert set(printed["previous"]["range"]) == {"from", "to"}
    text = run("stats", project_id)
    assert "0 visits, 0 unique visitors" in text.output


def _shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (a list by its first item)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.slow
def test_json_output_has_the_http_apis_shapes(tmp_path: Path) -> None:
    """`stats --json` and `token rotate --json` print what the HTTP API sends for the
    same request, field for field."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shapes.db'}"
    created = cli_json(url, "project", "create", "Shapes")
    project_id = created["project"]["id"]
    admin = {"Authorization": f"Bearer {cli_json(url, 'admin', 'key', 'create')['key']}"}
    server = Server(url, tmp_path / "server.log")
    try:
        server.wait_ready()
        sent = httpx.post(
            f"{server.url}/api/v1/events",
            json={"action": "visit", "path": "/", "referrer": "https://example.com/"},
            headers={"Authorization": f"Bearer {created['token']}", **BROWSER},
            timeout=10,
        )
        assert sent.status_code == 202, sent.text
        api_stats = httpx.get(
            f"{server.url}/api/v1/projects/{project_id}/stats?period=7d", headers=admin, timeout=10
        ).json()
        api_issued = httpx.post(
            f"{server.url}/api/v1/projects/{project_id}/tokens", headers=admin, timeout=10
        ).json()
        api_project = httpx.get(
            f"{server.url}/api/v1/projects/{project_id}", headers=admin, timeout=10
        ).json()
    finally:
        server.stop()
    cli_stats = cli_json(url, "stats", project_id, "--period", "7d")
    assert _shape(cli_stats) == _shape(api_stats)
    assert cli_stats["visits"] == api_stats["visits"] == 1
    cli_issued = cli_json(url, "project", "token", "rotate", project_id)
    assert _shape(cli_issued) == _shape(api_issued)
    assert cli_json(url, "project", "show", project_id)["project"] == api_project


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("project", "create", "X", "--rate-limit", "lots"), 2, "not a rate limit"),
        (("project", "create", "   "), 2, "name: must not be empty"),
        (
            ("project", "create", "X", "--allowed-origin", "https://x.example/path"),
            2,
            "is not an origin",
        ),
        (("project", "show", "nope"), 1, "no project 'nope'"),
        (("project", "token", "revoke", "nope", "t"), 1, "no token"),
        (
            ("project", "update", "nope", "--any-origin", "--allowed-origin", "https://a.b"),
            2,
            "not both",
        ),
        (("stats", "nope"), 1, "no project"),
        (("stats", "nope", "--period", "1y"), 2, "Invalid value"),
    ],
)
def test_bad_input_is_one_clear_line_and_no_traceback(
    run: Any, args: tuple[str, ...], code: int, message: str
) -> None:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_a_bad_environment_setting_is_reported_by_name(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVALYTICS_SALT_ROTATION", "90d")
    result = run("project", "list")
    assert result.exit_code == 2
    assert "PRIVALYTICS_SALT_ROTATION" in result.output


def test_migrate_is_idempotent(run: Any) -> None:
    assert run("migrate").exit_code == 0
    again = run("migrate")
    assert again.exit_code == 0
    assert again.output.startswith("Already up to date")


def test_rollup_computes_the_figures_of_days_that_are_over(run: Any, tmp_path: Path) -> None:
    created = _json(run("project", "create", "Blog", "--json"))
    project_id = created["project"]["id"]
    # Two events of a day long past, stored by another program: no figures yet, the day
    # marked stale by the insert (the trigger of migration 0004).
    day = 20_000
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        connection.execute(
            "INSERT INTO project_numbers (number, project_id, texts) VALUES (7, ?, 1)",
            (project_id,),
        )
        connection.execute("INSERT INTO texts (project, id, text) VALUES (7, 1, '/')")
        for n in range(2):
            connection.execute(
                "INSERT INTO events (project, ts, visitor, action, path) VALUES (7, ?, ?, 0, 1)",
                (day * 86_400_000 + n, n),
            )
        stale = connection.execute("SELECT project_id, day FROM rollup_stale").fetchall()
        assert stale == [(project_id, day)]
    done = run("rollup")
    assert done.exit_code == 0, done.output
    assert done.output == "computed the figures of 1 day\n"
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        assert connection.execute("SELECT count(*) FROM rollup_stale").fetchone() == (0,)
        assert connection.execute(
            "SELECT visitors, visit_visitors FROM rollup_totals WHERE level = 0 AND block = ?",
            (day,),
        ).fetchall() == [(2, 2)]
    assert run("rollup").output == "computed the figures of 0 days\n"


def test_expire_deletes_the_events_older_than_the_retention(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("expire").output == (
        "events are kept forever (PRIVALYTICS_EVENT_RETENTION_DAYS is 0 or unset):"
        " nothing to delete\n"
    )
    created = _json(run("project", "create", "Blog", "--json"))
    project_id = created["project"]["id"]
    # Three events of a day long past and one of today, stored by another program.
    old_day, today = 20_000, int(time.time()) // 86_400
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        connection.execute(
            "INSERT INTO project_numbers (number, project_id, texts) VALUES (7, ?, 1)",
            (project_id,),
        )
        connection.execute("INSERT INTO texts (project, id, text) VALUES (7, 1, '/')")
        for ts in (old_day * 86_400_000, old_day * 86_400_000 + 1, old_day * 86_400_000 + 2):
            connection.execute(
                "INSERT INTO events (project, ts, visitor, action, path) VALUES (7, ?, 1, 0, 1)",
                (ts,),
            )
        connection.execute(
            "INSERT INTO events (project, ts, visitor, action, path) VALUES (7, ?, 1, 0, 1)",
            (today * 86_400_000,),
        )
    monkeypatch.setenv("PRIVALYTICS_EVENT_RETENTION_DAYS", "3")
    refused = run("expire")
    assert refused.exit_code != 0
    assert "PRIVALYTICS_EVENT_RETENTION_DAYS must be 0 (keep events forever)" in refused.output
    assert "Traceback" not in refused.output
    monkeypatch.setenv("PRIVALYTICS_EVENT_RETENTION_DAYS", "30")
    dry = run("expire", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would delete 3 events older than ")
    deleted = run("expire")
    assert deleted.exit_code == 0, deleted.output
    assert deleted.output.startswith("deleted 3 events older than ")
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone() == (1,)
        # The old day was rolled up before its events went, and is not stale again.
        assert connection.execute(
            "SELECT visitors FROM rollup_totals WHERE level = 0 AND block = ?", (old_day,)
        ).fetchall() == [(1,)]
        assert connection.execute(
            "SELECT count(*) FROM rollup_stale WHERE day = ?", (old_day,)
        ).fetchone() == (0,)
    assert run("expire").output.startswith("deleted 0 events older than ")


def test_funnels_are_added_listed_shown_and_removed(run: Any) -> None:
    project_id = _json(run("project", "create", "Shop", "--json"))["project"]["id"]
    made = _json(
        run(
            "project",
            "funnel",
            "add",
            project_id,
            "--step",
            "/pricing",
            "--step",
            "event:Signup",
            "--json",
        )
    )
    assert made["name"] == "/pricing → event:Signup"
    assert made["steps"] == [{"page": "/pricing"}, {"event": "Signup"}]
    added = run(
        "project", "funnel", "add", project_id, "--step", "/", "--step", "/b/**", "--name", "B"
    )
    assert added.exit_code == 0, added.output
    assert "added funnel 'B' (/ → /b/**)" in added.output
    listed = _json(run("project", "funnel", "list", project_id, "--json"))["funnels"]
    assert [f["name"] for f in listed] == ["/pricing → event:Signup", "B"]
    assert (
        f"{made['id']}  /pricing → event:Signup"
        in run("project", "funnel", "list", project_id).output
    )
    shown = run("project", "funnel", "show", project_id, made["id"], "--period", "7d")
    assert shown.exit_code == 0, shown.output
    assert "  1. /pricing: 0 visitors (-)\n" in shown.output
    assert "  2. event:Signup: 0 visitors (-), 0 dropped (-)\n" in shown.output
    assert "overall conversion: -" in shown.output
    report = _json(
        run(
            "project", "funnel", "show", project_id, made["id"], "--filter", "country==DE", "--json"
        )
    )
    assert report["filters"] == ["country==DE"]
    assert [s["visitors"] for s in report["steps"]] == [0, 0]
    one = run("project", "funnel", "add", project_id, "--step", "/only")
    assert one.exit_code == 2
    assert "2 to 8 steps, not 1" in one.output
    bad = run("project", "funnel", "add", project_id, "--step", "/a", "--step", "pricing")
    assert bad.exit_code == 2
    assert "step 2: a page pattern starts with /" in bad.output
    unknown = run("project", "funnel", "show", project_id, "0" * 16)
    assert unknown.exit_code == 1
    assert "no funnel" in unknown.output
    removed = run("project", "funnel", "remove", project_id, made["id"])
    assert removed.output == "removed funnel '/pricing → event:Signup'\n"
    again = run("project", "funnel", "remove", project_id, made["id"])
    assert again.exit_code == 1
    assert "Traceback" not in one.output + bad.output + unknown.output + again.output
