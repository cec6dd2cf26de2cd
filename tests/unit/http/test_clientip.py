"""Which address is the client: the peer, unless a trusted proxy says otherwise."""

from __future__ import annotations

import pytest

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.http.clientip import TrustedProxies, client_ip, parse_address
from privalytics.domain.errors import ConfigError
from privalytics.testing import make_services

PROXIES = TrustedProxies(["10.0.0.0/8", "192.0.2.10", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "client"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("2001:DB8::1", "2001:db8::1"),
        ("testclient", "testclient"),  # not an address: kept as it is
    ],
)
def test_without_trusted_proxies_the_peer_is_the_client_in_canonical_text(
    peer: str, client: str
) -> None:
    assert client_ip(peer, [], TrustedProxies()) == client


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_ip("203.0.113.5", ["198.51.100.1"], TrustedProxies()) == "203.0.113.5"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored() -> None:
    assert client_ip("203.0.113.5", ["198.51.100.1, 10.0.0.3"], PROXIES) == "203.0.113.5"


def test_a_trusted_peer_names_the_client() -> None:
    assert client_ip("10.0.0.2", ["198.51.100.1"], PROXIES) == "198.51.100.1"


def test_the_rightmost_untrusted_entry_wins_over_what_the_client_wrote() -> None:
    # The client wrote 1.1.1.1 itself; our proxies appended 203.0.113.7 and 10.0.0.3.
    header = "1.1.1.1, 203.0.113.7, 10.0.0.3"
    assert client_ip("10.0.0.2", [header], PROXIES) == "203.0.113.7"


def test_a_single_trusted_address_is_skipped_like_a_network() -> None:
    assert client_ip("192.0.2.10", ["198.51.100.1, 192.0.2.10"], PROXIES) == "198.51.100.1"


def test_several_headers_read_as_one_list_in_order() -> None:
    assert client_ip("10.0.0.2", ["198.51.100.1", "203.0.113.9, 10.1.1.1"], PROXIES) == (
        "203.0.113.9"
    )


@pytest.mark.parametrize(
    "header",
    ["garbage", "198.51.100.1, not-an-ip", "198.51.100.1,,10.0.0.3", "unknown", "1.2.3.4:80"],
)
def test_a_malformed_entry_on_the_walk_falls_back_to_the_peer(header: str) -> None:
    assert client_ip("10.0.0.2", [header], PROXIES) == "10.0.0.2"


def test_a_malformed_entry_left_of_the_client_is_never_read() -> None:
    assert client_ip("10.0.0.2", ["forged, 198.51.100.1"], PROXIES) == "198.51.100.1"


def test_no_header_from_a_trusted_peer_means_the_peer() -> None:
    assert client_ip("10.0.0.2", [], PROXIES) == "10.0.0.2"
    assert client_ip("10.0.0.2", [""], PROXIES) == "10.0.0.2"


def test_when_every_entry_is_trusted_the_leftmost_is_the_client() -> None:
    assert client_ip("10.0.0.2", ["10.9.9.9, 10.0.0.3"], PROXIES) == "10.9.9.9"


def test_ipv6_peers_networks_and_clients() -> None:
    assert client_ip("fd00::1", ["2001:DB8:0:0::1"], PROXIES) == "2001:db8::1"
    assert client_ip("2001:db8::5", ["198.51.100.1"], PROXIES) == "2001:db8::5"
    assert client_ip("fd00::1", ["2001:db8::1, fd12::3"], PROXIES) == "2001:db8::1"


def test_an_ipv4_mapped_peer_is_matched_as_ipv4() -> None:
    assert client_ip("::ffff:10.0.0.2", ["198.51.100.1"], PROXIES) == "198.51.100.1"
    assert client_ip("::ffff:203.0.113.5", [], PROXIES) == "203.0.113.5"


def test_a_peer_that_is_not_an_address_is_never_trusted() -> None:
    assert client_ip("testclient", ["198.51.100.1"], PROXIES) == "testclient"
    assert client_ip(None, ["198.51.100.1"], PROXIES) == ""


def test_parse_address_unwraps_and_refuses() -> None:
    assert str(parse_address(" ::ffff:192.0.2.1 ")) == "192.0.2.1"
    assert parse_address("300.1.1.1") is None
    assert parse_address("") is None


@pytest.mark.parametrize("entry", ["proxy.local", "10.0.0.0/33", ""])
def test_a_bad_trusted_proxy_is_a_config_error(entry: str) -> None:
    with pytest.raises(ConfigError, match="trusted proxy"):
        TrustedProxies([entry])
    with pytest.raises(ConfigError):
        create_app(make_services(), HttpOptions(trusted_proxies=(entry,)))


def test_membership_needs_an_address() -> None:
    assert "10.0.0.1" not in PROXIES
    assert not TrustedProxies()
    assert PROXIES
