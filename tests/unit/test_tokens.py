"""The credential format: generate, parse, checksum."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
)
from privalytics.domain.services import build_services
from privalytics.domain.tokens import (
    ADMIN_KEY_PREFIX,
    SECRET_BYTES,
    TOKEN_PREFIX,
    Credential,
    generate,
    id_of,
    parse,
)
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests import strategies


@pytest.mark.parametrize("prefix", [TOKEN_PREFIX, ADMIN_KEY_PREFIX])
def test_a_generated_credential_parses_back_to_itself(prefix: str) -> None:
    credential = generate(prefix)
    assert credential.text.startswith(f"{prefix}_{credential.id}_")
    assert len(credential.secret) == SECRET_BYTES
    assert parse(credential.text, prefix) == credential


@given(strategies.credentials)
def test_id_of_a_parsed_credential_is_its_id(credential: Credential) -> None:
    assert parse(credential.text, credential.prefix) is not None
    assert id_of(credential.text) == credential.id


def test_generated_credentials_differ() -> None:
    made = [generate(TOKEN_PREFIX) for _ in range(50)]
    assert len({c.id for c in made}) == 50
    assert len({c.secret for c in made}) == 50


@given(strategies.credentials)
def test_text_and_parse_round_trip(credential: Credential) -> None:
    assert parse(credential.text, credential.prefix) == credential


@given(strategies.credentials, st.data())
def test_any_single_character_change_is_refused(
    credential: Credential, data: st.DataObject
) -> None:
    text = credential.text
    position = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = data.draw(st.characters(codec="ascii"))
    assume(replacement != text[position])
    changed = text[:position] + replacement + text[position + 1 :]
    assert parse(changed, TOKEN_PREFIX) is None
    assert parse(changed, ADMIN_KEY_PREFIX) is None


@given(strategies.credentials)
def test_a_credential_of_the_other_prefix_is_refused(credential: Credential) -> None:
    other = ADMIN_KEY_PREFIX if credential.prefix == TOKEN_PREFIX else TOKEN_PREFIX
    assert parse(credential.text, other) is None


@given(strategies.credentials)
def test_a_relabelled_prefix_is_refused(credential: Credential) -> None:
    """Swapping the prefix text breaks the checksum too."""
    other = ADMIN_KEY_PREFIX if credential.prefix == TOKEN_PREFIX else TOKEN_PREFIX
    relabelled = other + credential.text[3:]
    assert parse(relabelled, other) is None


@given(strategies.credentials, st.text(min_size=1, max_size=200))
def test_anything_appended_is_refused(credential: Credential, tail: str) -> None:
    assert parse(credential.text + tail, credential.prefix) is None


@pytest.mark.parametrize("tail", ["\n", "\r\n", " ", "\x00"])
def test_a_trailing_newline_or_space_is_refused(tail: str) -> None:
    credential = generate(TOKEN_PREFIX)
    assert parse(credential.text + tail, TOKEN_PREFIX) is None


def test_overlong_input_is_refused_without_matching() -> None:
    credential = generate(TOKEN_PREFIX)
    assert parse(credential.text + "0" * 10_000, TOKEN_PREFIX) is None
    assert parse("x" * 129, TOKEN_PREFIX) is None


def test_uppercase_hex_is_refused() -> None:
    credential = Credential(prefix=TOKEN_PREFIX, id="abcdef0123456789", secret=b"\xab" * 32)
    text = credential.text
    assert parse(text, TOKEN_PREFIX) == credential
    assert parse(text[:4] + text[4:].upper(), TOKEN_PREFIX) is None


@given(st.text(max_size=200))
def test_arbitrary_text_is_refused_or_parses_to_a_credential_whose_text_it_is(
    text: str,
) -> None:
    parsed = parse(text, TOKEN_PREFIX)
    assert parsed is None or parsed.text == text


async def test_a_token_text_never_appears_in_what_is_stored_or_shown(clock: ManualClock) -> None:
    store = InMemoryTokenStore()
    services = build_services(
        **lookups()._asdict(),
        events=InMemoryEventStore(),
        tokens=store,
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )
    created = await services.admin.create_project("site")
    issued = await services.admin.issue_token(created.project.id)
    texts = [created.token.token, issued.token]
    secrets_hex = [t.split("_")[2][:64] for t in texts]
    shown: list[object] = [created.token.info, issued.info, created.project]
    shown.extend(store.tokens.values())
    shown.extend(await services.admin.list_tokens(created.project.id))
    for value in shown:
        encoded = msgspec.json.encode(value).decode() + repr(value)
        for text, secret in zip(texts, secrets_hex, strict=True):
            assert text not in encoded
            assert secret not in encoded
