"""A real `privalytics serve` on SQLite, and a project whose site is a TestSite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.servers import Server, cli_json

if TYPE_CHECKING:
    from playwright.sync_api import Browser


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


CHROMIUM = os.environ.get("PRIVALYTICS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright. Browser tests never skip in CI
    (PRIVALYTICS_REQUIRE_SERVICES=1); elsewhere they skip when Chromium is not installed.

    Stopped after each module: Playwright's sync API keeps an event loop running in the
    main thread while it is started (tox also runs this folder in a process of its own)."""
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
