"""Fixtures shared by every suite.

The PostgreSQL and Redis servers are named by PRIVALYTICS_TEST_POSTGRES_URL and
PRIVALYTICS_TEST_REDIS_URL (defaults: the local servers). When PRIVALYTICS_REQUIRE_SERVICES=1
(CI sets it), a server that does not answer fails its tests; otherwise they are skipped
with the reason.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

from privalytics.domain.services import Services
from privalytics.testing import ManualClock, make_services

POSTGRES_URL = os.environ.get(
    "PRIVALYTICS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PRIVALYTICS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("PRIVALYTICS_REQUIRE_SERVICES") == "1"


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def require_server(url: str, default_port: int, name: str) -> None:
    """Skip (locally) or fail (in CI) when the server behind ``url`` does not answer."""
    if _answers(url, default_port):
        return
    message = (
        f"{name} at {urlsplit(url).hostname}:{urlsplit(url).port or default_port} does not answer"
    )
    if REQUIRE_SERVICES:
        pytest.fail(message + " (PRIVALYTICS_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def services(clock: ManualClock) -> Services:
    """Use cases over the in-memory adapters and a manual clock."""
    return make_services(clock)
