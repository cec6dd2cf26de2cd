"""Which of a project's tokens still write, and when revoking one needs confirming."""

from __future__ import annotations

from datetime import UTC, datetime

from privalytics.domain.administration import active_tokens, is_last_active
from privalytics.domain.models import TokenInfo

AT = datetime(2026, 1, 1, tzinfo=UTC)


def token(token_id: str, *, revoked: bool = False) -> TokenInfo:
    return TokenInfo(id=token_id, project_id="p", created_at=AT, revoked_at=AT if revoked else None)


def test_active_tokens_are_those_not_revoked_in_their_order() -> None:
    tokens = [token("a"), token("b", revoked=True), token("c")]
    assert [t.id for t in active_tokens(tokens)] == ["a", "c"]


def test_a_token_is_the_last_active_one_only_when_no_other_writes() -> None:
    assert is_last_active([token("a"), token("b", revoked=True)], "a")
    assert not is_last_active([token("a"), token("c")], "a")
    # A revoked token, or one not in the list, is not the last active one: revoking it
    # changes nothing about what the project accepts.
    assert not is_last_active([token("a", revoked=True), token("c")], "a")
    assert not is_last_active([token("c")], "a")
    assert not is_last_active([], "a")
