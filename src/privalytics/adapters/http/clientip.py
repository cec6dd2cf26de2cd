"""Which address a request comes from, given the proxies we trust.

The socket peer is the client unless it is one of our trusted proxies. Only then is
``X-Forwarded-For`` read, from the right: each trusted proxy appends the address it saw,
so the rightmost address that is not one of ours is the first one we did not add
ourselves; everything to its left was written by the client and may be forged.
A malformed entry on that walk means the header cannot be trusted, so the peer is used.
When every entry is a trusted proxy, the leftmost one is the client (a request from
inside our own network).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from privalytics.domain.errors import ConfigError, InvalidInput
from privalytics.domain.validation import normalize_ip

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> Address | None:
    """The address in ``text``, IPv4-mapped IPv6 unwrapped; None when it is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def canonical_ip(text: str) -> str:
    """The canonical text of the address in ``text``; any other text as it is."""
    try:
        return normalize_ip(text)
    except InvalidInput:
        return text


class TrustedProxies:
    """A set of addresses and networks (``10.0.0.1``, ``10.0.0.0/8``, ``fd00::/8``)."""

    __slots__ = ("_networks",)

    def __init__(self, entries: Iterable[str] = ()) -> None:
        networks: list[Network] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigError(
                    f"trusted proxy {entry!r} is not an IP address or network (CIDR)"
                ) from None
        self._networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return any(address in network for network in self._networks)


def client_ip(peer: str | None, forwarded_for: Sequence[str], trusted: TrustedProxies) -> str:
    """The client's address: the peer, or what trusted proxies say in X-Forwarded-For.

    ``forwarded_for`` holds the values of every X-Forwarded-For header, in order.
    """
    if peer is None:
        return ""
    if not trusted:
        return canonical_ip(peer)
    peer_address = parse_address(peer)
    if peer_address is None or peer_address not in trusted:
        return peer if peer_address is None else str(peer_address)
    entries = [entry for value in forwarded_for for entry in value.split(",")]
    if not entries:
        return str(peer_address)
    address: Address | None = None
    for entry in reversed(entries):
        address = parse_address(entry)
        if address is None:
            return str(peer_address)
        if address not in trusted:
            return str(address)
    return str(address)
