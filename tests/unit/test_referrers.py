"""What a referrer's site is called (adapters/referrers.py), on the real public-suffix list
package and the shipped list of known sites."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from publicsuffixlist import PublicSuffixList

from privalytics.adapters.referrers import (
    KnownSources,
    Provenance,
    PublicSuffixSourceNamer,
    load_known_sources,
)
from privalytics.domain.ports import SourceNamer
from tests import strategies


@pytest.fixture(scope="module")
def namer() -> PublicSuffixSourceNamer:
    return PublicSuffixSourceNamer()


def test_it_is_a_source_namer(namer: PublicSuffixSourceNamer) -> None:
    named: SourceNamer = namer
    assert named.name("www.google.com") == "Google"


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("www.google.de", "Google"),
        ("google.com", "Google"),
        ("www.google.co.uk", "Google"),
        ("google.com.br", "Google"),
        ("news.google.com", "Google News"),
        ("news.google.de", "Google News"),
        ("duckduckgo.com", "DuckDuckGo"),
        ("html.duckduckgo.com", "DuckDuckGo"),
        ("news.ycombinator.com", "Hacker News"),
        ("github.com", "GitHub"),
        ("mastodon.social", "Mastodon"),
        ("hachyderm.io", "Mastodon"),
        ("fosstodon.org", "Mastodon"),
        ("old.reddit.com", "Reddit"),
        ("www.reddit.com", "Reddit"),
        ("www.bing.com", "Bing"),
        ("l.facebook.com", "Facebook"),
        ("lm.facebook.com", "Facebook"),
        ("m.facebook.com", "Facebook"),
        ("t.co", "Twitter"),
        ("x.com", "Twitter"),
        ("www.linkedin.com", "LinkedIn"),
        ("lnkd.in", "LinkedIn"),
        ("m.youtube.com", "YouTube"),
        ("youtu.be", "YouTube"),
        ("en.m.wikipedia.org", "Wikipedia"),
        ("chatgpt.com", "ChatGPT"),
        # A known host's own name, before its stem's ("google" is Google).
        ("gemini.google.com", "Gemini"),
        ("plus.google.com", "Google+"),
        ("WWW.GOOGLE.DE", "Google"),
        ("www.google.de.", "Google"),
    ],
)
def test_known_sites_have_their_names(namer: PublicSuffixSourceNamer, host: str, name: str) -> None:
    assert namer.name(host) == name


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("www.example.com", "example.com"),
        ("Blog.Example.COM..", "example.com"),
        # Private suffixes count: two people's pages are two sites.
        ("alice.github.io", "alice.github.io"),
        ("www.bob.github.io", "bob.github.io"),
        ("x.blogspot.com", "x.blogspot.com"),
        # A known stem counts before an ICANN suffix only.
        ("google.github.io", "google.github.io"),
        ("google.evil.example", "evil.example"),
        ("evil-google.com", "evil-google.com"),
        ("nottwitter.com", "nottwitter.com"),
        # One name per site, in IDNA form; a look-alike shows as what it is.
        ("www.bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("g\u043e\u043egle.com", "xn--ggle-55da.com"),
        # No registrable domain: the host itself.
        ("192.0.2.1", "192.0.2.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("localhost", "localhost"),
        ("localhost.", "localhost"),
        ("co.uk", "co.uk"),
        ("a..b.com", "a..b.com"),
        (".", "."),
        # An unlisted top-level domain is one all the same.
        ("a.b.intranet", "b.intranet"),
    ],
)
def test_other_sites_are_named_by_their_registrable_domain(
    namer: PublicSuffixSourceNamer, host: str, name: str
) -> None:
    assert namer.name(host) == name


@given(strategies.any_text)
def test_a_name_is_text_and_not_empty_whatever_the_host(
    namer: PublicSuffixSourceNamer, host: str
) -> None:
    name = namer.name(host)
    assert isinstance(name, str)
    assert name or not host


@given(strategies.site_names)
def test_case_and_a_trailing_dot_do_not_change_a_name(
    namer: PublicSuffixSourceNamer, host: str
) -> None:
    assert namer.name(host.upper()) == namer.name(host) == namer.name(host + ".")


def test_answers_are_remembered_within_the_bound() -> None:
    namer = PublicSuffixSourceNamer(cache_size=2)
    for host in ("a.example", "b.example", "a.example", "c.example", "d.example"):
        namer.name(host)
    info = namer.cache_info()
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (1, 4, 2, 2)


def test_a_list_of_ones_own_can_be_given() -> None:
    provenance = Provenance(list="test", url="-", commit="-", version="-", licence="-")
    known = KnownSources(provenance=provenance, hosts={"example.com": "Ex"}, stems={"shop": "S"})
    namer = PublicSuffixSourceNamer(known)
    assert namer.name("a.example.com") == "Ex"
    assert namer.name("shop.co.uk") == namer.name("www.shop.de") == "S"
    assert namer.name("www.google.com") == "google.com"


# --- the shipped list ----------------------------------------------------------------------


def test_the_shipped_list_says_where_it_came_from() -> None:
    provenance = load_known_sources().provenance
    assert provenance.url == "https://github.com/matomo-org/searchengine-and-social-list"
    assert provenance.licence == "CC0-1.0"
    assert re.fullmatch("[0-9a-f]{40}", provenance.commit)
    assert provenance.version


def test_every_known_host_is_one_site_under_a_known_suffix() -> None:
    """A host that is itself a public suffix would name every site under it; the list is
    checked against the installed public-suffix list, which may change with an update."""
    psl = PublicSuffixList(accept_unknown=False)
    for host, name in load_known_sources().hosts.items():
        assert host == host.strip().lower(), host
        assert host.isascii(), host
        assert not host.startswith("www."), host
        assert not psl.is_public(host), host
        assert psl.publicsuffix(host) is not None, host
        assert name, host
        assert name == name.strip(), host


def test_every_known_stem_is_a_name_before_a_suffix() -> None:
    for stem, name in load_known_sources().stems.items():
        assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", stem), stem
        assert not stem.startswith("www."), stem
        assert name, stem
        assert name == name.strip(), stem
