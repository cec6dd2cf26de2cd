"""Admin changes are reported as they happened: a committed change never answers 503
because the rate limiter is down, and a rotation is one store call."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.errors import StorageUnavailable, Unauthenticated
from privalytics.domain.models import (
    Action,
    ClientInfo,
    IncomingEvent,
    ProjectUpdate,
    RateLimit,
    TokenRecord,
)
from privalytics.domain.services import Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups

VISIT = IncomingEvent(action=Action.VISIT, path="/")
CLIENT = ClientInfo(ip="198.51.100.7", user_agent="test")


class DownRateLimiter(InMemoryRateLimiter):
    """Admits events (so tokens can be used) but cannot reset: its server went away."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.down = False
        self.resets: list[str] = []

    async def reset(self, key: str) -> None:
        if self.down:
            raise StorageUnavailable("the rate limiter's Redis server is unavailable")
        self.resets.append(key)
        await super().reset(key)


class CountingTokenStore(InMemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.fail_rotation = False

    async def revoke_token(self, token_id: str, at: datetime, *, keep_last: bool = False) -> bool:
        self.calls.append("revoke_token")
        return await super().revoke_token(token_id, at, keep_last=keep_last)

    async def add_token(self, token: TokenRecord) -> bool:
        self.calls.append("add_token")
        return await super().add_token(token)

    async def rotate_token(self, token: TokenRecord, at: datetime) -> list[str] | None:
        self.calls.append("rotate_token")
        if self.fail_rotation:
            raise StorageUnavailable("the database does not answer")
        return await super().rotate_token(token, at)


@pytest.fixture
def limiter(clock: ManualClock) -> DownRateLimiter:
    return DownRateLimiter(clock)


@pytest.fixture
def tokens() -> CountingTokenStore:
    return CountingTokenStore()


@pytest.fixture
def services(clock: ManualClock, limiter: DownRateLimiter, tokens: CountingTokenStore) -> Services:
    return build_services(
        **lookups()._asdict(),
        events=InMemoryEventStore(),
        tokens=tokens,
        salts=InMemorySaltStore(),
        limiter=limiter,
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )


def discreet(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    assert caplog.messages == ["rate-limit state not reset: the rate limiter is unavailable"]
    for secret in secrets:
        assert secret not in caplog.text


async def test_revoking_with_the_limiter_down_revokes_and_says_so(
    services: Services, limiter: DownRateLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    created = await services.admin.create_project("site")
    token = created.token
    limiter.down = True
    with caplog.at_level(logging.WARNING, "privalytics.admin"):
        info = await services.admin.revoke_token(created.project.id, token.info.id)
    assert info.revoked_at is not None
    with pytest.raises(Unauthenticated):
        await services.ingestion.authenticate(token.token)
    discreet(caplog, token.token, token.info.id)


async def test_updating_the_limit_with_the_limiter_down_applies_the_update(
    services: Services, limiter: DownRateLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    created = await services.admin.create_project("site")
    limiter.down = True
    limit = RateLimit(events=5, period_seconds=60)
    with caplog.at_level(logging.WARNING, "privalytics.admin"):
        changed = await services.admin.update_project(
            created.project.id, ProjectUpdate(rate_limit=limit)
        )
    assert changed.rate_limit == limit
    assert (await services.admin.get_project(created.project.id)).rate_limit == limit
    discreet(caplog, created.token.token)


async def test_a_new_limit_resets_the_projects_token_and_site_keys(
    services: Services, limiter: DownRateLimiter
) -> None:
    created = await services.admin.create_project("site")
    await services.admin.update_project(
        created.project.id, ProjectUpdate(rate_limit=RateLimit(events=5, period_seconds=60))
    )
    assert sorted(limiter.resets) == sorted(
        [f"site:{created.project.id}", f"token:{created.token.info.id}"]
    )


async def test_deleting_with_the_limiter_down_deletes(
    services: Services, limiter: DownRateLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    created = await services.admin.create_project("site")
    limiter.down = True
    with caplog.at_level(logging.WARNING, "privalytics.admin"):
        await services.admin.delete_project(created.project.id)
    assert await services.admin.list_projects() == []
    discreet(caplog, created.token.token)


async def test_rotating_with_revoke_others_is_one_store_call(
    services: Services, tokens: CountingTokenStore, limiter: DownRateLimiter
) -> None:
    created = await services.admin.create_project("site")
    second = await services.admin.issue_token(created.project.id)
    tokens.calls.clear()
    limiter.down = True
    third = await services.admin.issue_token(created.project.id, revoke_others=True)
    assert tokens.calls == ["rotate_token"]
    live = [t.id for t in await services.admin.list_tokens(created.project.id) if not t.revoked_at]
    assert live == [third.info.id]
    for old in (created.token.token, second.token):
        with pytest.raises(Unauthenticated):
            await services.ingestion.authenticate(old)
    assert await services.ingestion.authenticate(third.token) == created.project


async def test_a_failed_rotation_leaves_the_old_token_working(
    services: Services, tokens: CountingTokenStore
) -> None:
    created = await services.admin.create_project("site")
    await services.ingestion.authenticate(created.token.token)
    tokens.fail_rotation = True
    with pytest.raises(StorageUnavailable):
        await services.admin.issue_token(created.project.id, revoke_others=True)
    assert [t.id for t in await services.admin.list_tokens(created.project.id)] == [
        created.token.info.id
    ]
    assert await services.ingestion.authenticate(created.token.token) == created.project


class FailingDeleteEventStore(InMemoryEventStore):
    """Its deletes fail while ``down``: the database went away between two statements."""

    def __init__(self, tokens: InMemoryTokenStore) -> None:
        super().__init__()
        self._tokens = tokens
        self.projects_left_at_delete: list[str] = []
        self.down = True

    async def delete_project_events(self, project_id: str) -> int:
        self.projects_left_at_delete = list(self._tokens.projects)
        if self.down:
            raise StorageUnavailable("the database does not answer")
        return await super().delete_project_events(project_id)


async def test_a_project_is_deleted_before_its_events_and_the_sweep_takes_what_is_left(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = InMemoryTokenStore()
    events = FailingDeleteEventStore(tokens)
    services = build_services(
        **lookups()._asdict(),
        events=events,
        tokens=tokens,
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )
    created = await services.admin.create_project("site")
    await services.ingestion.record(created.token.token, [VISIT], CLIENT)
    with caplog.at_level(logging.WARNING, "privalytics.admin"):
        await services.admin.delete_project(created.project.id)
    assert events.projects_left_at_delete == []
    assert tokens.tokens == {}
    assert caplog.messages == [
        "events of a deleted project left for the sweep: storage unavailable"
    ]
    assert len(events.events) == 1
    events.down = False
    await services.housekeeping()
    assert events.events == []
