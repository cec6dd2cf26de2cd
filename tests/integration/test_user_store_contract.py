"""The UserStore contract, over memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from privalytics.adapters.memory import InMemoryUserStore
from privalytics.adapters.sqlalchemy import SqlStores
from privalytics.domain.errors import StorageUnavailable
from privalytics.domain.models import User
from privalytics.domain.ports import UserStore
from tests.integration.conftest import Backend, assert_discreet

T0 = datetime(2026, 3, 1, 12, 0, 0, 123_456, tzinfo=UTC)


@pytest.fixture
def user_store(backend: Backend) -> UserStore:
    return InMemoryUserStore() if backend.sql is None else backend.sql.users


def user(name: str = "alice", secret: bytes = b"$2b$hash") -> User:
    return User(username=name, password_hash=secret, created_at=T0)


async def test_a_user_is_stored_and_read_back_exactly(user_store: UserStore) -> None:
    assert await user_store.add_user(user())
    assert await user_store.get_user("alice") == user()
    assert await user_store.get_user("bob") is None


async def test_a_taken_username_is_refused_and_the_first_user_kept(user_store: UserStore) -> None:
    assert await user_store.add_user(user())
    assert not await user_store.add_user(user(secret=b"other"))
    assert await user_store.get_user("alice") == user()


async def test_usernames_are_case_sensitive(user_store: UserStore) -> None:
    assert await user_store.add_user(user("alice"))
    assert await user_store.add_user(user("Alice"))
    assert await user_store.get_user("ALICE") is None


async def test_set_password_replaces_the_hash_only(user_store: UserStore) -> None:
    await user_store.add_user(user())
    assert await user_store.set_password("alice", b"new")
    assert await user_store.get_user("alice") == user(secret=b"new")
    assert not await user_store.set_password("bob", b"new")


async def test_users_are_listed_by_name_and_deleted(user_store: UserStore) -> None:
    for name in ("carol", "alice", "bob"):
        await user_store.add_user(user(name))
    assert [u.username for u in await user_store.list_users()] == ["alice", "bob", "carol"]
    assert await user_store.delete_user("bob")
    assert not await user_store.delete_user("bob")
    assert [u.username for u in await user_store.list_users()] == ["alice", "carol"]


async def test_an_unreachable_database_is_storage_unavailable(
    unreachable_stores: SqlStores,
) -> None:
    with pytest.raises(StorageUnavailable) as caught:
        await unreachable_stores.users.get_user("alice")
    assert_discreet(caught.value)
