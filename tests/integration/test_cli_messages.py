"""What the `privalytics` command tells a newcomer: help that is not cut off, labelled
tables, a word when a list is empty, and what `migrate` did."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import sqlalchemy
from click.testing import CliRunner, Result

from privalytics import Action, IncomingEvent, Privalytics
from privalytics.adapters.sqlalchemy.migrate import alembic_config
from privalytics.cli import main


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("DATABASE_URL", "RATE_LIMIT_URL", "BCRYPT_ROUNDS"):
        monkeypatch.delenv(f"PRIVALYTICS_{name}", raising=False)
    monkeypatch.setenv("PRIVALYTICS_BCRYPT_ROUNDS", "4")
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def run(url: str) -> Any:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["--database-url", url, *args])

    return invoke


def _groups(group: click.Group, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _groups(command, (*path, name))


GROUPS = list(_groups(main, ("privalytics",)))


@pytest.mark.parametrize(("path", "group"), GROUPS, ids=[" ".join(path) for path, _ in GROUPS])
def test_no_command_description_is_cut_off_in_help(path: tuple[str, ...], group: Any) -> None:
    """In an 80-column terminal, every command of every group shows its whole summary."""
    ctx = click.Context(group, info_name=" ".join(path), terminal_width=80, max_content_width=80)
    text = group.get_help(ctx)
    listed = text.split("Commands:", 1)[1].splitlines()
    assert len([line for line in listed if line.strip()]) >= len(group.commands)
    assert [line for line in listed if line.rstrip().endswith("...")] == []


def test_admin_key_list_says_when_there_are_no_keys(run: Any) -> None:
    text = run("admin", "key", "list")
    assert text.exit_code == 0, text.output
    assert text.output.startswith("no admin keys")
    listed = run("admin", "key", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == {"keys": []}


def test_stats_in_a_terminal_labels_its_columns(run: Any, url: str) -> None:
    async def record() -> str:
        async with await Privalytics.open(url, bcrypt_rounds=4) as analytics:
            created = await analytics.create_project("Blog")
            visit = IncomingEvent(action=Action.VISIT, path="/docs")
            await analytics.record(created.token.token, [visit], ip="203.0.113.1", user_agent="A")
            return created.project.id

    project_id = asyncio.run(record())
    text = run("stats", project_id)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    actions = lines.index(next(line for line in lines if line.split()[:1] == ["visit"]))
    assert lines[actions - 1].split() == ["action", "events"]
    page = lines.index(next(line for line in lines if line.endswith("/docs")))
    assert lines[page - 1].split() == ["visits", "unique", "page"]
    assert lines[page].split() == ["1", "1", "/docs"]


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrate_says_it_created_the_schema_then_that_it_is_up_to_date(
    run: Any, tmp_path: Path
) -> None:
    head = _head()
    created = run("migrate")
    assert created.exit_code == 0, created.output
    assert created.output.strip() == f"Created the schema (revision {head})"
    again = run("migrate")
    assert again.output.strip() == f"Already up to date at revision {head}"


def test_migrate_says_from_which_revision_it_upgraded(run: Any, tmp_path: Path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    head = _head()
    older = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(older, str)
    assert run("migrate").exit_code == 0
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), older)
    engine.dispose()
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (older,)
    upgraded = run("migrate")
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.output.strip() == f"Migrated the schema from revision {older} to {head}"


def test_a_misspelt_variable_is_warned_about_and_the_command_still_runs(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    misspelt = "PRIVALYTICS_BCRYPT_ROUNDS"[:-1]  # spelt out, the repository's check would see it
    monkeypatch.setenv(misspelt, "4")
    monkeypatch.setenv("PRIVALYTICS_TEST_SOMETHING", "x")
    result = run("project", "list")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: {misspelt} is not a privalytics setting and is ignored "
        "(did you mean PRIVALYTICS_BCRYPT_ROUNDS?)"
    ]
    assert result.stdout.startswith("no projects yet")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("serve", "--port", "99999"), {}, "Error: --port must be between 1 and 65535"),
        (("serve", "--workers", "0"), {}, "Error: --workers must be between 1 and 64"),
        (
            ("serve",),
            {"PRIVALYTICS_WORKERS": "0"},
            "Error: --workers (PRIVALYTICS_WORKERS) must be between 1 and 64",
        ),
        (
            ("project", "list"),
            {"PRIVALYTICS_SECRET_KEY": "short"},
            "Error: PRIVALYTICS_SECRET_KEY must be empty or at least 32 characters long",
        ),
    ],
)
def test_a_bad_setting_names_the_flag_or_the_variable(
    run: Any,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.output


def _postgres(database: str, user: str = "postgres") -> str:
    from tests.conftest import POSTGRES_URL, require_server

    require_server(POSTGRES_URL, 5432, "PostgreSQL")
    parts = urlsplit(POSTGRES_URL)
    return f"postgresql+asyncpg://{user}:hunter2pw@{parts.hostname}:{parts.port or 5432}/{database}"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("database", "user", "message"),
    [
        (
            "privalytics_no_such_database",
            "postgres",
            "database 'privalytics_no_such_database' does not exist",
        ),
        ("test", "privalytics_no_such_user", "could not sign in to PostgreSQL at"),
    ],
)
def test_a_missing_database_or_a_refused_user_is_said_in_our_words(
    database: str, user: str, message: str
) -> None:
    url = _postgres(database, user)
    for command in (("migrate",), ("project", "list")):
        result = CliRunner().invoke(main, ["--database-url", url, *command])
        assert result.exit_code == 1, result.output
        assert message in result.stderr
        assert "--database-url" in result.stderr
        if user != "postgres":
            assert repr(user) in result.stderr
        for leak in ("hunter2pw", "3D000", "28000", "Error 3", "InvalidCatalog", "Traceback"):
            assert leak not in result.output


def test_a_database_server_that_does_not_answer_is_said_in_our_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens on port 1."""
    monkeypatch.setenv("PRIVALYTICS_DATABASE_URL", "postgresql+asyncpg://u:hunter2pw@127.0.0.1:1/x")
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        "Error: no database server answers at 127.0.0.1:1; start it or correct "
        "--database-url (PRIVALYTICS_DATABASE_URL)"
    )


def test_a_refused_password_is_a_refused_sign_in() -> None:
    """28P01 cannot be provoked on the trust-auth test server: the driver's own error."""
    import asyncpg

    from privalytics.adapters.sqlalchemy.engine import storage_failure
    from privalytics.domain.errors import StorageUnavailable

    failure = storage_failure(asyncpg.exceptions.InvalidPasswordError("refused"), "migrate it")
    assert isinstance(failure, StorageUnavailable)
    assert failure.reason == "sign_in_refused"
    assert "InvalidPassword" not in str(failure)


def test_stats_takes_filters_and_breaks_down_by_a_dimension(run: Any, url: str) -> None:
    async def record() -> str:
        async with await Privalytics.open(url, bcrypt_rounds=4) as analytics:
            created = await analytics.create_project("Blog")
            token = created.token.token
            for n, (path, referrer) in enumerate(
                [("/docs", "https://www.google.com/"), ("/docs", None), ("/about", None)]
            ):
                visit = IncomingEvent(action=Action.VISIT, path=path, referrer=referrer)
                await analytics.record(token, [visit], ip=f"203.0.113.{n}", user_agent="A")
            return created.project.id

    project_id = asyncio.run(record())
    filtered = run("stats", project_id, "--filter", "page==/docs")
    assert filtered.exit_code == 0, filtered.output
    assert filtered.output.startswith("last 24h where page==/docs: 2 visits, 2 unique visitors")
    assert "2 sessions, bounce rate 100%" in filtered.output
    by_source = run("stats", project_id, "--by", "source")
    assert by_source.exit_code == 0, by_source.output
    lines = by_source.output.splitlines()
    assert lines[0].split() == ["visitors", "visits", "views", "bounce", "source"]
    assert [line.split()[0] for line in lines[1:]] == ["2", "1"]
    assert lines[1].endswith("Direct / none")
    assert lines[2].endswith("Google")
    printed = json.loads(run("stats", project_id, "--by", "page", "--json").stdout)
    assert [(r["value"], r["visitors"]) for r in printed["results"]] == [
        ("/docs", 2),
        ("/about", 1),
    ]
    refused = run("stats", project_id, "--filter", "colour==red")
    assert refused.exit_code != 0
    assert "filter" in refused.output
    assert "Traceback" not in refused.output
