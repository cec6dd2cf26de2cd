"""GET /metrics: what ingestion answered, by reason, what the writer stored, how long the
limiter took; behind its token when one is set; nothing that names a visitor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from privalytics.adapters.groupcommit import GroupCommitEventStore
from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
    InMemoryUserStore,
)
from privalytics.adapters.metrics import REASONS, Metrics, TimedRateLimiter
from privalytics.domain.services import Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests.unit.http.conftest import Api, assert_error, running_api

TOKEN = "metrics-token-0123456789"
SITE = "https://blog.example"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) MetricsProbe/9.1"
PEER = "10.1.2.3"
VISITOR = "198.51.100.77"


def metered_services(clock: ManualClock, metrics: Metrics) -> Services:
    """The in-memory services, with the server's group commit and a timed limiter."""
    real = lookups()
    events = GroupCommitEventStore(InMemoryEventStore(), observer=metrics)
    return build_services(
        events=events,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=TimedRateLimiter(InMemoryRateLimiter(clock), metrics),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        users=InMemoryUserStore(),
        sources=real.sources,
        agents=real.agents,
        places=real.places,
        closers=(events.aclose,),
    )


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def api(metrics: Metrics) -> Iterator[Api]:
    clock = ManualClock()
    services = metered_services(clock, metrics)
    with running_api(
        clock, peer=PEER, services=services, metrics=metrics, metrics_token=TOKEN
    ) as api:
        yield api


def read(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def refused(values: dict[tuple[str, tuple[tuple[str, str], ...]], float], reason: str) -> float:
    return values[("privalytics_ingest_refused_total", (("reason", reason),))]


def test_answers_refusals_stored_events_and_latencies_are_counted(api: Api) -> None:
    _, token = api.create_project(rate_limit="3/minute", allowed_origins=[SITE])
    event = {"action": "visit", "path": "/a"}
    headers = {"User-Agent": AGENT, "X-Forwarded-For": VISITOR}
    answers = [
        api.send(event, token, headers=headers).status_code,
        api.send({"events": [event, event]}, token, batch=True, headers=headers).status_code,
        api.send({"action": "visit", "path": 7}, token, headers=headers).status_code,
        api.send(event, "pvt_forged", headers=headers).status_code,
        api.send(event, token, headers=headers).status_code,  # the 4th event of 3/minute
        api.client.post(
            "/api/event",
            content=b'{"n":"pageview","u":"https://unknown.example/","d":"unknown.example"}',
            headers={"Content-Type": "text/plain", **headers},
        ).status_code,
    ]
    assert answers == [202, 202, 400, 401, 429, 404]
    values = read(api)
    assert values[("privalytics_ingest_requests_total", ())] == 2
    assert refused(values, "invalid") == 1
    assert refused(values, "unauthenticated") == 1
    assert refused(values, "rate_limited") == 1
    assert refused(values, "unknown_site") == 1
    assert refused(values, "unavailable") == 0  # every reason shows, at 0 until it happens
    assert values[("privalytics_events_stored_total", ())] == 3
    assert values[("privalytics_commit_events_count", ())] == 2  # two transactions
    assert values[("privalytics_commit_events_sum", ())] == 3
    assert values[("privalytics_commit_wait_seconds_count", ())] == 2
    # One decision per request that reached the limiter: the two stored and the 429, and
    # the failed-token throttle's look before the token's first check (docs/security.md).
    assert values[("privalytics_limiter_seconds_count", ())] == 4
    # Reading the metrics, a preflight and the admin API count as nothing.
    api.client.options("/api/v1/events", headers={"Origin": SITE})
    again = read(api)
    assert again[("privalytics_ingest_requests_total", ())] == 2
    assert sum(refused(again, reason) for reason in REASONS.values()) == 4


def test_no_series_names_a_project_a_visitor_an_address_or_an_agent(api: Api) -> None:
    project_id, token = api.create_project()
    api.send({"action": "visit", "path": "/secret-page"}, token, headers={"User-Agent": AGENT})
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    for secret in (project_id, token, AGENT, "MetricsProbe", VISITOR, PEER, "/secret-page"):
        assert secret not in response.text


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
)
def test_without_its_token_the_metrics_are_refused(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.client.get("/metrics", headers=headers)
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "privalytics_" not in response.text


def test_without_a_token_setting_anyone_reads_them(metrics: Metrics) -> None:
    with running_api(metrics=metrics) as api:
        response = api.client.get("/metrics")
    assert response.status_code == 200
    assert "privalytics_ingest_requests_total" in response.text


def test_metrics_off_is_no_route() -> None:
    with running_api() as api:
        assert api.client.get("/metrics").status_code == 404
