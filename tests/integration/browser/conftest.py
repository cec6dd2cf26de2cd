"""A real `privalytics serve` on SQLite, and a project whose site is a TestSite; privalytics
on memory:// in this process, whose stored events can be read whole."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from privalytics import bootstrap
from privalytics.adapters.memory import InMemoryEventStore
from privalytics.config import Settings
from privalytics.domain.models import Event
from privalytics.domain.services import Services
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


T = TypeVar("T")


@dataclass
class MemoryServer:
    """privalytics on memory://, served by uvicorn in a thread of this process, so that the
    stored events can be read whole, as the domain holds them."""

    url: str
    services: Services

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """``work`` run to its end in a thread of its own (Playwright's sync API keeps an
        event loop running in this one)."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, work).result()

    def stored(self) -> list[Event]:
        store: InMemoryEventStore = self.services.ingestion._events  # type: ignore[attr-defined]
        return list(store.events)

    def settled(self, expected: int, timeout: float = 30.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while len(self.stored()) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        return self.stored()


@pytest.fixture
def memory_server() -> Iterator[MemoryServer]:
    import uvicorn

    settings = Settings(database_url="memory://", rate_limit_url="memory://")
    services = bootstrap.build(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        bootstrap.create_app(settings, services), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield MemoryServer(url=f"http://127.0.0.1:{port}", services=services)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def create_project(deployment: Deployment, origin: str) -> tuple[str, str]:
    """A project accepting events from ``origin``: its id and token."""
    created = cli_json(
        deployment.database_url, "project", "create", "Test site", "--allowed-origin", origin
    )
    return created["project"]["id"], created["token"]


CHROMIUM = os.environ.get("PRIVALYTICS_CHROMIUM", "/usr/bin/chromium")
HEADLESS_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A visitor's browser, not a driven one: navigator.webdriver is false. The bot filter would
# turn a driven browser's events away (test_bots.py shows it does).
CHROMIUM_ARGS = [*HEADLESS_ARGS, "--disable-blink-features=AutomationControlled"]


def visitor_agent(version: str) -> str:
    """The user agent the same Chromium sends when it is not headless: a headless one says
    "HeadlessChrome", which the bot filter turns away."""
    major = version.split(".", 1)[0]
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright. Browser tests never skip in CI
    (PRIVALYTICS_REQUIRE_SERVICES=1); elsewhere they skip when Chromium is not installed.

    Stopped after each module: Playwright's sync API keeps an event loop running in the
    main thread while it is started (tox also runs this folder in a process of its own).

    A visitor's browser: not marked as driven, with the agent of a Chromium that is not
    headless (set for the whole browser: Playwright's per-context ``user_agent`` lost the
    beacon a page sends as it is left)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    version = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    found = re.search(r"\d+\.[\d.]+", version)
    assert found, version
    agent = f"--user-agent={visitor_agent(found.group(0))}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, agent])
        try:
            yield browser
        finally:
            browser.close()
