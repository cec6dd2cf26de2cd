"""Which of a project's tokens still write (revoking the last one is refused in the same
step as the revoke, by the store: see the token store contract and test_administration)."""

from __future__ import annotations

from datetime import UTC, datetime

from privalytics.domain.administration import active_tokens
from privalytics.domain.models import TokenInfo

AT = datetime(2026, 1, 1, tzinfo=UTC)


def token(token_id: str, *, revoked: bool = False) -> TokenInfo:
    return TokenInfo(id=token_id, project_id="p", created_at=AT, revoked_at=AT if revoked else None)


def test_active_tokens_are_those_not_revoked_in_their_order() -> None:
    tokens = [token("a"), token("b", revoked=True), token("c")]
    assert [t.id for t in active_tokens(tokens)] == ["a", "c"]
