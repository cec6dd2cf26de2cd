"""Projects, their tokens, and the admin keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.errors import (
    InvalidInput,
    NotFound,
    OriginNotAllowed,
    RateLimited,
    StorageUnavailable,
    Unauthenticated,
)
from privalytics.domain.models import (
    Action,
    AdminKeyRecord,
    ClientInfo,
    IncomingEvent,
    Project,
    ProjectUpdate,
    RateLimit,
)
from privalytics.domain.services import (
    DEFAULT_RATE_LIMIT,
    ProjectCache,
    Services,
    build_services,
)
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups

VISIT = IncomingEvent(action=Action.VISIT, path="/")
CLIENT = ClientInfo(ip="192.0.2.10", user_agent="ua")


class RacingTokenStore(InMemoryTokenStore):
    """A token store where another process deletes the project just before each write."""

    racing = False

    async def update_project(self, project: Project) -> bool:
        if self.racing:
            self.projects.pop(project.id, None)
        return await super().update_project(project)

    async def delete_project(self, project_id: str) -> bool:
        if self.racing:
            self.projects.pop(project_id, None)
        return await super().delete_project(project_id)


class RecordingRateLimiter(InMemoryRateLimiter):
    """The memory limiter, noting which keys were reset."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.resets: list[str] = []

    async def reset(self, key: str) -> None:
        self.resets.append(key)
        await super().reset(key)


@dataclass
class World:
    events: InMemoryEventStore
    tokens: RacingTokenStore
    limiter: RecordingRateLimiter
    services: Services
    clock: ManualClock

    async def send(self, token: str, count: int = 1, origin: str | None = None) -> int:
        client = ClientInfo(ip=CLIENT.ip, user_agent=CLIENT.user_agent, origin=origin)
        return await self.services.ingestion.record(token, [VISIT] * count, client)


@pytest.fixture
def w(clock: ManualClock) -> World:
    events, tokens, limiter = InMemoryEventStore(), RacingTokenStore(), RecordingRateLimiter(clock)
    services = build_services(
        **lookups()._asdict(),
        events=events,
        tokens=tokens,
        salts=InMemorySaltStore(),
        limiter=limiter,
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )
    return World(events=events, tokens=tokens, limiter=limiter, services=services, clock=clock)


# --- project lifecycle -------------------------------------------------------------------


async def test_a_new_project_has_the_defaults_and_a_working_token(w: World) -> None:
    created = await w.services.admin.create_project("  My site ")
    project = created.project
    assert project.name == "My site"
    assert project.rate_limit == DEFAULT_RATE_LIMIT
    assert project.allowed_origins == ()
    assert project.created_at == w.clock.now()
    assert len(project.id) == 16
    assert created.token.info.project_id == project.id
    assert created.token.info.revoked_at is None
    assert created.token.token.startswith(f"pvt_{created.token.info.id}_")
    assert await w.services.admin.get_project(project.id) == project
    assert await w.send(created.token.token) == 1


async def test_a_project_takes_a_custom_limit_and_normalised_origins(w: World) -> None:
    limit = RateLimit(events=10, period_seconds=1)
    created = await w.services.admin.create_project(
        "site",
        rate_limit=limit,
        allowed_origins=["https://Site.example/", "https://site.example:443", "http://[::1]:8000"],
    )
    assert created.project.rate_limit == limit
    assert created.project.allowed_origins == ("https://site.example", "http://[::1]:8000")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "ok", "allowed_origins": ["https://a.example/path"]}, "allowed_origins"),
        ({"name": "ok", "rate_limit": RateLimit(events=0, period_seconds=60)}, "rate_limit"),
    ],
)
async def test_an_invalid_project_is_refused_and_not_stored(
    w: World, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await w.services.admin.create_project(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert await w.services.admin.list_projects() == []
    assert w.tokens.tokens == {}


async def test_projects_are_listed_oldest_first(w: World) -> None:
    names = ["c", "a", "b"]
    for name in names:
        await w.services.admin.create_project(name)
        w.clock.advance(1)
    assert [p.name for p in await w.services.admin.list_projects()] == names


async def test_a_missing_project_is_not_found(w: World) -> None:
    admin = w.services.admin
    with pytest.raises(NotFound):
        await admin.get_project("0" * 16)
    with pytest.raises(NotFound):
        await admin.update_project("0" * 16, ProjectUpdate(name="x"))
    with pytest.raises(NotFound):
        await admin.delete_project("0" * 16)
    with pytest.raises(NotFound):
        await admin.issue_token("0" * 16)
    with pytest.raises(NotFound):
        await admin.list_tokens("0" * 16)


async def test_each_field_of_a_project_can_be_updated_alone(w: World) -> None:
    admin = w.services.admin
    original = (await admin.create_project("old", allowed_origins=["https://a.example"])).project
    renamed = await admin.update_project(original.id, ProjectUpdate(name=" new "))
    assert renamed.name == "new"
    assert renamed.rate_limit == original.rate_limit
    assert renamed.allowed_origins == original.allowed_origins
    limited = await admin.update_project(
        original.id, ProjectUpdate(rate_limit=RateLimit(events=7, period_seconds=3600))
    )
    assert limited.rate_limit == RateLimit(events=7, period_seconds=3600)
    assert limited.name == "new"
    opened = await admin.update_project(original.id, ProjectUpdate(allowed_origins=()))
    assert opened.allowed_origins == ()
    assert opened.rate_limit == limited.rate_limit
    unchanged = await admin.update_project(original.id, ProjectUpdate())
    assert unchanged == opened
    assert unchanged.created_at == original.created_at
    assert unchanged.id == original.id
    assert await admin.get_project(original.id) == unchanged


@pytest.mark.parametrize(
    "update",
    [
        ProjectUpdate(name=""),
        ProjectUpdate(rate_limit=RateLimit(events=5, period_seconds=0)),
        ProjectUpdate(allowed_origins=("ftp://a.example",)),
    ],
)
async def test_an_invalid_update_changes_nothing(w: World, update: ProjectUpdate) -> None:
    project = (await w.services.admin.create_project("site")).project
    with pytest.raises(InvalidInput):
        await w.services.admin.update_project(project.id, update)
    assert await w.services.admin.get_project(project.id) == project


async def test_new_origins_apply_at_once_in_the_same_process(w: World) -> None:
    created = await w.services.admin.create_project("site")
    token = created.token.token
    assert await w.send(token, origin="https://other.example") == 1
    await w.services.admin.update_project(
        created.project.id, ProjectUpdate(allowed_origins=("https://site.example",))
    )
    with pytest.raises(OriginNotAllowed):
        await w.send(token, origin="https://other.example")


async def test_changing_the_rate_limit_resets_the_limiter_state(w: World) -> None:
    created = await w.services.admin.create_project(
        "site", rate_limit=RateLimit(events=3, period_seconds=3600)
    )
    token, project_id = created.token.token, created.project.id
    await w.send(token, 3)
    with pytest.raises(RateLimited):
        await w.send(token)
    # A change of something else keeps the state ...
    await w.services.admin.update_project(project_id, ProjectUpdate(name="renamed"))
    with pytest.raises(RateLimited):
        await w.send(token)
    # ... as does "changing" the limit to the same value ...
    same = ProjectUpdate(rate_limit=RateLimit(events=3, period_seconds=3600))
    await w.services.admin.update_project(project_id, same)
    with pytest.raises(RateLimited):
        await w.send(token)
    assert w.limiter.resets == []
    # ... while a new limit starts from a full allowance, for every token of the project.
    second = await w.services.admin.issue_token(project_id)
    new = ProjectUpdate(rate_limit=RateLimit(events=5, period_seconds=3600))
    await w.services.admin.update_project(project_id, new)
    assert sorted(w.limiter.resets) == sorted(
        [f"site:{project_id}", f"token:{created.token.info.id}", f"token:{second.info.id}"]
    )
    assert await w.send(token, 5) == 5
    with pytest.raises(RateLimited) as caught:
        await w.send(token)
    assert caught.value.limit == 5


async def test_deleting_a_project_removes_its_events_and_tokens(w: World) -> None:
    admin = w.services.admin
    doomed = await admin.create_project("doomed")
    kept = await admin.create_project("kept")
    second = await admin.issue_token(doomed.project.id)
    await w.send(doomed.token.token, 3)
    await w.send(second.token, 2)
    await w.send(kept.token.token, 4)
    await admin.delete_project(doomed.project.id)
    assert {e.project_id for e in w.events.events} == {kept.project.id}
    assert len(w.events.events) == 4
    assert {t.project_id for t in w.tokens.tokens.values()} == {kept.project.id}
    with pytest.raises(NotFound):
        await admin.get_project(doomed.project.id)
    assert [p.id for p in await admin.list_projects()] == [kept.project.id]
    for token in [doomed.token.token, second.token]:
        with pytest.raises(Unauthenticated):
            await w.send(token)
    assert await w.send(kept.token.token) == 1


async def test_an_update_or_delete_racing_a_deletion_elsewhere_is_not_found(w: World) -> None:
    project = (await w.services.admin.create_project("site")).project
    w.tokens.racing = True
    with pytest.raises(NotFound):
        await w.services.admin.update_project(project.id, ProjectUpdate(name="x"))
    w.tokens.racing = False
    other = (await w.services.admin.create_project("other")).project
    w.tokens.racing = True
    with pytest.raises(NotFound):
        await w.services.admin.delete_project(other.id)


# --- tokens ------------------------------------------------------------------------------


async def test_a_new_token_works_beside_the_old_one(w: World) -> None:
    created = await w.services.admin.create_project("site")
    w.clock.advance(1)
    issued = await w.services.admin.issue_token(created.project.id)
    assert issued.info.project_id == created.project.id
    assert issued.info.id != created.token.info.id
    assert await w.send(created.token.token) == 1
    assert await w.send(issued.token) == 1
    infos = await w.services.admin.list_tokens(created.project.id)
    assert [i.id for i in infos] == [created.token.info.id, issued.info.id]
    assert all(i.revoked_at is None for i in infos)


async def test_a_new_token_revoking_the_others_is_the_only_live_one(w: World) -> None:
    admin = w.services.admin
    created = await admin.create_project("site")
    old = [created.token, await admin.issue_token(created.project.id)]
    await w.send(old[0].token)
    already = await admin.revoke_token(created.project.id, old[1].info.id)
    w.clock.advance(60)
    new = await admin.issue_token(created.project.id, revoke_others=True)
    for issued in old:
        with pytest.raises(Unauthenticated):
            await w.send(issued.token)
    assert await w.send(new.token) == 1
    infos = {i.id: i for i in await admin.list_tokens(created.project.id)}
    assert infos[old[0].info.id].revoked_at == w.clock.now()
    # A token revoked before keeps the time it was revoked.
    assert infos[old[1].info.id].revoked_at == already.revoked_at
    assert infos[old[1].info.id].revoked_at == w.clock.now() - timedelta(seconds=60)
    assert infos[new.info.id].revoked_at is None


async def test_revoking_twice_keeps_the_first_revocation(w: World) -> None:
    created = await w.services.admin.create_project("site")
    first = await w.services.admin.revoke_token(created.project.id, created.token.info.id)
    w.clock.advance(10)
    again = await w.services.admin.revoke_token(created.project.id, created.token.info.id)
    assert first.revoked_at == again.revoked_at is not None


async def test_keep_last_leaves_the_last_live_token_live(w: World) -> None:
    created = await w.services.admin.create_project("site")
    project_id = created.project.id
    second = await w.services.admin.issue_token(project_id)
    revoked = await w.services.admin.revoke_token(project_id, second.info.id, keep_last=True)
    assert revoked.revoked_at == w.clock.now()
    kept = await w.services.admin.revoke_token(project_id, created.token.info.id, keep_last=True)
    assert kept == created.token.info  # live, as it was
    assert await w.send(created.token.token) == 1


async def test_a_token_of_another_project_cannot_be_revoked_through_this_one(w: World) -> None:
    one = await w.services.admin.create_project("one")
    two = await w.services.admin.create_project("two")
    with pytest.raises(NotFound):
        await w.services.admin.revoke_token(one.project.id, two.token.info.id)
    with pytest.raises(NotFound):
        await w.services.admin.revoke_token(one.project.id, "0" * 16)
    assert await w.send(two.token.token) == 1


async def test_revoking_a_token_or_deleting_its_project_drops_its_limiter_state(
    w: World,
) -> None:
    """Its id never comes back, so its state would only linger in the limiter."""
    one = await w.services.admin.create_project("one")
    two = await w.services.admin.create_project("two")
    await w.services.admin.revoke_token(one.project.id, one.token.info.id)
    assert w.limiter.resets == [f"token:{one.token.info.id}"]
    await w.services.admin.delete_project(two.project.id)
    assert w.limiter.resets[1:] == [f"site:{two.project.id}", f"token:{two.token.info.id}"]


# --- admin keys --------------------------------------------------------------------------


async def test_an_admin_key_is_checked_and_a_wrong_one_refused(w: World) -> None:
    admin = w.services.admin
    key = await admin.create_admin_key()
    assert key.startswith("pak_")
    key_id = key.split("_")[1]
    assert await admin.check_admin_key(key) == key_id
    assert set(w.tokens.admin_keys) == {key_id}
    assert key.encode() not in w.tokens.admin_keys[key_id].secret_hash
    wrong = key[:-9] + ("0" if key[-9] != "0" else "1") + key[-8:]
    other = await admin.create_admin_key()
    for bad in ["", "pak_", wrong, key + " ", key.replace("pak", "pvt", 1)]:
        with pytest.raises(Unauthenticated):
            await admin.check_admin_key(bad)
    assert await admin.check_admin_key(other) != key_id


async def test_a_revoked_admin_key_is_refused(w: World, clock: ManualClock) -> None:
    key = await w.services.admin.create_admin_key()
    key_id = key.split("_")[1]
    record = w.tokens.admin_keys[key_id]
    w.tokens.admin_keys[key_id] = AdminKeyRecord(
        id=record.id,
        secret_hash=record.secret_hash,
        created_at=record.created_at,
        revoked_at=clock.now(),
    )
    with pytest.raises(Unauthenticated):
        await w.services.admin.check_admin_key(key)


async def test_a_project_token_is_not_an_admin_key(w: World) -> None:
    created = await w.services.admin.create_project("site")
    with pytest.raises(Unauthenticated):
        await w.services.admin.check_admin_key(created.token.token)


# --- the services object -----------------------------------------------------------------


class CountingProjectStore(InMemoryTokenStore):
    """A store that has every project asked for, counting the reads."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.reads = 0
        self._clock = clock

    async def get_project(self, project_id: str) -> Project | None:
        self.reads += 1
        return Project(
            id=project_id,
            name=project_id,
            rate_limit=DEFAULT_RATE_LIMIT,
            created_at=self._clock.now(),
        )


async def test_the_project_cache_stays_bounded(clock: ManualClock) -> None:
    store = CountingProjectStore(clock)
    cache = ProjectCache(store, clock, ttl=60)
    for n in range(10_002):
        await cache.get(f"p{n}")
    assert store.reads == 10_002
    # The cache was emptied on the way: the first projects are read again, the last not.
    await cache.get("p0")
    await cache.get("p10001")
    assert store.reads == 10_003


class GatedProjectStore(InMemoryTokenStore):
    """A store whose reads of a project are held, once read, until the test lets them go:
    the answer is the project as it was when read, as a database's would be."""

    def __init__(self) -> None:
        super().__init__()
        self.read = asyncio.Event()
        self.release = asyncio.Event()
        self.gated = True

    async def get_project(self, project_id: str) -> Project | None:
        project = await super().get_project(project_id)
        if self.gated:
            self.read.set()
            await self.release.wait()
        return project


@pytest.mark.parametrize("forgotten_before", [0, 2])
async def test_a_read_under_way_when_a_project_is_forgotten_is_not_cached(
    clock: ManualClock, forgotten_before: int
) -> None:
    """However many projects the cache forgot before (each forget() counts, not only the
    first)."""
    store = GatedProjectStore()
    old = Project(id="p", name="p", rate_limit=DEFAULT_RATE_LIMIT, created_at=clock.now())
    store.projects["p"] = old
    cache = ProjectCache(store, clock, ttl=60)
    for number in range(forgotten_before):
        cache.forget(f"other{number}")
    reading = asyncio.create_task(cache.get("p"))
    await asyncio.wait_for(store.read.wait(), timeout=5)
    # The project changes (another request's update_project) while the read is held.
    changed = Project(
        id="p",
        name="p",
        rate_limit=RateLimit(events=5, period_seconds=60),
        created_at=old.created_at,
    )
    await store.update_project(changed)
    cache.forget("p")
    store.release.set()
    assert await reading == old  # answered as read: it started before the change
    store.gated = False
    assert await cache.get("p") == changed


async def test_a_project_is_remembered_for_ttl_seconds_and_not_at_the_ttl(
    clock: ManualClock,
) -> None:
    store = CountingProjectStore(clock)
    cache = ProjectCache(store, clock, ttl=60)
    await cache.get("p")
    clock.advance(59.999_999)
    await cache.get("p")
    assert store.reads == 1
    clock.advance(0.000_001)
    await cache.get("p")
    assert store.reads == 2


async def test_a_project_found_deleted_is_not_served_from_memory_even_if_the_clock_steps_back(
    clock: ManualClock,
) -> None:
    store = InMemoryTokenStore()
    project = Project(id="p", name="p", rate_limit=DEFAULT_RATE_LIMIT, created_at=clock.now())
    store.projects["p"] = project
    cache = ProjectCache(store, clock, ttl=60)
    assert await cache.get("p") == project
    await store.delete_project("p")  # by another process: this one's memory still has it
    clock.advance(61)
    assert await cache.get("p") is None
    # The system clock is set back (as NTP may): the memory of p, read at a time that is
    # the future again, is gone all the same.
    clock.advance(-31)
    assert await cache.get("p") is None


async def test_a_full_project_cache_drops_the_least_recently_used_only(
    clock: ManualClock,
) -> None:
    store = CountingProjectStore(clock)
    cache = ProjectCache(store, clock, ttl=60, max_entries=3)
    for name in ("a", "b", "c", "a", "d"):
        await cache.get(name)
    assert store.reads == 4
    for name in ("a", "c", "d"):
        await cache.get(name)
    assert store.reads == 4
    await cache.get("b")
    assert store.reads == 5


async def test_health_asks_every_backend_and_aclose_closes_everything(
    clock: ManualClock,
) -> None:
    calls: list[str] = []

    async def healthy() -> None:
        calls.append("healthy")

    async def down() -> None:
        calls.append("down")
        raise StorageUnavailable("the database does not answer")

    async def close() -> None:
        calls.append("closed")

    def services(*checks: Callable[[], Awaitable[None]]) -> Services:
        return build_services(
            **lookups()._asdict(),
            events=InMemoryEventStore(),
            tokens=InMemoryTokenStore(),
            salts=InMemorySaltStore(),
            limiter=InMemoryRateLimiter(clock),
            hasher=PlaintextSecretHasher(),
            clock=clock,
            health_checks=checks,
            closers=(close, close),
        )

    await services().health()  # the event store's ping by default
    await services(healthy).health()
    with pytest.raises(StorageUnavailable):
        await services(healthy, down).health()
    assert calls == ["healthy", "healthy", "down"]
    await services().aclose()
    assert calls[3:] == ["closed", "closed"]
