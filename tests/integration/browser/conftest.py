"""A real `privalytics serve` on SQLite, and a project whose site is a TestSite."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import Server, cli_json


@dataclass(frozen=True)
class Deployment:
    server: Server
    database: Path
    database_url: str


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    database = tmp_path / "analytics.db"
    url = f"sqlite+aiosqlite:///{database}"
    server = Server(url, tmp_path / "server.log")
    try:
        server.wait_ready()
        yield Deployment(server=server, database=database, database_url=url)
    finally:
        server.stop()


def create_project(deployment: Deployment, origin: str) -> tuple[str, str]:
    """A project accepting events from ``origin``: its id and token."""
    created = cli_json(
        deployment.database_url, "project", "create", "Test site", "--allowed-origin", origin
    )
    return created["project"]["id"], created["token"]
