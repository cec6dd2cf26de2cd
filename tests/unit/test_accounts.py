"""Dashboard users: creation rules, password checks, sign-in throttling."""

from __future__ import annotations

import pytest

from privalytics.domain.accounts import Accounts
from privalytics.domain.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from privalytics.domain.services import Services
from privalytics.testing import ManualClock


@pytest.fixture
def accounts(services: Services) -> Accounts:
    assert services.accounts is not None
    return services.accounts


async def test_a_user_signs_in_with_the_password_given_at_creation(accounts: Accounts) -> None:
    created = await accounts.create_user("alice", "correct horse")
    assert created.password_hash != b"correct horse"
    signed_in = await accounts.authenticate("alice", "correct horse", client="192.0.2.1")
    assert signed_in == created


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody", "correct horse"), ("<script>", "x" * 9)],
)
async def test_a_wrong_name_or_password_is_refused_alike(
    accounts: Accounts, username: str, password: str
) -> None:
    await accounts.create_user("alice", "correct horse")
    with pytest.raises(Unauthenticated, match=r"^wrong username or password$"):
        await accounts.authenticate(username, password, client="192.0.2.1")


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("", "long enough", "username"),
        ("-alice", "long enough", "username"),
        ("a" * 65, "long enough", "username"),
        ("al ice", "long enough", "username"),
        ("alice", "short", "password"),
        ("alice", "é" * 37, "password"),
    ],
)
async def test_bad_usernames_and_passwords_are_refused_naming_the_field(
    accounts: Accounts, username: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await accounts.create_user(username, password)
    assert caught.value.field == field


async def test_a_taken_username_is_refused(accounts: Accounts) -> None:
    await accounts.create_user("alice", "correct horse")
    with pytest.raises(InvalidInput, match="exists already"):
        await accounts.create_user("alice", "another one")


async def test_passwords_change_and_users_are_deleted(accounts: Accounts) -> None:
    await accounts.create_user("alice", "correct horse")
    await accounts.set_password("alice", "battery staple")
    await accounts.authenticate("alice", "battery staple", client="c")
    with pytest.raises(NotFound):
        await accounts.set_password("bob", "battery staple")
    await accounts.delete_user("alice")
    assert await accounts.list_users() == []
    with pytest.raises(NotFound):
        await accounts.delete_user("alice")


async def test_one_client_guessing_a_users_password_is_throttled_even_with_the_right_one(
    accounts: Accounts, clock: ManualClock
) -> None:
    await accounts.create_user("alice", "correct horse")
    for n in range(10):
        with pytest.raises(Unauthenticated):
            await accounts.authenticate("alice", f"guess {n}", client="198.51.100.7")
    with pytest.raises(RateLimited) as caught:
        await accounts.authenticate("alice", "correct horse", client="198.51.100.7")
    assert 0 < caught.value.retry_after <= 60
    clock.advance(minutes=1)
    assert (await accounts.authenticate("alice", "correct horse", client="198.51.100.7")).username


async def test_a_guesser_at_another_address_never_locks_the_owner_out(
    accounts: Accounts, clock: ManualClock
) -> None:
    """The attack: keep a user locked out by one wrong guess a minute from elsewhere."""
    await accounts.create_user("alice", "correct horse")
    for minute in range(180):
        for _ in range(12 if minute == 0 else 1):
            with pytest.raises((Unauthenticated, RateLimited)):
                await accounts.authenticate("alice", "wrong guess", client="198.51.100.7")
        user = await accounts.authenticate("alice", "correct horse", client="192.0.2.1")
        assert user.username == "alice"
        clock.advance(minutes=1)


async def wrong_guesses_before_refusal(accounts: Accounts, username: str, client: str) -> int:
    """How many wrong passwords ``client`` may try for ``username`` (the clock still)
    before it is told to wait."""
    for guesses in range(1000):
        try:
            await accounts.authenticate(username, "wrong guess", client=client)
        except RateLimited:
            return guesses
        except Unauthenticated:
            continue
    raise AssertionError("never rate limited")


async def test_signing_in_successfully_costs_nothing(accounts: Accounts) -> None:
    """Fifty sign-ins, more than any budget holds, leave alice as many wrong guesses as
    bob, who never signed in (from another address, so that their budgets are apart)."""
    await accounts.create_user("alice", "correct horse")
    await accounts.create_user("bob", "correct horse")
    for _ in range(50):
        user = await accounts.authenticate("alice", "correct horse", client="192.0.2.1")
        assert user.username == "alice"
    budget = await wrong_guesses_before_refusal(accounts, "bob", "198.51.100.7")
    assert budget > 0
    assert await wrong_guesses_before_refusal(accounts, "alice", "192.0.2.1") == budget


async def test_usernames_are_not_case_folded_by_the_throttle(accounts: Accounts) -> None:
    await accounts.create_user("alice", "correct horse")
    for _ in range(15):
        with pytest.raises((Unauthenticated, RateLimited)):
            await accounts.authenticate("ALICE", "wrong guess", client="192.0.2.1")
    assert (await accounts.authenticate("alice", "correct horse", client="192.0.2.1")).username


async def test_guessing_one_user_from_many_addresses_meets_the_per_user_brake(
    accounts: Accounts, clock: ManualClock
) -> None:
    await accounts.create_user("alice", "correct horse")
    for n in range(100):
        with pytest.raises(Unauthenticated):
            await accounts.authenticate("alice", "wrong guess", client=f"10.0.{n // 250}.{n}")
    with pytest.raises(RateLimited) as caught:
        await accounts.authenticate("alice", "correct horse", client="192.0.2.1")
    assert 0 < caught.value.retry_after <= 36
    clock.advance(seconds=36)
    assert (await accounts.authenticate("alice", "correct horse", client="192.0.2.1")).username


async def test_one_client_guessing_many_users_is_throttled(accounts: Accounts) -> None:
    for n in range(30):
        with pytest.raises(Unauthenticated):
            await accounts.authenticate(f"user{n}", "guess guess", client="203.0.113.9")
    with pytest.raises(RateLimited):
        await accounts.authenticate("user99", "guess guess", client="203.0.113.9")
    with pytest.raises(Unauthenticated):
        await accounts.authenticate("user99", "guess guess", client="203.0.113.10")
