"""/metrics of a server with several workers adds up every worker's values."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REDIS_URL, require_server
from tests.servers import Server, cli_json

TOKEN = "metrics-token-0123456789"
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def _value(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return sample.value
    raise AssertionError(f"{name} not in the metrics")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite's writer thread and PostgreSQL's group commit both report."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.mark.redis
def test_every_read_of_the_metrics_counts_what_all_workers_did(
    database_url: str, tmp_path: Path
) -> None:
    require_server(REDIS_URL, 6379, "Redis")
    created = cli_json(database_url, "project", "create", "Metered")
    running = Server(
        database_url,
        tmp_path / "server.log",
        "--workers",
        "2",
        "--rate-limit-url",
        REDIS_URL,
        PRIVALYTICS_METRICS="on",
        PRIVALYTICS_METRICS_TOKEN=TOKEN,
    )
    try:
        running.wait_ready()
        statuses = []
        # New connections each time, so the kernel spreads them over both workers.
        for index in range(40):
            response = httpx.post(
                f"{running.url}/api/v1/events",
                timeout=10,
                json={"action": "visit", "path": f"/{index}"},
                headers={"Authorization": f"Bearer {created['token']}", "User-Agent": AGENT},
            )
            statuses.append(response.status_code)
        refused = httpx.post(f"{running.url}/api/v1/events", json={}, timeout=10)
        reads = [
            httpx.get(
                f"{running.url}/metrics",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,
            )
            for _ in range(8)
        ]
    finally:
        running.stop()
    assert statuses == [202] * 40
    assert refused.status_code == 400
    for read in reads:
        assert read.status_code == 200, read.text
        assert _value(read.text, "privalytics_ingest_requests_total") == 40
        assert _value(read.text, "privalytics_events_stored_total") == 40
        assert _value(read.text, "privalytics_commit_events_sum") == 40
        assert _value(read.text, "privalytics_commit_wait_seconds_count") == 40
        refusals = {
            sample.labels["reason"]: sample.value
            for family in text_string_to_metric_families(read.text)
            for sample in family.samples
            if sample.name == "privalytics_ingest_refused_total"
        }
        assert refusals["invalid"] == 1
