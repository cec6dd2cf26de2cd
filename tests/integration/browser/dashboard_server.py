"""A real `privalytics serve` with a dashboard user and an admin key, for the dashboard's
browser tests (a module of its own: the folder's conftest serves the tracker's tests)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.servers import CLI, Server, cli

USERNAME = "owner"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Running:
    server: Server
    admin_key: str


def create_user(database_url: str, username: str, password: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVALYTICS_")}
    env["PRIVALYTICS_DATABASE_URL"] = database_url
    done = subprocess.run(
        [*CLI, "admin", "user", "create", username, "--password-stdin"],
        env=env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("dashboard")
    database_url = f"sqlite+aiosqlite:///{folder / 'privalytics.db'}"
    create_user(database_url, USERNAME, PASSWORD)
    key = cli(database_url, "admin", "key", "create", "--json")
    assert key.returncode == 0, key.stderr
    server = Server(database_url, folder / "server.log")
    try:
        server.wait_ready()
        yield Running(server=server, admin_key=json.loads(key.stdout)["key"])
    finally:
        server.stop()
