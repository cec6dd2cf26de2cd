"""The project page's address: filters and tabs kept in the URL, links that add or drop
one, drill-downs, and how values are shown."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import assume, given

from privalytics.adapters.http.dashboard.panels import (
    PANELS,
    Address,
    chip_label,
    flag,
    tabs_of,
)
from privalytics.adapters.http.dashboard.views import Choice
from privalytics.adapters.words import duration_text
from privalytics.domain.errors import InvalidInput
from privalytics.domain.filters import Filter, Op, parse_filter
from tests.strategies import any_text

BASE = "/dashboard/projects/p1"
GOOGLE = Filter(dimension="source", op=Op.IS, value="Google")
BLOG = Filter(dimension="page", op=Op.CONTAINS, value="/blog")


def _query(href: str) -> list[tuple[str, str]]:
    parts = urlsplit(href)
    assert parts.path.startswith(BASE)
    return parse_qsl(parts.query, keep_blank_values=True)


def test_a_link_adds_a_filter_and_keeps_the_range_and_the_others() -> None:
    address = Address(BASE, Choice("7d"), (BLOG,))
    assert _query(address.href(add=GOOGLE)) == [
        ("period", "7d"),
        ("filter", "page~/blog"),
        ("filter", "source==Google"),
    ]


def test_a_new_value_replaces_the_filter_on_the_same_dimension() -> None:
    address = Address(BASE, Choice("24h"), (GOOGLE,))
    bing = Filter(dimension="source", op=Op.IS, value="Bing")
    assert ("filter", "source==Google") not in _query(address.href(add=bing))
    assert ("filter", "source==Bing") in _query(address.href(add=bing))


def test_a_chip_links_to_the_page_without_its_filter() -> None:
    address = Address(BASE, Choice("30d"), (GOOGLE, BLOG))
    (google, google_href), (blog, blog_href) = address.chips()
    assert google == "Source is Google"
    assert blog == "Page contains /blog"
    assert _query(google_href) == [("period", "30d"), ("filter", "page~/blog")]
    assert _query(blog_href) == [("period", "30d"), ("filter", "source==Google")]


def test_a_custom_range_is_kept_in_every_link() -> None:
    from datetime import date

    choice = Choice("custom", date(2026, 1, 1), date(2026, 1, 31))
    address = Address(BASE, choice, (GOOGLE,))
    assert _query(address.href(remove=GOOGLE)) == [
        ("period", "custom"),
        ("from", "2026-01-01"),
        ("to", "2026-01-31"),
    ]


def test_tabs_are_kept_and_unknown_ones_are_ignored() -> None:
    tabs = tabs_of({"sources": "utm_campaign", "pages": "nonsense", "devices": "browser"})
    # The first tab is the default, so it is not written; a stale tab name is dropped.
    assert tabs == {"sources": "utm_campaign"}
    address = Address(BASE, Choice("24h"), (), tabs)
    assert ("sources", "utm_campaign") in _query(address.href(add=GOOGLE))
    assert ("locations", "city") in _query(address.href(tab=("locations", "city")))


def test_a_filtered_source_drills_down_to_its_referrers() -> None:
    sources = next(p for p in PANELS if p.key == "sources")
    assert Address(BASE, Choice("24h")).tab_of(sources).dimension == "source"
    assert Address(BASE, Choice("24h"), (GOOGLE,)).tab_of(sources).dimension == "referrer"
    # "is not" and "contains" select many sources: no drill-down.
    other = Filter(dimension="source", op=Op.IS_NOT, value="Google")
    assert Address(BASE, Choice("24h"), (other,)).tab_of(sources).dimension == "source"


def test_a_filtered_browser_drills_down_to_its_versions() -> None:
    devices = next(p for p in PANELS if p.key == "devices")
    firefox = Filter(dimension="browser", op=Op.IS, value="Firefox")
    assert Address(BASE, Choice("24h"), (firefox,)).tab_of(devices).dimension == ("browser_version")


def test_every_tab_is_a_known_dimension_of_its_panel() -> None:
    from privalytics.domain.dimensions import DIMENSIONS

    for panel in PANELS:
        for tab in (*panel.tabs, *panel.drill.values()):
            assert DIMENSIONS[tab.dimension].panel.value == panel.key


def test_a_missing_value_has_a_name() -> None:
    assert chip_label(parse_filter("source==")) == "Source is Direct / none"
    assert chip_label(parse_filter("country!=")) == "Country is not (unknown)"
    assert chip_label(parse_filter("utm_campaign==")) == "UTM campaign is (none)"


def test_flags_are_drawn_only_for_two_letter_codes() -> None:
    assert flag("DE") == "\U0001f1e9\U0001f1ea"
    assert flag("de") == "\U0001f1e9\U0001f1ea"
    for text in (None, "", "D", "DEU", "1A", "É1", "(other)"):
        assert flag(text) == ""


def test_durations_read_as_people_read_them() -> None:
    assert duration_text(None) == "\u2013"
    assert duration_text(0) == "0s"
    assert duration_text(59) == "59s"
    assert duration_text(60) == "1m 00s"
    assert duration_text(187) == "3m 07s"
    assert duration_text(3600) == "1h 00m"
    assert duration_text(3725) == "1h 02m"


@given(any_text)
def test_any_filter_value_survives_a_round_trip_through_the_address(text: str) -> None:
    try:
        given_filter = parse_filter(f"page=={text}")
    except InvalidInput:
        assume(False)
        raise
    href = Address(BASE, Choice("24h")).href(add=given_filter)
    (value,) = [v for k, v in _query(href) if k == "filter"]
    assert parse_filter(value) == given_filter
