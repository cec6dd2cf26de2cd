"""Token kinds in every token store (memory, SQLite, PostgreSQL), and the migration that
makes every token issued before it a browser token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import inspect

from privalytics.adapters.sqlalchemy import open_stores
from privalytics.adapters.sqlalchemy.migrate import alembic_config
from privalytics.domain.models import Project, RateLimit, TokenKind, TokenRecord
from privalytics.domain.ports import TokenStore
from tests.integration.test_migrations import HEAD

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def project(project_id: str = "p1") -> Project:
    return Project(
        id=project_id,
        name=project_id,
        rate_limit=RateLimit(events=10, period_seconds=60),
        allowed_origins=(),
        created_at=T0,
    )


def token(token_id: str, kind: TokenKind, *, at: datetime = T0) -> TokenRecord:
    return TokenRecord(id=token_id, project_id="p1", secret_hash=b"h", created_at=at, kind=kind)


async def test_a_tokens_kind_round_trips_and_survives_its_revocation(
    token_store: TokenStore,
) -> None:
    browser = token("t1", TokenKind.BROWSER)
    server = token("t2", TokenKind.SERVER, at=T0 + timedelta(seconds=1))
    await token_store.add_project(project(), browser)
    assert await token_store.add_token(server) is True
    assert await token_store.get_token("t2") == server
    assert await token_store.list_tokens("p1") == [browser, server]
    assert await token_store.revoke_token("t2", T0) is True
    revoked = await token_store.get_token("t2")
    assert revoked is not None
    assert (revoked.kind, revoked.revoked_at) == (TokenKind.SERVER, T0)


async def test_rotating_revokes_only_the_tokens_of_the_new_ones_kind(
    token_store: TokenStore,
) -> None:
    await token_store.add_project(project(), token("b1", TokenKind.BROWSER))
    await token_store.add_token(token("s1", TokenKind.SERVER))
    await token_store.add_token(token("s2", TokenKind.SERVER))
    at = T0 + timedelta(days=1)
    assert await token_store.rotate_token(token("s3", TokenKind.SERVER, at=at), at) == ["s1", "s2"]
    live = {t.id for t in await token_store.list_tokens("p1") if t.revoked_at is None}
    assert live == {"b1", "s3"}
    assert await token_store.rotate_token(token("b2", TokenKind.BROWSER, at=at), at) == ["b1"]
    live = {t.id for t in await token_store.list_tokens("p1") if t.revoked_at is None}
    assert live == {"b2", "s3"}


async def test_tokens_from_before_kinds_are_browser_tokens(sql_url: str) -> None:
    stores = open_stores(sql_url)
    try:
        await stores.tokens.add_project(project(), token("t1", TokenKind.SERVER))
        async with stores.engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0007"))
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("tokens")}
            )
            assert "kind" not in columns
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), HEAD))
        back = await stores.tokens.get_token("t1")
        assert back is not None
        assert back.kind is TokenKind.BROWSER
    finally:
        await stores.dispose()
