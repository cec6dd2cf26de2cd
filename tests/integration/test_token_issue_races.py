"""A token issued while its project is deleted: "not found", never a server error and
never a token left without its project, over memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from privalytics.adapters.memory import (
    InMemoryRateLimiter,
    InMemoryTokenStore,
    InMemoryUserStore,
)
from privalytics.adapters.sqlalchemy import open_stores, tables
from privalytics.domain.errors import NotFound
from privalytics.domain.models import Project, RateLimit, TokenRecord
from privalytics.domain.services import Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests.integration.conftest import Backend
from tests.integration.test_token_store_contract import waiting_on_locks

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class HookedHasher(PlaintextSecretHasher):
    """Runs ``hook`` (once) while hashing a new token's secret: between the use case's
    look at the project and its write, where a delete by someone else can land."""

    def __init__(self) -> None:
        self.hook: Callable[[], Awaitable[object]] | None = None

    async def hash(self, secret: bytes) -> bytes:
        hook, self.hook = self.hook, None
        if hook is not None:
            await hook()
        return await super().hash(secret)


def services_over(backend: Backend, hasher: PlaintextSecretHasher) -> Services:
    clock = ManualClock()
    return build_services(
        events=backend.events,
        tokens=backend.tokens,
        salts=backend.salts,
        limiter=InMemoryRateLimiter(clock),
        hasher=hasher,
        clock=clock,
        users=InMemoryUserStore(),
        **lookups()._asdict(),
    )


async def orphan_tokens(backend: Backend) -> int:
    """Tokens whose project does not exist (SQL: counted by the database itself)."""
    if backend.sql is None:
        assert isinstance(backend.tokens, InMemoryTokenStore)
        store = backend.tokens
        return sum(t.project_id not in store.projects for t in store.tokens.values())
    missing = (
        ~select(tables.projects.c.id)
        .where(tables.projects.c.id == tables.tokens.c.project_id)
        .exists()
    )
    async with backend.sql.engine.connect() as connection:
        count = (
            await connection.execute(select(func.count()).select_from(tables.tokens).where(missing))
        ).scalar_one()
    return int(count)


@pytest.mark.parametrize("revoke_others", [False, True])
async def test_a_project_deleted_while_its_token_is_made_gives_not_found(
    backend: Backend, revoke_others: bool
) -> None:
    hasher = HookedHasher()
    services = services_over(backend, hasher)
    created = await services.admin.create_project("doomed")
    project_id = created.project.id
    hasher.hook = lambda: backend.tokens.delete_project(project_id)
    with pytest.raises(NotFound):
        await services.admin.issue_token(project_id, revoke_others=revoke_others)
    assert hasher.hook is None  # the delete did run in between
    assert await backend.tokens.get_project(project_id) is None
    assert await orphan_tokens(backend) == 0


def record(token_id: str, project_id: str) -> TokenRecord:
    return TokenRecord(id=token_id, project_id=project_id, secret_hash=b"h", created_at=T0)


def project(project_id: str) -> Project:
    return Project(
        id=project_id,
        name=project_id,
        rate_limit=RateLimit(events=10, period_seconds=60),
        allowed_origins=(),
        created_at=T0,
    )


async def test_the_store_refuses_a_token_of_a_missing_project(backend: Backend) -> None:
    store = backend.tokens
    assert await store.add_token(record("t1", "ghost")) is False
    assert await store.rotate_token(record("t2", "ghost"), T0) is None
    assert await store.get_token("t1") is None
    assert await store.get_token("t2") is None
    await store.add_project(project("p1"), record("t0", "p1"))
    assert await store.add_token(record("t3", "p1")) is True
    assert await store.rotate_token(record("t4", "p1"), T0) == ["t0", "t3"]


@pytest.mark.parametrize("rotate", [False, True])
async def test_many_issues_racing_deletes_never_fail_nor_leave_orphans(
    backend: Backend, rotate: bool
) -> None:
    """Forty projects, each deleted by one process while another issues it a token, all
    at once (SQL: two separate sets of connections, as two servers have)."""
    services = services_over(backend, PlaintextSecretHasher())
    other_stores = None
    deleting = backend.tokens
    if backend.sql is not None:
        other_stores = open_stores(backend.sql.engine.url.render_as_string(hide_password=False))
        deleting = other_stores.tokens
    try:
        ids = [(await services.admin.create_project(f"p{n}")).project.id for n in range(40)]

        async def issue(project_id: str) -> str:
            try:
                await services.admin.issue_token(project_id, revoke_others=rotate)
            except NotFound:
                return "not found"
            return "issued"

        answers = await asyncio.gather(
            *(issue(p) for p in ids), *(deleting.delete_project(p) for p in ids)
        )
    finally:
        if other_stores is not None:
            await other_stores.dispose()
    assert set(answers[:40]) <= {"issued", "not found"}
    assert answers[40:] == [True] * 40
    assert await orphan_tokens(backend) == 0


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("rotate", [False, True])
async def test_postgres_a_token_waits_for_an_uncommitted_delete_then_is_refused(
    backend: Backend, rotate: bool
) -> None:
    """The interleaving that fails the foreign-key check without the project's row lock:
    a delete has run but not committed when the token is written."""
    store = backend.tokens
    await store.add_project(project("p1"), record("t0", "p1"))
    assert backend.sql is not None
    url = make_url(backend.sql.engine.url.render_as_string(hide_password=False))
    deleter = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        transaction = deleter.transaction()
        await transaction.start()
        await deleter.execute("DELETE FROM projects WHERE id = 'p1'")
        writing = asyncio.ensure_future(
            store.rotate_token(record("t1", "p1"), T0)
            if rotate
            else store.add_token(record("t1", "p1"))
        )
        await waiting_on_locks(deleter, 1)
        await transaction.commit()
        assert await writing is (None if rotate else False)
    finally:
        await deleter.close()
    assert await store.get_token("t1") is None
    assert await orphan_tokens(backend) == 0
