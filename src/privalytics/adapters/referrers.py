"""``PublicSuffixSourceNamer``: what a referrer's site is called, from the public-suffix list
(the ``publicsuffixlist`` package, which ships the list and works offline) and a list of
known sites shipped as data (``data/sources.json``, derived from Matomo's CC0 search engine
and social network list by ``scripts/known_sources.py``, which records its commit).

A host's name is, in this order:
1. the name of a known host, itself or a parent domain (``l.facebook.com``: "Facebook");
2. the name of a known *stem*: the host's part before its ICANN public suffix, or a parent
   of it (``www.google.co.uk`` has the stem ``www.google``, whose parent ``google`` is
   "Google"). Only ICANN suffixes count here, so ``google.github.io`` is not Google;
3. its registrable domain, private suffixes included: ``alice.github.io`` and
   ``bob.github.io`` are two sites, as they are two people's (``a.b.example.co.uk``:
   ``example.co.uk``);
4. the host itself when it has none: an IP address, ``localhost``, a public suffix.

Hosts are compared in their IDNA (ASCII) form: one name per site whichever form a browser
sent, and a look-alike Unicode name (``google.com`` written with Cyrillic o's) shows as the
``xn--`` text it is, not as the site it imitates.
"""

from __future__ import annotations

import functools
import ipaddress
from importlib.resources import files
from typing import Final

import msgspec
from publicsuffixlist import PublicSuffixList

from privalytics.domain.sources import canonical_host

# Distinct referrer hosts are few on one site (tens to thousands); the bound keeps a flood
# of made-up referrers from growing the process.
CACHE_SIZE: Final = 8192


class Provenance(msgspec.Struct, frozen=True, kw_only=True):
    """Where the list of known sites came from (see ``scripts/known_sources.py``)."""

    list: str
    url: str
    commit: str
    version: str
    licence: str


class KnownSources(msgspec.Struct, frozen=True, kw_only=True):
    """Names of known sites: by host (parents included) and by stem (see the module)."""

    provenance: Provenance
    hosts: dict[str, str]
    stems: dict[str, str]


def load_known_sources() -> KnownSources:
    """The list shipped with privalytics."""
    data = (files("privalytics.adapters") / "data" / "sources.json").read_bytes()
    return msgspec.json.decode(data, type=KnownSources)


class PublicSuffixSourceNamer:
    """A :class:`~privalytics.domain.ports.SourceNamer` on the public-suffix list; answers
    are remembered for the last ``cache_size`` hosts (it runs once per event)."""

    def __init__(self, known: KnownSources | None = None, cache_size: int = CACHE_SIZE) -> None:
        self.known = load_known_sources() if known is None else known
        self._psl = PublicSuffixList()
        self._icann = PublicSuffixList(only_icann=True)
        self._cached = functools.lru_cache(maxsize=cache_size)(self._name)

    def name(self, host: str) -> str:
        """See :meth:`privalytics.domain.ports.SourceNamer.name`."""
        return self._cached(host)

    def cache_info(self) -> functools._CacheInfo:
        """How the remembered answers are used: hits, misses, size and bound."""
        return self._cached.cache_info()

    def _name(self, given: str) -> str:
        host = canonical_host(given)
        if not host:  # "." or "[]": nothing to look up, shown as sent
            return given
        if _is_ip_address(host):
            return host
        known = _walk(host, self.known.hosts)
        if known is None:
            known = self._stem_name(host)
        if known is not None:
            return known
        return self._psl.privatesuffix(host) or host

    def _stem_name(self, host: str) -> str | None:
        suffix = self._icann.publicsuffix(host)
        if suffix is None or not host.endswith(f".{suffix}"):
            return None
        return _walk(host.removesuffix(f".{suffix}"), self.known.stems)


def _walk(name: str, table: dict[str, str]) -> str | None:
    """The value of ``name`` or of its nearest parent domain in ``table``."""
    while True:
        found = table.get(name)
        if found is not None:
            return found
        _, dot, name = name.partition(".")
        if not dot:
            return None


def _is_ip_address(host: str) -> bool:
    # Only a host that could be one is parsed (an IPv4 ends in a digit, an IPv6 has ':').
    if not (host[-1].isdigit() or ":" in host):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
