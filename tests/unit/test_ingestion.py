"""Recording events: authenticate, check the origin, validate, limit, hash, store."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain import services as services_module
from privalytics.domain.errors import (
    InvalidInput,
    OriginNotAllowed,
    RateLimited,
    Unauthenticated,
)
from privalytics.domain.hashing import visitor_hash
from privalytics.domain.models import (
    Action,
    ClientInfo,
    Event,
    IncomingEvent,
    Project,
    RateLimit,
    TokenKind,
)
from privalytics.domain.services import Services, _policy, build_services
from privalytics.domain.sessions import sessionize
from privalytics.domain.sources import own_hosts
from privalytics.domain.tokens import TOKEN_PREFIX, Credential
from privalytics.domain.validation import MAX_BATCH, normalize_ip, normalize_origin
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests import strategies

CLIENT = ClientInfo(ip="198.51.100.7", user_agent="Mozilla/5.0 test")


@dataclass
class World:
    events: InMemoryEventStore
    salts: InMemorySaltStore
    services: Services
    clock: ManualClock

    @property
    def stored(self) -> list[Event]:
        return self.events.events

    async def project(
        self, rate_limit: RateLimit | None = None, origins: tuple[str, ...] = ()
    ) -> tuple[Project, str]:
        created = await self.services.admin.create_project(
            "site", rate_limit=rate_limit, allowed_origins=origins
        )
        return created.project, created.token.token

    async def server_token(self, project: Project) -> str:
        """A server token of ``project``: the kind whose events may name their visitor."""
        issued = await self.services.admin.issue_token(project.id, kind=TokenKind.SERVER)
        return issued.token

    async def record(self, token: str, *events: IncomingEvent, client: ClientInfo = CLIENT) -> int:
        return await self.services.ingestion.record(token, list(events), client)

    def salt(self) -> bytes:
        (salt,) = self.salts.salts.values()
        return salt


def make_world(clock: ManualClock) -> World:
    events, salts = InMemoryEventStore(), InMemorySaltStore()
    services = build_services(
        **lookups()._asdict(),
        events=events,
        tokens=InMemoryTokenStore(),
        salts=salts,
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )
    return World(events=events, salts=salts, services=services, clock=clock)


@pytest.fixture
def w(clock: ManualClock) -> World:
    return make_world(clock)


def visit(path: str = "/", **fields: object) -> IncomingEvent:
    return IncomingEvent(action=Action.VISIT, path=path, **fields)  # type: ignore[arg-type]


async def test_events_of_every_action_are_stored_with_their_fields(w: World) -> None:
    project, token = await w.project()
    sent = [
        IncomingEvent(
            action=Action.VISIT,
            path="https://site.example/home?utm=x",
            referrer="https://ref.example/a?q=1",
            props={"lang": "en"},
        ),
        IncomingEvent(action=Action.CLICK, path="/home", target="#signup", value=1.0),
        IncomingEvent(action=Action.SCROLL, path="/home", value=75.0),
        IncomingEvent(action=Action.DOWNLOAD, path="/files", target="/files/report.pdf"),
        IncomingEvent(
            action=Action.SHARE,
            path="/home",
            target="mastodon",
            timestamp=w.clock.now() - timedelta(minutes=5),
        ),
    ]
    assert await w.record(token, *sent) == 5
    visitor = visitor_hash(w.salt(), project.id, CLIENT.ip, CLIENT.user_agent)
    now = w.clock.now()
    assert w.stored == [
        Event(
            project_id=project.id,
            action=Action.VISIT,
            path="/home",
            timestamp=now,
            visitor_hash=visitor,
            # The referrer's site is the source (its registrable domain, not a known one).
            source="ref.example",
            referrer="https://ref.example/a",
            props={"lang": "en"},
        ),
        Event(
            project_id=project.id,
            action=Action.CLICK,
            path="/home",
            timestamp=now,
            visitor_hash=visitor,
            target="#signup",
            value=1.0,
        ),
        Event(
            project_id=project.id,
            action=Action.SCROLL,
            path="/home",
            timestamp=now,
            visitor_hash=visitor,
            value=75.0,
        ),
        Event(
            project_id=project.id,
            action=Action.DOWNLOAD,
            path="/files",
            timestamp=now,
            visitor_hash=visitor,
            target="/files/report.pdf",
        ),
        Event(
            project_id=project.id,
            action=Action.SHARE,
            path="/home",
            timestamp=now - timedelta(minutes=5),
            visitor_hash=visitor,
            target="mastodon",
        ),
    ]


def _kept(sent: strategies.Sent) -> str | None:
    """The referrer stored for ``sent``: none for navigation within the site (this project
    lists no origins, so the site is the page's host when the page is a full URL)."""
    if sent.referrer is None or own_hosts((), sent.event.path) & own_hosts((), sent.referrer):
        return None
    return sent.referrer


@settings(max_examples=60, deadline=None)
@given(st.lists(strategies.sent_events(), min_size=1, max_size=20))
def test_any_valid_batch_is_stored_whole_and_in_order(batch: list[strategies.Sent]) -> None:
    """Every field drawn wide (see tests/strategies.py): what is stored is what the
    strategy built the event from, in the batch's order."""

    async def scenario() -> None:
        w = make_world(ManualClock(strategies.CLOCK_START))
        project, token = await w.project()
        assert await w.record(token, *(sent.event for sent in batch)) == len(batch)
        stored = [
            (e.action, e.path, e.referrer, e.target, e.value, e.timestamp, e.props)
            for e in w.stored
        ]
        assert stored == [
            (
                s.event.action,
                s.path,
                _kept(s),
                s.target,
                s.value,
                # Stored to the millisecond, by every store alike.
                s.timestamp.replace(microsecond=s.timestamp.microsecond // 1000 * 1000),
                s.event.props,
            )
            for s in batch
        ]
        assert all(e.timestamp.tzinfo is UTC for e in w.stored)
        assert {e.project_id for e in w.stored} == {project.id}
        assert len({e.visitor_hash for e in w.stored}) == 1

    asyncio.run(scenario())


async def test_a_batch_with_one_invalid_event_stores_nothing_and_names_it(w: World) -> None:
    _, token = await w.project(rate_limit=RateLimit(events=10, period_seconds=60))
    with pytest.raises(InvalidInput) as caught:
        await w.record(token, visit("/ok"), visit("/ok"), visit("no-slash"), visit("/ok"))
    assert (caught.value.index, caught.value.field) == (2, "path")
    assert str(caught.value).startswith("event 2: path: ")
    assert w.stored == []
    # Nothing of the allowance was spent on the refused batch.
    assert await w.record(token, *[visit()] * 10) == 10


async def test_a_single_invalid_event_is_named_by_field_alone(w: World) -> None:
    _, token = await w.project()
    with pytest.raises(InvalidInput) as caught:
        await w.record(token, IncomingEvent(action=Action.SCROLL, path="/"))
    assert (caught.value.index, caught.value.field) == (None, "value")


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
async def test_empty_and_oversized_batches_are_refused(w: World, size: int) -> None:
    _, token = await w.project()
    with pytest.raises(InvalidInput) as caught:
        await w.record(token, *[visit()] * size)
    assert caught.value.field == "events"
    assert w.stored == []


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
async def test_every_way_in_refuses_empty_and_oversized_batches_alike(w: World, size: int) -> None:
    """One check, on every use case that records, before its site is looked up."""
    project, _ = await w.project(origins=("https://site.example",))
    ingestion = w.services.ingestion
    refusals = []
    for record in (
        lambda events: ingestion.record_for_domain("site.example", events, CLIENT),
        lambda events: ingestion.record_for_domain("nobody.example", events, CLIENT),
        lambda events: ingestion.record_for_site(project.id, events, CLIENT),
        lambda events: ingestion.record_for_site("nope", events, CLIENT),
    ):
        with pytest.raises(InvalidInput) as caught:
            await record([visit()] * size)
        refusals.append((caught.value.field, str(caught.value)))
    assert len(set(refusals)) == 1
    assert refusals[0][0] == "events"
    assert w.stored == []


async def test_a_batch_of_the_maximum_size_is_accepted(w: World) -> None:
    _, token = await w.project(rate_limit=RateLimit(events=MAX_BATCH, period_seconds=60))
    assert await w.record(token, *[visit()] * MAX_BATCH) == MAX_BATCH
    assert len(w.stored) == MAX_BATCH


# --- origins -----------------------------------------------------------------------------


async def test_an_allowed_origin_may_send(w: World) -> None:
    _, token = await w.project(origins=("https://site.example", "http://localhost:3000"))
    for origin in ["https://site.example", "HTTPS://Site.Example", "https://site.example:443"]:
        client = ClientInfo(ip="192.0.2.1", origin=origin)
        assert await w.record(token, visit(), client=client) == 1


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://site.example", "https://site.example:8443", "null", ""],
)
async def test_another_origin_is_refused(w: World, origin: str) -> None:
    _, token = await w.project(origins=("https://site.example",))
    with pytest.raises(OriginNotAllowed):
        await w.record(token, visit(), client=ClientInfo(ip="192.0.2.1", origin=origin))
    assert w.stored == []


async def test_a_request_without_origin_is_allowed(w: World) -> None:
    """Server-side senders send no Origin header; the token is what authenticates them."""
    _, token = await w.project(origins=("https://site.example",))
    assert await w.record(token, visit(), client=ClientInfo(ip="192.0.2.1")) == 1


async def test_an_empty_origin_list_allows_any_origin(w: World) -> None:
    _, token = await w.project()
    for origin in ["https://anything.example", "null"]:
        assert await w.record(token, visit(), client=ClientInfo(ip="192.0.2.1", origin=origin))


# --- rate limits -------------------------------------------------------------------------


async def test_the_rate_limit_counts_events_per_token(w: World) -> None:
    project, token = await w.project(rate_limit=RateLimit(events=5, period_seconds=60))
    assert await w.record(token, visit(), visit(), visit()) == 3
    with pytest.raises(RateLimited) as caught:
        await w.record(token, visit(), visit(), visit())
    error = caught.value
    assert (error.limit, error.remaining) == (5, 2)
    assert error.retry_after == pytest.approx(12.0)
    assert error.reset_after == pytest.approx(36.0)
    assert "5/minute" in str(error)
    assert len(w.stored) == 3
    # What fits still passes.
    assert await w.record(token, visit(), visit()) == 2
    # Another token of the same project has its own allowance.
    other = await w.services.admin.issue_token(project.id)
    assert await w.record(other.token, *[visit()] * 5) == 5


async def test_the_allowance_refills_with_time(w: World) -> None:
    _, token = await w.project(rate_limit=RateLimit(events=2, period_seconds=10))
    await w.record(token, visit(), visit())
    with pytest.raises(RateLimited) as caught:
        await w.record(token, visit())
    w.clock.advance(caught.value.retry_after)
    assert await w.record(token, visit()) == 1


async def test_a_batch_larger_than_the_burst_can_never_pass(w: World) -> None:
    _, token = await w.project(rate_limit=RateLimit(events=3, period_seconds=1))
    with pytest.raises(RateLimited, match="a batch of 4 events exceeds the limit of 3/second") as c:
        await w.record(token, *[visit()] * 4)
    assert math.isinf(c.value.retry_after)
    assert c.value.remaining == 3


# --- tokens ------------------------------------------------------------------------------


async def test_unknown_malformed_and_revoked_tokens_are_refused(w: World) -> None:
    project, token = await w.project()
    unknown = Credential(prefix=TOKEN_PREFIX, id="f" * 16, secret=b"\x00" * 32).text
    for bad in ["", "nonsense", token[:-1] + ("0" if token[-1] != "0" else "1"), unknown]:
        with pytest.raises(Unauthenticated):
            await w.record(bad, visit())
    await w.services.admin.revoke_token(project.id, token.split("_")[1])
    with pytest.raises(Unauthenticated):
        await w.record(token, visit())
    assert w.stored == []


# --- who the visitor is ------------------------------------------------------------------


async def test_a_server_side_senders_visitor_ip_and_agent_override_the_clients(w: World) -> None:
    project, _ = await w.project()
    token = await w.server_token(project)
    backend = ClientInfo(ip="10.0.0.1", user_agent="python-httpx/0.27")
    await w.record(token, visit(visitor_ip="203.0.113.5", user_agent="Firefox"), client=backend)
    await w.record(token, visit(), client=ClientInfo(ip="203.0.113.5", user_agent="Firefox"))
    await w.record(token, visit(), client=backend)
    first, direct, server = (e.visitor_hash for e in w.stored)
    assert first == direct == visitor_hash(w.salt(), project.id, "203.0.113.5", "Firefox")
    assert server != first


async def test_a_visitor_ip_without_an_agent_uses_the_clients_agent(w: World) -> None:
    project, _ = await w.project()
    token = await w.server_token(project)
    await w.record(token, visit(visitor_ip="203.0.113.5"), client=CLIENT)
    expected = visitor_hash(w.salt(), project.id, "203.0.113.5", CLIENT.user_agent)
    assert w.stored[0].visitor_hash == expected


async def test_ipv4_mapped_and_plain_ipv4_clients_are_the_same_visitor(w: World) -> None:
    project, _ = await w.project()
    token = await w.server_token(project)
    await w.record(token, visit(), client=ClientInfo(ip="::ffff:192.0.2.44", user_agent="a"))
    await w.record(token, visit(), client=ClientInfo(ip="192.0.2.44", user_agent="a"))
    await w.record(token, visit(visitor_ip="::ffff:192.0.2.44", user_agent="a"))
    assert len({e.visitor_hash for e in w.stored}) == 1


async def test_a_client_address_that_is_not_an_ip_is_still_hashed(w: World) -> None:
    """A test client or a unix socket peer has no IP; the event is still recorded."""
    _, token = await w.project()
    assert await w.record(token, visit(), client=ClientInfo(ip="testclient")) == 1
    assert len(w.stored[0].visitor_hash) == 16


async def test_the_same_visitor_in_two_projects_gets_two_hashes(w: World) -> None:
    _, one = await w.project()
    _, two = await w.project()
    await w.record(one, visit())
    await w.record(two, visit())
    assert w.stored[0].visitor_hash != w.stored[1].visitor_hash


async def test_the_client_address_is_parsed_once_per_request(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counting(raw: str, index: int | None = None) -> str:
        calls.append(raw)
        return normalize_ip(raw, index)

    monkeypatch.setattr(services_module, "normalize_ip", counting)
    _, token = await w.project()
    await w.record(token, visit())
    assert calls == [CLIENT.ip]


async def test_the_rate_policy_and_the_origin_are_worked_out_once(w: World) -> None:
    _, token = await w.project(origins=("https://site.example",))
    browser = ClientInfo(ip="198.51.100.7", user_agent="ua", origin="https://SITE.example")
    await w.record(token, visit(), client=browser)
    policies, origins = _policy.cache_info(), normalize_origin.cache_info()
    for _ in range(3):
        await w.record(token, visit(), client=browser)
    assert _policy.cache_info().hits - policies.hits == 3
    assert _policy.cache_info().misses == policies.misses
    assert normalize_origin.cache_info().hits - origins.hits == 3
    assert len(w.stored) == 4


async def test_a_visitor_gets_a_new_hash_in_the_next_salt_window(w: World) -> None:
    _, token = await w.project()
    await w.record(token, visit())
    w.clock.advance(hours=1)
    await w.record(token, visit())
    w.clock.advance(days=1)
    await w.record(token, visit())
    first, same_day, next_day = (e.visitor_hash for e in w.stored)
    assert first == same_day != next_day


async def test_a_request_under_global_privacy_control_records_nothing_on_every_use_case(
    w: World,
) -> None:
    """One rule for every way events arrive: nothing in such a request is looked at (a
    garbage token, an unknown site, a refused origin, an invalid event), nothing is
    stored, and the answer is an accepted request's, with 0 events."""
    project, token = await w.project(origins=("https://site.example",))
    gpc = ClientInfo(ip="198.51.100.7", user_agent="ua", origin="https://evil.example", gpc=True)
    invalid = IncomingEvent(action=Action.SCROLL, path="nowhere")
    ingestion = w.services.ingestion
    assert services_module.declines(gpc)
    assert await ingestion.record(token, [visit()], gpc) == 0
    assert await ingestion.record("garbage", [invalid], gpc) == 0
    assert await ingestion.record_for_domain("site.example", [visit()], gpc) == 0
    assert await ingestion.record_for_domain("nobody.example", [invalid], gpc) == 0
    assert await ingestion.record_for_site(project.id, [visit()], gpc) == 0
    assert await ingestion.record_for_site("nope", [invalid], gpc) == 0
    assert w.stored == []
    # Control: the same client without the signal is recorded (no salt was made before).
    assert w.salts.salts == {}
    assert await ingestion.record(token, [visit()], CLIENT) == 1
    assert len(w.stored) == 1


def test_times_are_kept_to_the_millisecond_so_every_store_finds_the_same_sessions() -> None:
    """Two page views 30 minutes and 500 µs apart: SQL keeps milliseconds, and so does
    ingestion for every store, so both see one session (exactly 30 minutes apart joins)."""

    async def scenario() -> None:
        w = make_world(ManualClock(strategies.CLOCK_START))
        _, token = await w.project()
        first = strategies.CLOCK_START - timedelta(hours=1)
        second = first + timedelta(minutes=30, microseconds=500)
        for moment in (first, second):
            event = IncomingEvent(action=Action.VISIT, path="/", timestamp=moment)
            assert await w.record(token, event) == 1
        assert [e.timestamp for e in w.stored] == [first, first + timedelta(minutes=30)]
        assert len(sessionize(w.stored)) == 1

    asyncio.run(scenario())
