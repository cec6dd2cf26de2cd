"""Geography: the :class:`~privalytics.domain.ports.GeoLocator` adapters.

- :class:`IptoccGeoLocator`, the default: the country from the table the ``iptocc`` package
  compiles into its wheel (the five Regional Internet Registries' delegation files, as
  refreshed by each release). Offline, no account, no download. It is the country a block
  is *registered* to, which agrees with commercial databases for about 95 % of IPv4
  addresses.
- :class:`MaxMindGeoLocator`: country, region and city from an operator's MaxMind DB file
  (``PRIVALYTICS_GEOIP_DATABASE``): GeoLite2 or GeoIP2 City or Country, DB-IP City or
  Country Lite. Both vendors use the GeoIP2 layout: ``country.iso_code``,
  ``subdivisions[0].iso_code`` (MaxMind only; the part after the country, ``"BE"`` for
  ``"DE-BE"``) and ``.names.en``, ``city.names.en``. Nothing else of the record is read.

Both run on the ingestion path, once per event: each keeps its answers in a bounded,
least-recently-used cache keyed by the address text (in this process's memory only), so a
returning visitor costs a dictionary look-up. ``python -m benchmarks.geo`` measures, per
address: ~0.2-0.4 µs from the cache; a new address ~1.4 µs with the embedded table and
~11 µs with a City database, most of it the reader decoding the whole record (the names
in every language) into Python objects. Addresses that are not public (private,
loopback, link-local, reserved, documentation, multicast, or scoped with an IPv6 zone)
and text that is not an address are :data:`~privalytics.domain.geography.UNKNOWN` without
asking any table. No address is ever logged or put into an error: what a reader raises
about one (maxminddb's own messages repeat it) is caught here, on the only line that asks.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from typing import Any

import iptocc
import maxminddb

from privalytics.domain.errors import ConfigError
from privalytics.domain.geography import UNKNOWN, Location, location
from privalytics.domain.ports import GeoLocator

SETTING = "PRIVALYTICS_GEOIP_DATABASE"
# Addresses whose location each locator remembers: the visitors of the last minutes to
# hours of a busy site. An entry costs ~150 bytes (a country) to ~350 (with a region and a
# city): at most ~7 MB per process.
DEFAULT_CACHE_SIZE = 20_000
# The longest text of an IPv6 address (eight groups, the last two as IPv4): anything longer
# is not an address, and is neither parsed nor cached.
MAX_ADDRESS = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
# The database types that hold locations (MaxMind: GeoLite2-City, GeoIP2-Country,
# GeoIP2-Enterprise...; DB-IP: DBIP-City-Lite, DBIP-Country-Lite...), not networks' owners.
_LOCATION_TYPES = re.compile(r"city|country|enterprise", re.IGNORECASE)

# Where no visitor of a public site can be (IANA's special-purpose address registries):
# this network, private, shared (carrier-grade NAT), loopback, link-local, IETF protocol
# assignments, documentation, benchmarking, multicast, reserved and broadcast; in IPv6 the
# unspecified, loopback and IPv4-compatible range (::/8), discard-only, IETF protocol
# assignments, documentation, unique-local, link-local and multicast. An IPv4-mapped IPv6
# address is checked as the IPv4 address it holds.
_NOT_PUBLIC_V4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
)  # fmt: skip
_NOT_PUBLIC_V6 = (
    "::/8", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "fc00::/7", "fe80::/10",
    "ff00::/8",
)  # fmt: skip
_MAPPED = bytes(10) + b"\xff\xff"


def _spans(networks: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """The first and last address (as integers) of each of ``networks`` (which do not
    overlap), in order, for a search by bisection."""
    parsed = sorted(ipaddress.ip_network(network) for network in networks)
    return [int(n.network_address) for n in parsed], [int(n.broadcast_address) for n in parsed]


_V4_SPANS = _spans(_NOT_PUBLIC_V4)
_V6_SPANS = _spans(_NOT_PUBLIC_V6)


def _inside(packed: bytes, spans: tuple[list[int], list[int]]) -> bool:
    number = int.from_bytes(packed)
    starts, ends = spans
    at = bisect.bisect_right(starts, number) - 1
    return at >= 0 and number <= ends[at]


def public_address(text: str) -> str | None:
    """The text to ask a table with when ``text`` is a public address: the address as
    given (trimmed), or the IPv4 address an IPv4-mapped one holds; None for anything else:
    not an address, an IPv6 zone, a range where no visitor of a public site can be.

    socket.inet_pton is the C library's strict parser, ~0.1 µs against ipaddress' ~3 µs:
    dotted-decimal IPv4 without leading zeros, IPv6 text without a zone."""
    if not isinstance(text, str) or len(text) > MAX_ADDRESS:
        return None
    text = text.strip()
    try:
        if ":" not in text:
            packed = socket.inet_pton(socket.AF_INET, text)
            return None if _inside(packed, _V4_SPANS) else text
        packed = socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):  # not an address; a NUL or a lone surrogate in it
        return None
    if packed[:12] == _MAPPED:
        inner = packed[12:]
        return None if _inside(inner, _V4_SPANS) else socket.inet_ntop(socket.AF_INET, inner)
    return None if _inside(packed, _V6_SPANS) else text


class _CachedLocator:
    """What both locators share: the check of the address and the bounded cache in front
    of :meth:`_look_up`."""

    def __init__(self, cache_size: int) -> None:
        # functools' cache is C code: a hit costs ~0.1 µs, and it is safe across threads.
        self._cached = functools.lru_cache(maxsize=cache_size)(self._uncached)

    def locate(self, ip: str) -> Location:
        # Checked before the cache: text that cannot be an address (or is not hashable)
        # takes no room in it.
        if not isinstance(ip, str) or len(ip) > MAX_ADDRESS:
            return UNKNOWN
        return self._cached(ip)

    def cache_clear(self) -> None:
        """Forget every answer (the benchmark's cold runs)."""
        self._cached.cache_clear()

    def _uncached(self, ip: str) -> Location:
        address = public_address(ip)
        return UNKNOWN if address is None else self._look_up(address)

    def _look_up(self, address: str) -> Location:
        """The location of ``address``, a public address as inet_pton reads it."""
        raise NotImplementedError


class IptoccGeoLocator(_CachedLocator):
    """The country of an address, from the registries' table the ``iptocc`` wheel ships."""

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        super().__init__(cache_size)
        # One Location per country, shared by every address in it.
        self._countries: dict[str, Location] = {}

    def _look_up(self, address: str) -> Location:
        code = iptocc.country_code(address)
        if code is None:
            return UNKNOWN
        found = self._countries.get(code)
        if found is None:
            found = self._countries.setdefault(code, location(country=code))
        return found


class MaxMindGeoLocator(_CachedLocator):
    """Country, region and city from a MaxMind DB file (see the module's doc)."""

    def __init__(self, reader: maxminddb.Reader, *, cache_size: int = DEFAULT_CACHE_SIZE):
        super().__init__(cache_size)
        self._reader = reader

    @classmethod
    def open(
        cls, path: str, *, setting: str = SETTING, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> MaxMindGeoLocator:
        """The locator of the database at ``path``. Raises ConfigError naming ``setting``
        when there is no such file, it cannot be read, or is not a MaxMind DB of
        locations."""
        if not os.path.exists(path):
            raise ConfigError(f"{setting}: there is no file at {path!r}")
        if not os.path.isfile(path):
            raise ConfigError(f"{setting}: {path!r} is not a file")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"{setting}: {path!r} cannot be read (permission denied)")
        reader = None
        try:
            # MODE_AUTO: the C extension (libmaxminddb, memory-mapped) where it is built.
            reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
            kind = reader.metadata().database_type
            # A look-up walks the tree and decodes a record: a file cut short or damaged
            # after its metadata fails here rather than on the first visitor.
            reader.get("1.1.1.1")
        except Exception:
            # Whatever the reader raises (its types and words are its own), the operator's
            # fix is the same: point the setting at a real .mmdb file.
            if reader is not None:
                reader.close()
            raise ConfigError(
                f"{setting}: {path!r} is not a MaxMind DB (.mmdb) file, or it is damaged"
            ) from None
        if not isinstance(kind, str) or not _LOCATION_TYPES.search(kind):
            reader.close()
            raise ConfigError(
                f"{setting}: {path!r} is a {kind!r} database, which holds no locations; "
                "use a City or Country database (GeoLite2-City, GeoIP2-City, "
                "DB-IP City Lite, GeoLite2-Country...)"
            )
        return cls(reader, cache_size=cache_size)

    def close(self) -> None:
        self._reader.close()

    def _look_up(self, address: str) -> Location:
        try:
            record = self._reader.get(address)
        except (RuntimeError, ValueError):
            # A damaged record, an IPv6 address in an IPv4-only database, a closed reader:
            # no location. The reader's message names the address; it goes no further.
            return UNKNOWN
        return place_of(record) if isinstance(record, Mapping) else UNKNOWN


def place_of(record: Mapping[str, Any]) -> Location:
    """The country, region and city of a GeoIP2-layout record; the rest is not read.

    The reader decodes maps as dicts and arrays as lists: anything else where the layout
    has them (a database of another layout) reads as missing."""
    subdivisions = record.get("subdivisions")
    first = subdivisions[0] if isinstance(subdivisions, list) and subdivisions else None
    country = record.get("country")
    return location(
        country=country.get("iso_code") if isinstance(country, dict) else None,
        subdivision=first.get("iso_code") if isinstance(first, dict) else None,
        region=_english(first),
        city=_english(record.get("city")),
    )


def _english(entity: object) -> object:
    """The English name of a record's country, subdivision or city, if it has one."""
    if isinstance(entity, dict):
        names = entity.get("names")
        if isinstance(names, dict):
            return names.get("en")
    return None


def geo_locator(
    database: str | None, *, setting: str = SETTING, cache_size: int = DEFAULT_CACHE_SIZE
) -> GeoLocator:
    """The locator for the setting's value: the operator's MaxMind DB at ``database``, or
    the embedded country table when there is none. The composition root calls this once
    at start, so that a bad file stops the server with a ConfigError naming ``setting``."""
    if not database:
        return IptoccGeoLocator(cache_size=cache_size)
    return MaxMindGeoLocator.open(database, setting=setting, cache_size=cache_size)
