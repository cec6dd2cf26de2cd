"""Visitor hashing over rotating salts, and what it keeps out of storage."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

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
from privalytics.domain.errors import InvalidInput
from privalytics.domain.hashing import (
    DEFAULT_ROTATION,
    SALT_BYTES,
    parse_rotation,
    salt_key,
    visitor_hash,
    window_of,
)
from privalytics.domain.models import Action, ClientInfo, IncomingEvent, TokenKind
from privalytics.domain.services import Salts, Services, build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests import strategies

DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(strategies.salts, strategies.project_ids, strategies.ips, strategies.user_agents)
def test_the_hash_is_stable_within_a_window(salt: bytes, project: str, ip: str, ua: str) -> None:
    assert visitor_hash(salt, project, ip, ua) == visitor_hash(salt, project, ip, ua)


@given(
    strategies.salts, strategies.salts, strategies.project_ids, strategies.ips, strategies.any_text
)
def test_the_hash_differs_across_salts(
    salt: bytes, other: bytes, project: str, ip: str, ua: str
) -> None:
    assume(salt != other)
    assert visitor_hash(salt, project, ip, ua) != visitor_hash(other, project, ip, ua)


@given(strategies.salts, strategies.project_ids, strategies.project_ids, strategies.ips)
def test_the_hash_differs_across_projects(salt: bytes, one: str, two: str, ip: str) -> None:
    assume(one != two)
    assert visitor_hash(salt, one, ip, "ua") != visitor_hash(salt, two, ip, "ua")


@given(strategies.salts, strategies.project_ids, strategies.ips, strategies.ips)
def test_the_hash_differs_across_ips(salt: bytes, project: str, one: str, two: str) -> None:
    assume(one != two)
    assert visitor_hash(salt, project, one, "ua") != visitor_hash(salt, project, two, "ua")


@given(strategies.salts, strategies.ips, strategies.any_text, strategies.any_text)
def test_the_hash_differs_across_user_agents(salt: bytes, ip: str, one: str, two: str) -> None:
    assume(one != two)
    assert visitor_hash(salt, "p", ip, one) != visitor_hash(salt, "p", ip, two)


@given(
    strategies.salts,
    st.text(max_size=40),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
)
def test_field_boundaries_cannot_be_shifted_to_collide(
    salt: bytes, text: str, a: int, b: int, c: int, d: int
) -> None:
    """Cutting the same characters into (project, ip, ua) two different ways gives two
    different hashes: each field is length-prefixed."""
    first = sorted((min(a, len(text)), min(b, len(text))))
    second = sorted((min(c, len(text)), min(d, len(text))))
    assume(first != second)

    def cut(i: int, j: int) -> tuple[str, str, str]:
        return text[:i], text[i:j], text[j:]

    assert visitor_hash(salt, *cut(*first)) != visitor_hash(salt, *cut(*second))


@given(strategies.salts, strategies.project_ids, strategies.ips, strategies.any_text)
def test_the_hash_is_16_lowercase_hex_characters(
    salt: bytes, project: str, ip: str, ua: str
) -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", visitor_hash(salt, project, ip, ua))


@given(strategies.windows, strategies.rotation_days)
def test_window_n_spans_n_whole_rotations_after_the_epoch_to_one_more(
    window: int, days: int
) -> None:
    rotation = timedelta(days=days)
    start = EPOCH + window * rotation
    one_us = timedelta(microseconds=1)
    assert window_of(start, rotation) == window
    assert window_of(start + rotation - one_us, rotation) == window
    assert window_of(start + rotation, rotation) == window + 1
    if window > 0:
        assert window_of(start - one_us, rotation) == window - 1


@given(strategies.moments, strategies.rotation_days)
def test_a_moment_lies_in_the_window_of_its_utc_midnight(moment: datetime, days: int) -> None:
    """Windows change only at UTC midnight, whatever the rotation."""
    rotation = timedelta(days=days)
    midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    assert window_of(moment, rotation) == window_of(midnight, rotation)


def test_window_of_reads_other_offsets_as_the_same_instant() -> None:
    east = datetime(2026, 1, 2, 0, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=5)))
    assert window_of(east, DAY) == window_of(datetime(2026, 1, 2, 0, 30, tzinfo=UTC), DAY)
    assert window_of(datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC), DAY) + 1 == window_of(
        datetime(2026, 1, 2, tzinfo=UTC), DAY
    )


@given(st.integers(min_value=1, max_value=30), st.sampled_from(["d", "day", "days", "D"]))
def test_parse_rotation_accepts_one_to_thirty_days(days: int, unit: str) -> None:
    assert parse_rotation(f"{days}{unit}") == timedelta(days=days)
    assert parse_rotation(f" {days} {unit} ") == timedelta(days=days)


@given(st.integers(min_value=1, max_value=30), st.sampled_from(["h", "hour", "hours"]))
def test_parse_rotation_accepts_whole_days_written_in_hours(days: int, unit: str) -> None:
    assert parse_rotation(f"{days * 24}{unit}") == timedelta(days=days)


@pytest.mark.parametrize(
    "text",
    ["0d", "31d", "12h", "25h", "744h", "1w", "", "d", "1.5d", "-1d", "99999d", "1 d x"],
)
def test_parse_rotation_refuses_other_durations(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rotation(text)
    assert caught.value.field == "salt_rotation"


@pytest.mark.parametrize("text", ["\u0661d", "\uff11d", "1d\u2003", "\u20037d"])
def test_parse_rotation_refuses_non_ascii_digits_and_spaces(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_rotation(text)


@given(st.text(max_size=12))
def test_parse_rotation_returns_a_bounded_rotation_or_raises_invalid_input(text: str) -> None:
    try:
        rotation = parse_rotation(text)
    except InvalidInput:
        return
    assert DEFAULT_ROTATION <= rotation <= timedelta(days=30)
    assert rotation % DEFAULT_ROTATION == timedelta()


# --- Salts -------------------------------------------------------------------------------


class YieldingSaltStore(InMemorySaltStore):
    """A memory salt store that yields to the loop inside each call, as a database would,
    and counts the candidates it kept."""

    def __init__(self) -> None:
        super().__init__()
        self.created = 0

    async def get_or_create(self, start: int, candidate: bytes) -> bytes:
        await asyncio.sleep(0)
        salt = await super().get_or_create(start, candidate)
        self.created += salt is candidate
        await asyncio.sleep(0)
        return salt

    async def delete_expired(self, current: int, rotation: int) -> int:
        await asyncio.sleep(0)
        return await super().delete_expired(current, rotation)


async def test_a_salt_is_created_once_per_window_under_concurrent_calls(
    clock: ManualClock,
) -> None:
    store = YieldingSaltStore()
    salts = Salts(store, DAY)
    got = await asyncio.gather(*(salts.current(clock.now()) for _ in range(50)))
    assert len(set(got)) == 1
    assert len(got[0]) == SALT_BYTES
    assert store.created == 1
    assert store.salts == {salt_key(clock.now(), DAY): got[0]}


async def test_two_processes_sharing_a_salt_store_hash_with_the_same_salt(
    clock: ManualClock,
) -> None:
    store = YieldingSaltStore()
    one, two = Salts(store, DAY), Salts(store, DAY)
    got = await asyncio.gather(
        *(salts.current(clock.now()) for _ in range(20) for salts in (one, two))
    )
    assert len(set(got)) == 1
    assert store.created == 1


async def test_a_new_window_gets_a_new_salt_and_the_old_one_is_deleted(
    clock: ManualClock,
) -> None:
    store = InMemorySaltStore()
    salts = Salts(store, DAY)
    first = await salts.current(clock.now())
    assert await salts.current(clock.now() + timedelta(hours=1)) == first
    clock.advance(days=1)
    second = await salts.current(clock.now())
    assert second != first
    assert list(store.salts.values()) == [second]


# --- What is stored ------------------------------------------------------------------------


@dataclass
class World:
    events: InMemoryEventStore
    tokens: InMemoryTokenStore
    salts: InMemorySaltStore
    services: Services


def world(clock: ManualClock) -> World:
    events, tokens, salts = InMemoryEventStore(), InMemoryTokenStore(), InMemorySaltStore()
    services = build_services(
        **lookups()._asdict(),
        events=events,
        tokens=tokens,
        salts=salts,
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
    )
    return World(events=events, tokens=tokens, salts=salts, services=services)


VISITORS = [
    ("203.0.113.77", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"),
    ("198.51.100.23", "Mozilla/5.0 (Macintosh) Safari/605.1.15"),
    ("2001:db8::dead:beef", "curl/8.11.1 privalytics-test-agent"),
]


def dump(value: object) -> str:
    """Everything a store holds of ``value``, as text: bytes both raw and in hex."""
    raw = msgspec.to_builtins(value, enc_hook=repr)
    return repr(raw) + repr(value) + msgspec.json.encode(value, enc_hook=repr).decode()


async def record_all(w: World, token: str) -> None:
    for ip, ua in VISITORS:
        for action in Action:
            event = IncomingEvent(
                action=action,
                path="/p",
                value=50.0 if action is Action.SCROLL else None,
                name="Signup" if action is Action.CUSTOM else None,
            )
            await w.services.ingestion.record(token, [event], ClientInfo(ip=ip, user_agent=ua))
        # A server-side sender naming its visitor: the IP and UA of the event itself.
        await w.services.ingestion.record(
            token,
            [IncomingEvent(action=Action.VISIT, path="/s", visitor_ip=ip, user_agent=ua)],
            ClientInfo(ip="192.0.2.1", user_agent="backend"),
        )


def ip_forms(ip: str) -> set[str]:
    address = ipaddress.ip_address(ip)
    return {ip, str(address), address.exploded, address.packed.hex()}


async def test_no_ip_or_user_agent_is_stored(clock: ManualClock) -> None:
    w = world(clock)
    created = await w.services.admin.create_project("site")
    # A server token: record_all also sends events that name their visitor.
    server = await w.services.admin.issue_token(created.project.id, kind=TokenKind.SERVER)
    await record_all(w, server.token)
    stored = [
        dump(w.events.events),
        dump(list(w.tokens.projects.values())),
        dump(list(w.tokens.tokens.values())),
        dump(list(w.tokens.admin_keys.values())),
        dump(list(w.salts.salts)),
    ]
    assert len(w.events.events) == len(VISITORS) * (len(Action) + 1)
    for ip, ua in VISITORS:
        for text in stored:
            assert not any(form in text for form in ip_forms(ip))
            assert ua not in text
    # The one thing the salt store keeps is the salt of the current window.
    assert list(w.salts.salts) == [salt_key(clock.now(), DAY)]
    assert all(len(salt) == SALT_BYTES for salt in w.salts.salts.values())


async def test_after_rotation_the_old_salt_is_gone_so_old_hashes_cannot_be_tested(
    clock: ManualClock,
) -> None:
    """Deleting the salt is what protects: with it, a brute force of a small IPv4 range
    finds the visitor at once; without it, the same search has nothing to run against."""
    w = world(clock)
    created = await w.services.admin.create_project("site")
    project_id, token = created.project.id, created.token.token
    ip, ua = "10.0.0.200", "Mozilla/5.0 brute"
    await w.services.ingestion.record(
        token, [IncomingEvent(action=Action.VISIT, path="/")], ClientInfo(ip=ip, user_agent=ua)
    )
    old_window = salt_key(clock.now(), DAY)
    old_salt = w.salts.salts[old_window]
    old_hash = w.events.events[0].visitor_hash

    def brute_force(salt: bytes) -> str | None:
        for candidate in ipaddress.ip_network("10.0.0.0/24"):
            if visitor_hash(salt, project_id, str(candidate), ua) == old_hash:
                return str(candidate)
        return None

    # While the window lasts, whoever holds the salt can test guesses.
    assert brute_force(old_salt) == ip

    clock.advance(days=1)
    await w.services.ingestion.record(
        token, [IncomingEvent(action=Action.VISIT, path="/")], ClientInfo(ip=ip, user_agent=ua)
    )
    assert old_window not in w.salts.salts
    assert old_salt not in w.salts.salts.values()
    assert list(w.salts.salts) == [old_window + 86_400]
    # The same visitor is not linkable across windows either.
    assert w.events.events[1].visitor_hash != old_hash
    # What is left to test guesses against is the wrong salt: nothing matches.
    (current,) = w.salts.salts.values()
    assert brute_force(current) is None
