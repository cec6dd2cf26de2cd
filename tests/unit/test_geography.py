"""Geography in the domain: a Location holds nothing finer than a city, and a breakdown by
region or city shows no value fewer than the minimum number of visitors share
(domain/geography.py)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import msgspec
import pytest
from hypothesis import given

from privalytics.domain.errors import InvalidInput
from privalytics.domain.geography import (
    MAX_PLACE,
    OTHER,
    UNKNOWN,
    Location,
    Tally,
    location,
    merge_small,
)
from tests import strategies

# --- Location ----------------------------------------------------------------------------


def test_a_location_has_a_country_a_region_and_a_city_and_no_field_for_anything_finer() -> None:
    """Coordinates, a postal code, a network or an ASN would need a field here."""
    assert Location.__struct_fields__ == ("country", "region", "city")
    assert msgspec.structs.asdict(UNKNOWN) == {"country": None, "region": None, "city": None}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ({"country": "de", "region": "DE-BE", "city": "Berlin"}, ("DE", "DE-BE", "Berlin")),
        ({"country": " fr "}, ("FR", None, None)),
        ({"country": "Germany", "region": "  ", "city": ""}, (None, None, None)),
        ({"country": "D", "city": "Lyon\x00\n"}, (None, None, "Lyon")),
        ({"country": "ÄÖ", "region": 7, "city": ["Paris"]}, (None, None, None)),
        ({"country": "\uff24\uff25", "region": "\x1b[31mX"}, (None, "[31mX", None)),
        ({"city": " Frankfurt (Oder) "}, (None, None, "Frankfurt (Oder)")),
        # The region: the whole ISO 3166-2 code when there is a country and a code...
        ({"country": "fr", "subdivision": "NOR", "region": "Normandy"}, ("FR", "FR-NOR", None)),
        ({"country": "AT", "subdivision": "9", "region": "Vienna"}, ("AT", "AT-9", None)),
        # ...else the name.
        ({"subdivision": "NOR", "region": "Normandy"}, (None, "Normandy", None)),
        ({"country": "FR", "subdivision": "nor", "region": "Normandy"}, ("FR", "Normandy", None)),
        ({"country": "FR", "subdivision": "NORM", "region": "Norm."}, ("FR", "Norm.", None)),
        ({"country": "FR", "subdivision": "N-R"}, ("FR", None, None)),
        ({"country": "FR", "subdivision": 75, "region": None}, ("FR", None, None)),
        ({"country": "FR", "subdivision": "\uff2e"}, ("FR", None, None)),
    ],
)
def test_a_location_keeps_only_a_two_letter_country_and_names_that_are_text(
    given: dict[str, object], kept: tuple[str | None, str | None, str | None]
) -> None:
    place = location(**given)
    assert (place.country, place.region, place.city) == kept


def test_a_name_is_cut_at_its_limit_and_nothing_known_is_the_unknown_location() -> None:
    assert location(city="x" * (MAX_PLACE + 50)).city == "x" * MAX_PLACE
    assert location(country=None, region="", city=" ") is UNKNOWN


# --- k-anonymity -------------------------------------------------------------------------


def _ranked(rows: Sequence[Tally]) -> bool:
    return all(a.visitors >= b.visitors for a, b in itertools.pairwise(rows))


@given(strategies.ranked_tallies(), strategies.min_cell_visitors)
def test_no_row_but_other_has_fewer_than_the_minimum_of_visitors(
    rows: list[Tally], minimum: int
) -> None:
    merged = merge_small(rows, minimum)
    assert all(row.visitors >= minimum for row in merged if row.value != OTHER)
    assert [row.value for row in merged].count(OTHER) <= 1


@given(strategies.ranked_tallies(), strategies.min_cell_visitors)
def test_merging_keeps_the_totals_of_visitors_and_of_every_figure(
    rows: list[Tally], minimum: int
) -> None:
    merged = merge_small(rows, minimum)
    assert sum(row.visitors for row in merged) == sum(row.visitors for row in rows)
    width = len(rows[0].figures) if rows else 0
    for i in range(width):
        assert sum(row.figures[i] for row in merged) == sum(row.figures[i] for row in rows)


@given(strategies.ranked_tallies(), strategies.min_cell_visitors)
def test_the_result_stays_ranked_and_keeps_the_large_rows_as_they_were(
    rows: list[Tally], minimum: int
) -> None:
    merged = merge_small(rows, minimum)
    assert _ranked(merged)
    large = [row for row in rows if row.visitors >= minimum and row.value != OTHER]
    assert [row for row in merged if row.value != OTHER] == large


@given(strategies.ranked_tallies(), strategies.min_cell_visitors)
def test_other_appears_exactly_when_something_was_merged(rows: list[Tally], minimum: int) -> None:
    merged = merge_small(rows, minimum)
    small = [row for row in rows if row.visitors < minimum or row.value == OTHER]
    others = [row for row in merged if row.value == OTHER]
    if small:
        assert others == [small[0].merged(small[1:], OTHER)]
    else:
        assert others == []
        assert merged == rows


def test_small_cities_are_merged_into_one_row_ranked_by_its_visitors() -> None:
    rows = [
        Tally(value="Berlin", visitors=40, figures=(90, 50)),
        Tally(value="Hamburg", visitors=5, figures=(6, 5)),
        Tally(value="Potsdam", visitors=4, figures=(9, 4)),
        Tally(value="Cottbus", visitors=3, figures=(3, 3)),
        Tally(value="Eisenhüttenstadt", visitors=1, figures=(1, 1)),
    ]
    assert merge_small(rows, 5) == [
        Tally(value="Berlin", visitors=40, figures=(90, 50)),
        Tally(value=OTHER, visitors=8, figures=(13, 8)),
        Tally(value="Hamburg", visitors=5, figures=(6, 5)),
    ]
    # A minimum of one keeps every value; a tie places the merged row after the kept one.
    assert merge_small(rows, 1) == rows
    tied = [Tally(value="Kiel", visitors=7), *rows[2:4]]
    assert [row.value for row in merge_small(tied, 5)] == ["Kiel", OTHER]
    assert merge_small([Tally(value="A", visitors=3), Tally(value="B", visitors=3)], 4) == [
        Tally(value=OTHER, visitors=6)
    ]


def test_a_value_that_already_reads_other_joins_the_merged_row() -> None:
    rows = [Tally(value=OTHER, visitors=30), Tally(value="/a", visitors=9)]
    assert merge_small(rows, 5) == [Tally(value=OTHER, visitors=30), Tally(value="/a", visitors=9)]
    assert merge_small([*rows, Tally(value="/b", visitors=2)], 5)[0] == Tally(
        value=OTHER, visitors=32
    )


class PageRow(msgspec.Struct, frozen=True, kw_only=True):
    """A breakdown row with named figures, as a store may return it."""

    value: str
    visitors: int
    pageviews: int
    bounces: int

    def merged(self, others: Sequence[PageRow], value: str) -> PageRow:
        rows = (self, *others)
        return PageRow(
            value=value,
            visitors=sum(row.visitors for row in rows),
            pageviews=sum(row.pageviews for row in rows),
            bounces=sum(row.bounces for row in rows),
        )


def test_any_row_type_with_a_merge_can_be_merged() -> None:
    rows = [
        PageRow(value="DE-BE", visitors=9, pageviews=20, bounces=3),
        PageRow(value="DE-BB", visitors=2, pageviews=2, bounces=2),
    ]
    assert merge_small(rows, 5) == [
        rows[0],
        PageRow(value=OTHER, visitors=2, pageviews=2, bounces=2),
    ]


@pytest.mark.parametrize("minimum", [0, -5])
def test_a_minimum_below_one_is_refused(minimum: int) -> None:
    with pytest.raises(InvalidInput, match="at least 1"):
        merge_small([Tally(value="x", visitors=1)], minimum)
