"""Filters: how they are written, what they select, and what they refuse."""

from __future__ import annotations

import pytest
from hypothesis import given

from privalytics.domain.dimensions import DIMENSIONS, Scope
from privalytics.domain.errors import InvalidInput
from privalytics.domain.filters import (
    MAX_FILTERS,
    WRITTEN_OPS,
    Filter,
    Op,
    parse_filter,
    parse_filters,
)
from tests.strategies import dimension_values, filter_dimensions, filter_ops, filter_values


@given(filter_dimensions, filter_ops, filter_values)
def test_a_written_filter_reads_back_as_itself(name: str, op: Op, value: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        with pytest.raises(InvalidInput, match="control characters"):
            parse_filter(f"{name}{op.value}{value}")
        return
    if op is Op.CONTAINS and not value:
        with pytest.raises(InvalidInput, match="needs some text"):
            parse_filter(f"{name}{op.value}{value}")
        return
    parsed = parse_filter(f"{name}{op.value}{value}")
    assert parsed == Filter(dimension=name, op=op, value=value)
    assert str(parsed) == f"{name}{op.value}{value}"


def test_the_first_operator_after_the_name_is_the_filters() -> None:
    assert parse_filter("page!=/a==b") == Filter(dimension="page", op=Op.IS_NOT, value="/a==b")
    assert parse_filter("page==/a!=b") == Filter(dimension="page", op=Op.IS, value="/a!=b")
    assert parse_filter("source~a~b") == Filter(dimension="source", op=Op.CONTAINS, value="a~b")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("page", "must be DIMENSION==VALUE"),
        ("", "must be DIMENSION==VALUE"),
        ("==x", "must be DIMENSION==VALUE"),
        ("Page==/", "must be DIMENSION==VALUE"),
        ("pages==/", "names no dimension (pages)"),
        ("page=/", "must be DIMENSION==VALUE"),
        ("source~", "needs some text"),
        ("page==" + "x" * 2049, "longer than 2048"),
        ("page==/\x00", "control characters"),
        ("city~a\nb", "control characters"),
        ("pagein/", "must be DIMENSION==VALUE"),
    ],
)
def test_a_malformed_filter_is_refused_with_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filter(text)
    assert caught.value.field == "filter"
    assert words in caught.value.message


def test_an_unknown_dimension_is_answered_with_the_list_of_dimensions() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filter("colour==red")
    assert all(name in caught.value.message for name in DIMENSIONS)


def test_at_most_ten_filters_and_a_repeated_one_counts_once() -> None:
    assert parse_filters(["source==Google", "source==Google"]) == (
        Filter(dimension="source", op=Op.IS, value="Google"),
    )
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILTERS}"):
        parse_filters([f"page==/{n}" for n in range(MAX_FILTERS + 1)])
    assert len(parse_filters([f"page==/{n}" for n in range(MAX_FILTERS)])) == MAX_FILTERS


@given(filter_dimensions, filter_values, dimension_values)
def test_is_and_is_not_split_every_value_in_two(name: str, value: str, seen: str | None) -> None:
    is_ = Filter(dimension=name, op=Op.IS, value=value)
    is_not = Filter(dimension=name, op=Op.IS_NOT, value=value)
    assert is_.matches(seen) != is_not.matches(seen)


def test_one_of_selects_exactly_its_values_and_has_no_text_form() -> None:
    among = Filter(dimension="city", op=Op.ONE_OF, value="", values=frozenset({None, "Berlin"}))
    assert among.matches(None)
    assert among.matches("Berlin")
    assert not among.matches("berlin")
    assert not among.matches("")
    assert str(among) == "city in (2 values)"
    assert Op.ONE_OF not in WRITTEN_OPS


def test_an_empty_value_names_a_missing_one() -> None:
    direct = parse_filter("source==")
    assert direct.matches(None)
    assert not direct.matches("Google")
    referred = parse_filter("source!=")
    assert referred.matches("Google")
    assert not referred.matches(None)


def test_contains_ignores_case_and_never_matches_a_missing_value() -> None:
    google = parse_filter("source~GOOG")
    assert google.matches("Google")
    assert google.matches("news.google.com")
    assert not google.matches("DuckDuckGo")
    assert not google.matches(None)


def test_page_filters_select_page_views_and_the_others_select_sessions() -> None:
    assert parse_filter("page==/").scope is Scope.EVENT
    assert parse_filter("event==Signup").scope is Scope.CUSTOM
    assert parse_filter("prop:plan==pro").scope is Scope.CUSTOM
    assert parse_filter("goal==Signup").scope is Scope.GOAL
    others = {name for name in DIMENSIONS if name not in ("page", "event", "goal")}
    assert {parse_filter(f"{name}==x").scope for name in others} == {Scope.SESSION}


def test_a_value_that_is_no_text_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_filter("page==/a\ud800")
    assert refused.value.field == "filter"
