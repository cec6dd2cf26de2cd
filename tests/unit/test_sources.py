"""Where a visit came from: a page's campaign (its UTM tags) and a visit's source
(domain/sources.py), with the real public-suffix namer."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from privalytics.adapters.referrers import PublicSuffixSourceNamer
from privalytics.domain.sources import (
    MAX_CAMPAIGN_VALUE,
    NO_CAMPAIGN,
    NO_SOURCE,
    Campaign,
    Source,
    campaign_of,
    canonical_host,
    own_hosts,
    site_host,
    source_of,
)
from privalytics.domain.validation import reduce_referrer
from tests import strategies

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SURROGATE = re.compile("[\ud800-\udfff]")


@pytest.fixture(scope="module")
def namer() -> PublicSuffixSourceNamer:
    return PublicSuffixSourceNamer()


# --- campaigns -----------------------------------------------------------------------------


@given(strategies.campaign_pages())
def test_a_campaign_holds_the_first_clean_value_of_each_tag_decoded_trimmed_and_capped(
    sent: tuple[str, Campaign],
) -> None:
    """Every read key in any written form, values among ones no tag keeps, unread keys
    between them and tags in the fragment: the campaign is exactly what was meant."""
    page, expected = sent
    assert campaign_of(page) == expected


@given(strategies.campaign_pages(), strategies.campaign_pages())
def test_only_the_utm_keys_ref_and_source_are_ever_read(
    sent: tuple[str, Campaign], other: tuple[str, Campaign]
) -> None:
    """Renaming every key that is not read, and replacing the fragment, changes nothing;
    a query of unread keys only is no campaign."""
    page, expected = sent
    query = other[0].partition("?")[2].replace("utm", "xtm").replace("ref", "rex")
    query = query.replace("source", "sourcex")
    assert campaign_of(f"{page.split('#', 1)[0]}&{query}") == expected
    assert campaign_of(f"/?{query}") == NO_CAMPAIGN


@given(strategies.campaign_pages() | strategies.hostile_pages.map(lambda page: (page, None)))
def test_campaign_values_are_bounded_trimmed_and_clean_whatever_the_page(
    sent: tuple[str, Campaign | None],
) -> None:
    campaign = campaign_of(sent[0])
    for value in msgspec_values(campaign):
        assert value is None or (
            0 < len(value) <= MAX_CAMPAIGN_VALUE
            and value == value.strip()
            and not CONTROL.search(value)
            and not SURROGATE.search(value)
        )


def msgspec_values(campaign: Campaign) -> list[str | None]:
    return [getattr(campaign, field) for field in campaign.__struct_fields__]


@given(strategies.any_text)
def test_campaign_of_never_raises_on_any_text(page: str) -> None:
    assert isinstance(campaign_of(page), Campaign)
    assert isinstance(campaign_of("/?utm_source=" + page), Campaign)


@given(st.one_of(strategies.clean_paths, strategies.sent_paths().map(lambda sent: sent[1])))
def test_a_path_without_query_has_no_campaign(path: str) -> None:
    assert campaign_of(path) is NO_CAMPAIGN
    assert campaign_of(f"https://example.com{path}#utm_source=x") == NO_CAMPAIGN


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/?utm_source=Newsletter", Campaign(utm_source="Newsletter")),
        ("https://example.com?ref=hn", Campaign(utm_source="hn")),
        ("/p?source=mail&ref=hn", Campaign(utm_source="mail")),
        ("/p?ref=hn&source=mail", Campaign(utm_source="mail")),
        ("/p?ref=hn&utm_source=x&source=mail", Campaign(utm_source="x")),
        ("/p?utm_source=&ref=hn", Campaign(utm_source="hn")),
        ("/p?utm_source=%ff&ref=hn", Campaign(utm_source="hn")),
        (
            "/p?utm_medium=e+mail&utm_campaign=spring%20sale&utm_term=a%2Bb&utm_content=%C3%A9",
            Campaign(
                utm_medium="e mail", utm_campaign="spring sale", utm_term="a+b", utm_content="é"
            ),
        ),
        ("/p?utm_medium=cpc&utm_medium=email", Campaign(utm_medium="cpc")),
        ("/p?utm_medium=%20%20&utm_medium=email", Campaign(utm_medium="email")),
        ("/p?UTM_SOURCE=x&Ref=y", NO_CAMPAIGN),
        ("/p?utm_campaign=a%0Ab", NO_CAMPAIGN),
        ("/p?utm_campaign=a\x00b", NO_CAMPAIGN),
        ("/p?utm_campaign=%ED%A0%80", NO_CAMPAIGN),
        ("/p#x?utm_source=fragment", NO_CAMPAIGN),
        ("/#/route?utm_source=spa", NO_CAMPAIGN),
        ("/p?a=1&utm_source=x#utm_medium=y", Campaign(utm_source="x")),
        ("/p?utm_source=a=b", Campaign(utm_source="a=b")),
        (
            "/p?utm_campaign=50%+off&utm_term=%zz%",
            Campaign(utm_campaign="50% off", utm_term="%zz%"),
        ),
        ("/p?utm%5Fsource=x", Campaign(utm_source="x")),
    ],
)
def test_campaign_examples(page: str, expected: Campaign) -> None:
    assert campaign_of(page) == expected


def test_a_long_tag_is_cut_at_the_cap_not_dropped() -> None:
    campaign = campaign_of("/?utm_campaign=" + "ab" * MAX_CAMPAIGN_VALUE)
    assert campaign.utm_campaign == ("ab" * MAX_CAMPAIGN_VALUE)[:MAX_CAMPAIGN_VALUE]
    # Cut where a space falls: the value does not end in it.
    cut = campaign_of("/?utm_campaign=" + "a" * (MAX_CAMPAIGN_VALUE - 1) + "+b")
    assert cut.utm_campaign == "a" * (MAX_CAMPAIGN_VALUE - 1)


# --- sources -------------------------------------------------------------------------------


@given(strategies.self_referrals(), strategies.campaigns)
def test_a_referral_from_the_projects_own_site_is_never_a_source(
    namer: PublicSuffixSourceNamer,
    referral: tuple[str, tuple[str, ...]],
    campaign: Campaign,
) -> None:
    """Whatever scheme, port, case, IDNA form, "www." or trailing dot it is written with."""
    referrer, origins = referral
    source = source_of(referrer, campaign, own_hosts(origins), namer)
    assert source == Source(source=campaign.utm_source, referrer=None)


@given(strategies.self_referrals())
def test_the_page_s_own_host_is_one_of_the_projects(referral: tuple[str, tuple[str, ...]]) -> None:
    referrer, _ = referral
    assert site_host(urlsplit(referrer).hostname or "") in own_hosts((), referrer)


@given(strategies.sent_referrers(), strategies.campaigns, st.lists(strategies.hosts, max_size=3))
def test_utm_source_always_wins_over_the_referrer_which_is_kept(
    namer: PublicSuffixSourceNamer,
    sent: tuple[str | None, str | None],
    campaign: Campaign,
    own: list[str],
) -> None:
    referrer, cleaned = sent
    assume(campaign.utm_source is not None)
    hosts = frozenset(site_host(host) for host in own)
    source = source_of(referrer, campaign, hosts, namer)
    assert source.source == campaign.utm_source
    internal = cleaned is not None and site_host(urlsplit(cleaned).hostname or "") in hosts
    assert source.referrer == (None if internal else cleaned)


@given(strategies.sent_referrers())
def test_an_outside_referrer_without_utm_source_is_named_by_its_host(
    namer: PublicSuffixSourceNamer, sent: tuple[str | None, str | None]
) -> None:
    referrer, cleaned = sent
    source = source_of(referrer, Campaign(utm_medium="email"), frozenset({"own.invalid"}), namer)
    if cleaned is None:
        assert source is NO_SOURCE
    else:
        host = urlsplit(cleaned).hostname or ""
        assert source == Source(source=namer.name(host), referrer=cleaned)
        assert source.source


@given(strategies.sent_referrers())
def test_cleaning_a_referrer_twice_changes_nothing(sent: tuple[str | None, str | None]) -> None:
    """source_of takes a referrer as sent or as already cleaned."""
    _, cleaned = sent
    if cleaned is not None:
        assert reduce_referrer(cleaned) == cleaned


@given(strategies.any_text, strategies.campaigns, st.lists(strategies.any_text, max_size=3))
def test_source_of_never_raises_on_any_text(
    namer: PublicSuffixSourceNamer, referrer: str, campaign: Campaign, own: list[str]
) -> None:
    source = source_of(referrer, campaign, frozenset(own), namer)
    assert source.source is None or source.source
    assert isinstance(source_of("https://" + referrer, campaign, frozenset(own), namer), Source)


def test_no_referrer_and_no_utm_source_is_no_source(namer: PublicSuffixSourceNamer) -> None:
    """Shown as "Direct / None" later; no label is stored for it."""
    for referrer in (None, "", "android-app://com.x/", "not a url", "https://"):
        assert source_of(referrer, Campaign(utm_medium="x"), frozenset(), namer) is NO_SOURCE


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        (
            "https://www.google.de/search?q=privacy",
            Source(source="Google", referrer="https://www.google.de/search"),
        ),
        (
            "https://user:secret@News.YCombinator.com:443/item?id=1#c",
            Source(source="Hacker News", referrer="https://news.ycombinator.com:443/item"),
        ),
        ("http://a.b.example.co.uk/x", Source(source="example.co.uk", referrer="http://a.b.example.co.uk/x")),
        ("http://192.0.2.1:8080/", Source(source="192.0.2.1", referrer="http://192.0.2.1:8080/")),
        ("http://[2001:db8::1]/a", Source(source="2001:db8::1", referrer="http://[2001:db8::1]/a")),
        ("http://localhost:8080/", Source(source="localhost", referrer="http://localhost:8080/")),
    ],
)  # fmt: skip
def test_source_examples(namer: PublicSuffixSourceNamer, referrer: str, expected: Source) -> None:
    assert source_of(referrer, NO_CAMPAIGN, own_hosts(["https://example.com"]), namer) == expected


@pytest.mark.parametrize(
    "referrer",
    [
        "https://example.com/a",
        "http://WWW.EXAMPLE.COM:8080/b?c",
        "https://www.example.com./",
        "https://bücher.example/",
        "https://www.XN--BCHER-KVA.example/",
        "http://[::1]:3000/",
        # Text before the brackets, which urlsplit (and so the referrer kept) ignores.
        "http://a[::1]/",
    ],
)
def test_internal_navigation_examples(namer: PublicSuffixSourceNamer, referrer: str) -> None:
    hosts = own_hosts(["https://www.example.com", "https://xn--bcher-kva.example", "http://[::1]"])
    assert source_of(referrer, NO_CAMPAIGN, hosts, namer) is NO_SOURCE
    tagged = source_of(referrer, Campaign(utm_source="mail"), hosts, namer)
    assert tagged == Source(source="mail", referrer=None)


def test_a_subdomain_of_the_projects_site_is_another_site(namer: PublicSuffixSourceNamer) -> None:
    hosts = own_hosts(["https://example.com"])
    source = source_of("https://blog.example.com/post", NO_CAMPAIGN, hosts, namer)
    assert source == Source(source="example.com", referrer="https://blog.example.com/post")


@pytest.mark.parametrize(
    ("origins", "page", "expected"),
    [
        (["https://www.example.com:8443", "http://[::1]"], None, {"example.com", "::1"}),
        ([], "https://user@Bücher.example:9/x?y#z", {"xn--bcher-kva.example"}),
        ([], "HTTPS://WWW.Example.com.?q", {"example.com"}),
        (["https://a.example"], "/path?x", {"a.example"}),
        ([], "https://[::1", {"::1"}),
        ([], "https://", {""}),
    ],
)
def test_own_hosts_examples(origins: list[str], page: str | None, expected: set[str]) -> None:
    assert own_hosts(origins, page) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com..", "example.com"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("a..bü", "a..bü"),  # an empty label: IDNA cannot encode it, kept as it is
        ("www.example.com", "www.example.com"),
    ],
)
def test_canonical_host_examples(host: str, expected: str) -> None:
    assert canonical_host(host) == expected
    assert site_host(host) == expected.removeprefix("www.")
