"""Stored text holds no C0 or C1 control, no line or paragraph separator and no
bidirectional override or isolate: each is refused, naming the field and the character,
in every text field that is stored, and origins holding them are not origins."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent
from privalytics.domain.text import REFUSED_CHARACTERS, REFUSED_CLASS
from privalytics.domain.validation import (
    DEFAULT_MAX_AGE,
    clean_event,
    clean_name,
    clean_origin,
    normalize_origin,
)
from tests import strategies

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

# One of each kind the issue names, written out here rather than taken from the code.
EXAMPLES = ["\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202e", "\u2067"]

# Where a text goes in an event, and the field the refusal must name.
PLACES: list[tuple[str, Callable[[str], dict[str, object]]]] = [
    ("path", lambda t: {"path": f"/a{t}b"}),
    ("path", lambda t: {"path": f"https://example.com/a{t}"}),
    ("referrer", lambda t: {"referrer": f"https://example.com/{t}"}),
    ("referrer", lambda t: {"referrer": f"free text {t}"}),
    ("target", lambda t: {"target": f"Download {t}.pdf"}),
    ("target", lambda t: {"target": f"https://files.example/{t}"}),
    ("props", lambda t: {"props": {"plan": f"pro{t}"}}),
    ("props", lambda t: {"props": {f"k{t}": "v"}}),
    ("user_agent", lambda t: {"user_agent": f"Mozilla/5.0 {t}"}),
]


def refusal(**fields: object) -> InvalidInput:
    event = IncomingEvent(action=Action.CLICK, **{"path": "/", **fields})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as caught:
        clean_event(event, NOW, DEFAULT_MAX_AGE, 3)
    return caught.value


@pytest.mark.parametrize("character", EXAMPLES)
@pytest.mark.parametrize(("field", "place"), PLACES)
def test_each_refused_kind_is_refused_in_each_stored_field(
    character: str, field: str, place: Callable[[str], dict[str, object]]
) -> None:
    error = refusal(**place(character))
    assert error.field == field
    assert error.index == 3
    assert f"(U+{ord(character):04X})" in error.message


@pytest.mark.parametrize(
    ("character", "words"),
    [
        ("\x85", "a control character"),
        ("\u2028", "a line or paragraph separator"),
        ("\u202d", "a bidirectional formatting character"),
        ("\u2069", "a bidirectional formatting character"),
    ],
)
def test_the_message_says_what_kind_of_character_it_is(character: str, words: str) -> None:
    assert refusal(target=character).message == (
        f"contains {words} (U+{ord(character):04X}), which is refused"
    )


@given(
    st.sampled_from(PLACES),
    strategies.refused_characters,
    st.text(strategies.field_chars, max_size=20),
    st.text(strategies.field_chars, max_size=20),
)
def test_a_refused_character_anywhere_in_any_field_is_refused(
    place: tuple[str, Callable[[str], dict[str, object]]], character: str, before: str, after: str
) -> None:
    field, put = place
    error = refusal(**put(before + character + after))
    assert error.field == field
    assert "U+" in error.message


@given(st.text(strategies.field_chars, min_size=1, max_size=40))
def test_text_without_refused_characters_is_kept_as_it_is(text: str) -> None:
    """Nothing is stripped: what is accepted is stored exactly (right-to-left text, marks,
    emoji included)."""
    event = IncomingEvent(action=Action.CLICK, path="/", target=text, props={"k": text})
    cleaned = clean_event(event, NOW, DEFAULT_MAX_AGE)
    assert cleaned.target == text
    assert cleaned.props == {"k": text}


def test_right_to_left_text_and_its_marks_are_accepted() -> None:
    text = "\u05e9\u05dc\u05d5\u05dd \u200f\u0645\u0631\u062d\u0628\u0627\u200e"
    event = IncomingEvent(action=Action.CLICK, path="/" + text, target=text)
    assert clean_event(event, NOW, DEFAULT_MAX_AGE).target == text


@pytest.mark.parametrize("character", EXAMPLES)
def test_a_project_name_with_a_refused_character_is_refused(character: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_name(f"My {character}site")
    assert caught.value.field == "name"


@given(strategies.refused_characters)
def test_an_origin_with_a_refused_character_is_no_origin(character: str) -> None:
    assert normalize_origin(f"https://a{character}b.example") is None
    with pytest.raises(InvalidInput):
        clean_origin(f"https://a{character}b.example")


def test_the_published_class_refuses_exactly_the_refused_characters() -> None:
    """REFUSED_CLASS (published in the OpenAPI schema) and REFUSED_CHARACTERS (what
    ingestion refuses) name the same characters, over every plane that holds any."""
    published = re.compile(REFUSED_CLASS)
    found = {c for c in map(chr, range(0x30000)) if published.fullmatch(c)}
    assert found == set(REFUSED_CHARACTERS)
