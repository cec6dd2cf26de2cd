"""The TokenStore contract (projects, tokens, admin keys), over memory, SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from privalytics.adapters.sqlalchemy import SqlStores, open_stores
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import AdminKeyRecord, Project, RateLimit, TokenRecord
from privalytics.domain.ports import TokenStore
from tests.integration.conftest import Backend, assert_discreet

# Microseconds on purpose: they must survive the round trip.
T0 = datetime(2026, 3, 1, 12, 0, 0, 123_456, tzinfo=UTC)


def project(project_id: str = "p1", *, at: datetime = T0, origins: tuple[str, ...] = ()) -> Project:
    return Project(
        id=project_id,
        name=f"Project {project_id} ✓",
        rate_limit=RateLimit(events=1000, period_seconds=60),
        allowed_origins=origins,
        created_at=at,
    )


def token(
    record_id: str = "t1",
    project_id: str = "p1",
    *,
    at: datetime = T0,
    revoked: datetime | None = None,
) -> TokenRecord:
    return TokenRecord(
        id=record_id,
        project_id=project_id,
        secret_hash=b"$2b$12$" + record_id.encode() + bytes(range(256)),
        created_at=at,
        revoked_at=revoked,
    )


async def test_a_project_comes_back_as_stored_with_its_first_token(
    token_store: TokenStore,
) -> None:
    stored = project(origins=("https://example.org", "http://localhost:8080"))
    await token_store.add_project(stored, token())
    assert await token_store.get_project("p1") == stored
    assert await token_store.get_token("t1") == token()
    assert await token_store.list_tokens("p1") == [token()]


async def test_getting_missing_ids_gives_none(token_store: TokenStore) -> None:
    assert await token_store.get_project("nope") is None
    assert await token_store.get_token("nope") is None
    assert await token_store.get_admin_key("nope") is None
    assert await token_store.list_tokens("nope") == []
    assert await token_store.list_projects() == []


async def test_projects_are_listed_oldest_first_then_by_id(token_store: TokenStore) -> None:
    later = project("a-later", at=T0 + timedelta(microseconds=1))
    first = project("z-first", at=T0 - timedelta(days=1))
    tie_b = project("tie-b")
    tie_a = project("tie-a")
    for n, p in enumerate((later, tie_b, first, tie_a)):
        await token_store.add_project(p, token(f"t{n}", p.id))
    assert await token_store.list_projects() == [first, tie_a, tie_b, later]


async def test_update_replaces_the_project_and_reports_whether_it_existed(
    token_store: TokenStore,
) -> None:
    await token_store.add_project(project(), token())
    changed = Project(
        id="p1",
        name="Renamed",
        rate_limit=RateLimit(events=5, period_seconds=3600),
        allowed_origins=("https://a.example",),
        created_at=T0,
    )
    assert await token_store.update_project(changed) is True
    assert await token_store.get_project("p1") == changed
    assert await token_store.update_project(project("ghost")) is False
    assert await token_store.get_project("ghost") is None


async def test_deleting_a_project_deletes_its_tokens_and_nothing_else(
    token_store: TokenStore,
) -> None:
    await token_store.add_project(project("p1"), token("t1", "p1"))
    await token_store.add_token(token("t2", "p1"))
    await token_store.add_project(project("p2"), token("t3", "p2"))
    assert await token_store.delete_project("p1") is True
    assert await token_store.get_project("p1") is None
    assert await token_store.get_token("t1") is None
    assert await token_store.get_token("t2") is None
    assert await token_store.list_tokens("p1") == []
    assert await token_store.get_project("p2") == project("p2")
    assert await token_store.list_tokens("p2") == [token("t3", "p2")]
    assert await token_store.delete_project("p1") is False


async def test_tokens_are_listed_oldest_first_revoked_included_per_project(
    token_store: TokenStore,
) -> None:
    await token_store.add_project(project("p1"), token("t-mid", "p1", at=T0))
    await token_store.add_project(project("p2"), token("t-other", "p2"))
    newest = token("t-new", "p1", at=T0 + timedelta(hours=1))
    oldest = token("t-old", "p1", at=T0 - timedelta(hours=1), revoked=T0)
    await token_store.add_token(newest)
    await token_store.add_token(oldest)
    assert await token_store.list_tokens("p1") == [oldest, token("t-mid", "p1"), newest]


async def test_revoking_marks_the_token_once(token_store: TokenStore) -> None:
    await token_store.add_project(project(), token())
    at = T0 + timedelta(days=2, microseconds=7)
    assert await token_store.revoke_token("t1", at) is True
    revoked = await token_store.get_token("t1")
    assert revoked is not None
    assert revoked.revoked_at == at
    assert revoked.secret_hash == token().secret_hash
    # Again: no change, and the first revocation time stays.
    assert await token_store.revoke_token("t1", at + timedelta(days=1)) is False
    assert await token_store.get_token("t1") == revoked
    assert await token_store.revoke_token("missing", at) is False


async def test_keeping_the_last_live_token_refuses_to_revoke_it(token_store: TokenStore) -> None:
    await token_store.add_project(project(), token("t1"))
    await token_store.add_token(token("t2"))
    await token_store.add_token(token("t0", revoked=T0))  # revoked ones do not count
    at = T0 + timedelta(days=1)
    assert await token_store.revoke_token("t1", at, keep_last=True) is True
    assert await token_store.revoke_token("t2", at, keep_last=True) is False
    assert await token_store.get_token("t2") == token("t2")
    # Without keep_last, the last one goes too.
    assert await token_store.revoke_token("t2", at) is True
    assert [t.revoked_at for t in await token_store.list_tokens("p1")] == [T0, at, at]


@asynccontextmanager
async def rows_held(backend: Backend, *token_ids: str) -> AsyncIterator[asyncpg.Connection]:
    """PostgreSQL: another transaction holding the tokens' rows until the block ends, so
    that revokes started meanwhile have begun (and taken their snapshot) before any can
    change a row; yields the connection, to watch the others wait."""
    assert backend.sql is not None
    url = make_url(backend.sql.engine.url.render_as_string(hide_password=False))
    holder = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM tokens WHERE id = ANY($1::text[]) FOR UPDATE", list(token_ids)
            )
            yield holder
    finally:
        await holder.close()


async def waiting_on_locks(holder: asyncpg.Connection, count: int) -> None:
    """Return once ``count`` other sessions of this database wait on a lock."""
    async with asyncio.timeout(10):
        while True:
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if waiting >= count:
                return
            await asyncio.sleep(0.01)  # polling a condition, with the deadline above


async def test_two_revokes_at_once_leave_one_live_token(backend: Backend) -> None:
    """Each of the last two live tokens revoked with keep_last at the same time: one is
    revoked, the other stays. On PostgreSQL both revokes are made to begin before either
    changes a row (the rows are held, then let go), the interleaving that a check followed
    by a revoke, or an update reading the other token as of its start, gets wrong."""
    store = backend.tokens
    await store.add_project(project(), token("t1"))
    await store.add_token(token("t2"))
    at = T0 + timedelta(days=1)

    async def both() -> list[bool]:
        return list(
            await asyncio.gather(
                store.revoke_token("t1", at, keep_last=True),
                store.revoke_token("t2", at, keep_last=True),
            )
        )

    if backend.name == "postgres":
        # Another instance revokes the other token: a connection each, already open.
        assert backend.sql is not None
        other = open_stores(backend.sql.engine.url.render_as_string(hide_password=False))
        try:
            assert await other.tokens.get_token("t2") == token("t2")
            async with rows_held(backend, "t1", "t2") as holder:
                revoking = asyncio.gather(
                    store.revoke_token("t1", at, keep_last=True),
                    other.tokens.revoke_token("t2", at, keep_last=True),
                )
                await waiting_on_locks(holder, 2)
            done = list(await revoking)
        finally:
            await other.dispose()
    else:
        done = await both()
    assert sorted(done) == [False, True]
    live = [t.id for t in await store.list_tokens("p1") if t.revoked_at is None]
    assert len(live) == 1


async def test_admin_keys_round_trip(token_store: TokenStore) -> None:
    active = AdminKeyRecord(id="k1", secret_hash=b"\x00hash\xff", created_at=T0)
    revoked = AdminKeyRecord(
        id="k2", secret_hash=b"h2", created_at=T0, revoked_at=T0 + timedelta(seconds=1)
    )
    await token_store.add_admin_key(active)
    await token_store.add_admin_key(revoked)
    assert await token_store.get_admin_key("k1") == active
    assert await token_store.get_admin_key("k2") == revoked


async def test_rotating_stores_the_new_token_and_revokes_every_other_live_one(
    token_store: TokenStore,
) -> None:
    await token_store.add_project(project("p1"), token("t1", "p1"))
    await token_store.add_token(token("t2", "p1", at=T0 + timedelta(seconds=1)))
    earlier = T0 + timedelta(hours=1)
    await token_store.add_token(token("t0", "p1", revoked=earlier))
    await token_store.add_project(project("p2"), token("other", "p2"))
    at = T0 + timedelta(days=1, microseconds=3)
    new = token("t3", "p1", at=at)
    assert await token_store.rotate_token(new, at) == ["t1", "t2"]
    assert [(t.id, t.revoked_at) for t in await token_store.list_tokens("p1")] == [
        ("t0", earlier),
        ("t1", at),
        ("t2", at),
        ("t3", None),
    ]
    assert await token_store.get_token("t3") == new
    assert await token_store.list_tokens("p2") == [token("other", "p2")]


async def test_sql_rotation_revokes_nothing_when_the_new_token_cannot_be_stored(
    sql_stores: SqlStores,
) -> None:
    await sql_stores.tokens.add_project(project("p1"), token("t1", "p1"))
    await sql_stores.tokens.add_project(project("p2"), token("t2", "p2"))
    with pytest.raises(IntegrityError):
        # The id is taken: the old token must stay live.
        await sql_stores.tokens.rotate_token(token("t2", "p1"), T0)
    assert await sql_stores.tokens.list_tokens("p1") == [token("t1", "p1")]


async def test_admin_keys_are_listed_oldest_first_revoked_included(
    token_store: TokenStore,
) -> None:
    later = AdminKeyRecord(id="a", secret_hash=b"h", created_at=T0 + timedelta(seconds=1))
    first = AdminKeyRecord(id="z", secret_hash=b"h", created_at=T0)
    gone = AdminKeyRecord(id="m", secret_hash=b"h", created_at=T0, revoked_at=T0)
    for key in (later, first, gone):
        await token_store.add_admin_key(key)
    assert await token_store.list_admin_keys() == [gone, first, later]


async def test_revoking_an_admin_key_marks_it_once(token_store: TokenStore) -> None:
    key = AdminKeyRecord(id="k1", secret_hash=b"\x00hash", created_at=T0)
    await token_store.add_admin_key(key)
    await token_store.add_admin_key(AdminKeyRecord(id="k2", secret_hash=b"h", created_at=T0))
    at = T0 + timedelta(days=1, microseconds=9)
    assert await token_store.revoke_admin_key("k1", at) is True
    revoked = await token_store.get_admin_key("k1")
    assert revoked == AdminKeyRecord(id="k1", secret_hash=b"\x00hash", created_at=T0, revoked_at=at)
    assert await token_store.revoke_admin_key("k1", at + timedelta(days=1)) is False
    assert await token_store.get_admin_key("k1") == revoked
    assert await token_store.revoke_admin_key("missing", at) is False
    k2 = await token_store.get_admin_key("k2")
    assert k2 is not None
    assert k2.revoked_at is None


async def test_stored_times_are_aware_utc(token_store: TokenStore) -> None:
    await token_store.add_project(project(), token())
    stored = await token_store.get_project("p1")
    assert stored is not None
    assert stored.created_at.utcoffset() == timedelta(0)


# SQL only.


async def test_sql_add_project_stores_project_and_token_together_or_neither(
    sql_stores: SqlStores,
) -> None:
    await sql_stores.tokens.add_project(project("p1"), token("t1", "p1"))
    with pytest.raises(IntegrityError):
        # The token id is taken: the project must not be stored either.
        await sql_stores.tokens.add_project(project("p2"), token("t1", "p2"))
    assert await sql_stores.tokens.get_project("p2") is None
    assert await sql_stores.tokens.list_projects() == [project("p1")]


async def test_sql_token_store_pings(sql_stores: SqlStores) -> None:
    await sql_stores.tokens.ping()


_CALLS: list[Callable[[TokenStore], Coroutine[Any, Any, object]]] = [
    lambda store: store.add_project(project(), token()),
    lambda store: store.get_project("p1"),
    lambda store: store.list_projects(),
    lambda store: store.update_project(project()),
    lambda store: store.delete_project("p1"),
    lambda store: store.add_token(token()),
    lambda store: store.get_token("t1"),
    lambda store: store.list_tokens("p1"),
    lambda store: store.revoke_token("t1", T0),
    lambda store: store.add_admin_key(AdminKeyRecord(id="k", secret_hash=b"h", created_at=T0)),
    lambda store: store.get_admin_key("k"),
    lambda store: store.rotate_token(token(), T0),
    lambda store: store.list_admin_keys(),
    lambda store: store.revoke_admin_key("k", T0),
]


@pytest.mark.parametrize("call", _CALLS)
async def test_unreachable_postgres_raises_storage_unavailable_without_the_url(
    unreachable_stores: SqlStores, call: Callable[[TokenStore], Coroutine[Any, Any, object]]
) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await call(unreachable_stores.tokens)
    assert_discreet(raised.value)


async def test_vanished_sqlite_folder_raises_storage_unavailable(
    vanished_sqlite_stores: SqlStores,
) -> None:
    with pytest.raises(StorageUnavailable) as raised:
        await vanished_sqlite_stores.tokens.add_project(project(), token())
    assert_discreet(raised.value)
    with pytest.raises(StorageUnavailable):
        await vanished_sqlite_stores.tokens.ping()
