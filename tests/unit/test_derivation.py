"""What an arriving event says about its visit, with the real parsers and tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privalytics.adapters.agents import UaParserAgentParser
from privalytics.adapters.geo import IptoccGeoLocator
from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.derivation import Derivation
from privalytics.domain.dimensions import DIMENSIONS, Scope, SessionRole
from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Derived
from privalytics.domain.validation import reduce_referrer
from tests.strategies import any_text, hostile_pages, sent_referrers

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
SITE = ("https://example.com",)


@pytest.fixture(scope="module")
def derivation() -> Derivation:
    return Derivation(
        sources=PublicSuffixSourceNamer(), agents=UaParserAgentParser(), places=IptoccGeoLocator()
    )


def test_a_phone_from_google_with_a_campaign(derivation: Derivation) -> None:
    derived = derivation.derive(
        page="https://example.com/pricing?utm_source=newsletter&utm_campaign=spring&x=1",
        referrer="https://www.google.de/search?q=secret",
        screen_width=390,
        ip="193.0.6.139",
        user_agent=IPHONE,
        allowed_origins=SITE,
    )
    assert derived == Derived(
        # The campaign's source wins over the referrer's name; the referrer stays for
        # drill-down, without its query.
        source="newsletter",
        referrer="https://www.google.de/search",
        utm_source="newsletter",
        utm_campaign="spring",
        browser="Safari",
        browser_version="17",
        os="iOS",
        os_version="17.2",
        device="mobile",
        country="NL",
    )


def test_a_known_referrer_names_the_source(derivation: Derivation) -> None:
    derived = derivation.derive(
        page="/",
        referrer="https://news.ycombinator.com/item?id=1",
        screen_width=1920,
        ip="8.8.8.8",
        user_agent="",
        allowed_origins=SITE,
    )
    assert (derived.source, derived.referrer) == (
        "Hacker News",
        "https://news.ycombinator.com/item",
    )
    assert (derived.device, derived.country, derived.browser) == ("desktop", "US", None)


@pytest.mark.parametrize(
    ("page", "origins"),
    [
        ("/about", SITE),
        ("https://example.com/about", ()),  # no origins listed: the page's own host
        ("https://WWW.example.com:8443/about", ()),
    ],
)
def test_navigation_within_the_site_is_no_source(
    derivation: Derivation, page: str, origins: tuple[str, ...]
) -> None:
    derived = derivation.derive(
        page=page,
        referrer="https://example.com/",
        screen_width=None,
        ip="127.0.0.1",
        user_agent="",
        allowed_origins=origins,
    )
    assert derived == Derived()


def test_every_derived_field_is_a_dimension_of_a_session_and_the_reverse() -> None:
    firsts = {
        d.name
        for d in DIMENSIONS.values()
        if d.scope is Scope.SESSION and d.role is SessionRole.FIRST
    }
    assert firsts == set(Derived.__struct_fields__)


@settings(max_examples=300)
@given(hostile_pages, any_text, any_text, any_text)
def test_nothing_a_sender_can_send_makes_it_raise(
    derivation: Derivation, page: str, referrer: str, ip: str, agent: str
) -> None:
    derived = derivation.derive(
        page=page,
        referrer=referrer,
        screen_width=-1,
        ip=ip,
        user_agent=agent,
        allowed_origins=SITE,
    )
    # Of the agent and the address only short names are kept, never the text itself.
    agent_fields = (derived.browser, derived.browser_version, derived.os, derived.os_version)
    assert all(len(value) <= 40 for value in agent_fields if value)
    places = (derived.country, derived.region, derived.city)
    assert all(len(value) <= 100 for value in places if value)


@settings(max_examples=300, deadline=None)
@given(sent_referrers(), st.sampled_from(["/", "https://example.com/a", "https://other.example/"]))
def test_a_referrer_cleaned_by_validation_gives_what_the_referrer_as_sent_gives(
    derivation: Derivation, sent: tuple[str | None, str | None], page: str
) -> None:
    """Ingestion passes the referrer as validation cleaned it, and says so, so that it is
    not cleaned twice: the fields are those of the referrer as sent."""
    raw, _ = sent
    try:
        cleaned = None if raw is None else reduce_referrer(raw)
    except InvalidInput:
        return  # refused by validation: never derived from
    common = {"page": page, "screen_width": None, "ip": "", "user_agent": ""}
    for origins in ((), SITE):
        assert derivation.derive(
            referrer=cleaned, allowed_origins=origins, clean_referrer=True, **common
        ) == derivation.derive(referrer=raw, allowed_origins=origins, **common)
