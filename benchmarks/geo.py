"""What locating a visitor costs on the ingestion path, per address, for both GeoLocator
adapters: the embedded country table (iptocc) and an operator's MaxMind DB.

The MaxMind DB is made here (mmdb-writer, so nothing is downloaded): ``--networks`` random
public IPv4 /24 and IPv6 /48 networks in an IPv6 database as MaxMind lays it out, each with
one of 2,000 City records (names in eight languages, coordinates, postal code, time zone:
the size of a GeoLite2-City record). A real GeoLite2-City file holds millions of
networks; a look-up walks the tree one bit at a time up to the network's prefix, so its
cost grows with the prefix length (24 or 48 bits here, as in real data), not the file size.

- cold: every address asked for the first time (the cache emptied first): the address is
  parsed and checked (public, no zone), then the table is read.
- warm: the same addresses again, every answer from the cache.
- parse + check: :func:`privalytics.adapters.geo.public_address` alone, the part of the
  cold cost that is ours; maxminddb get() only: the reader's look-up alone, which decodes
  the whole record (every language's names included) into Python objects.

Each figure is the median, over ``--runs`` runs in this one process, of the mean µs per
address over ``--addresses`` addresses (half IPv4, half IPv6; a tenth of them in no
network of the MaxMind DB). Time is this process's CPU time (time.process_time), so that
other work on a shared machine counts less; the load average is printed beside it.

    python -m benchmarks.geo                      # about 20 s on 2 cores
    python -m benchmarks.geo --networks 2000 --addresses 2000 --runs 3   # a quick look
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import maxminddb
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from privalytics.adapters.geo import IptoccGeoLocator, MaxMindGeoLocator, public_address

LANGUAGES = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"]


def _names(name: str) -> dict[str, str]:
    return {language: f"{name} ({language})" for language in LANGUAGES}


def _record(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "city": {"geoname_id": 1000 + i, "names": _names(f"City {i}")},
        "continent": {"code": "EU", "geoname_id": 6255148, "names": _names("Europe")},
        "country": {"geoname_id": 2921044, "iso_code": "DE", "names": _names("Germany")},
        "location": {
            "accuracy_radius": rng.choice([5, 20, 100, 500]),
            "latitude": rng.uniform(-60, 70),
            "longitude": rng.uniform(-180, 180),
            "time_zone": "Europe/Berlin",
        },
        "postal": {"code": f"{rng.randrange(10000, 99999)}"},
        "registered_country": {"geoname_id": 2921044, "iso_code": "DE", "names": _names("DE")},
        "subdivisions": [{"geoname_id": 2950157, "iso_code": "BE", "names": _names("Berlin")}],
    }


def _public_networks(rng: random.Random, count: int, version: int) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        if version == 4:
            network = ipaddress.ip_network((rng.getrandbits(24) << 8, 24))
        else:
            network = ipaddress.ip_network(((0x2 << 124 | rng.getrandbits(45) << 80), 48))
        if network.is_global and not network.is_multicast:
            found.add(str(network))
    return sorted(found)


def _address_in(rng: random.Random, network: str) -> str:
    parsed = ipaddress.ip_network(network)
    return str(parsed[rng.randrange(1, parsed.num_addresses - 1)])


def build(folder: Path, networks: int, addresses: int, seed: int = 5) -> tuple[Path, list[str]]:
    """An MMDB of ``networks`` networks, and ``addresses`` public addresses to look up."""
    rng = random.Random(seed)
    records = [_record(rng, i) for i in range(2000)]
    v4 = _public_networks(rng, networks // 2, 4)
    v6 = _public_networks(rng, networks - networks // 2, 6)
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=LANGUAGES,
        description="privalytics benchmark",
    )
    for network in v4 + v6:
        writer.insert_network(IPSet([network]), rng.choice(records))
    path = folder / "bench-city.mmdb"
    writer.to_db_file(str(path))
    # Misses: networks drawn the same way but not written.
    misses = _public_networks(random.Random(seed + 1), max(2, addresses // 10), 4)
    misses += _public_networks(random.Random(seed + 2), max(2, addresses // 10), 6)
    chosen = [_address_in(rng, rng.choice(v4)) for _ in range(addresses // 2)]
    chosen += [_address_in(rng, rng.choice(v6)) for _ in range(addresses - addresses // 2)]
    rng.shuffle(chosen)
    for i, network in enumerate(misses[: addresses // 10]):
        chosen[i * 10 % len(chosen)] = _address_in(rng, network)
    return path, list(dict.fromkeys(chosen))


def _per_address(body: Callable[[], None], count: int) -> float:
    start = time.process_time()
    body()
    return (time.process_time() - start) / count * 1e6


def _each(call: Callable[[str], object], addresses: Sequence[str], runs: int) -> float:
    """Median µs of ``call`` per address (its answers dropped at once, as a locator's
    caller drops what it does not keep)."""

    def all_of_them() -> None:
        for address in addresses:
            call(address)

    return statistics.median(_per_address(all_of_them, len(addresses)) for _ in range(runs))


def measure(
    locator: IptoccGeoLocator | MaxMindGeoLocator, addresses: Sequence[str], runs: int
) -> tuple[float, float]:
    """Median µs per address: cold, then warm."""
    locate = locator.locate
    cold: list[float] = []
    warm: list[float] = []

    def all_of_them() -> None:
        for address in addresses:
            locate(address)

    for _ in range(runs):
        locator.cache_clear()
        cold.append(_per_address(all_of_them, len(addresses)))
        warm.append(_per_address(all_of_them, len(addresses)))
    return statistics.median(cold), statistics.median(warm)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, default=20_000)
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="privalytics-geo-") as folder:
        started = time.perf_counter()
        path, addresses = build(Path(folder), args.networks, args.addresses)
        size = path.stat().st_size
        print(
            f"{args.networks:,} networks, {size / 1e6:.1f} MB file, built in "
            f"{time.perf_counter() - started:.1f} s; {len(addresses):,} addresses, "
            f"{args.runs} runs, median CPU µs per address "
            f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f})"
        )
        cache = len(addresses) + 1
        locators = {
            "embedded (iptocc)": IptoccGeoLocator(cache_size=cache),
            "MaxMind DB": MaxMindGeoLocator.open(str(path), cache_size=cache),
        }
        rows = {name: measure(locator, addresses, args.runs) for name, locator in locators.items()}
        parse = _each(public_address, addresses, args.runs)
        with maxminddb.open_database(str(path), maxminddb.MODE_AUTO) as reader:
            decode = _each(reader.get, addresses, args.runs)
    print(f"{'locator':<20} {'cold':>8} {'warm':>8}")
    for name, (cold, warm) in rows.items():
        print(f"{name:<20} {cold:>8.2f} {warm:>8.2f}")
    print(f"{'parse + check only':<20} {parse:>8.2f}")
    print(f"{'maxminddb get() only':<20} {decode:>8.2f}")


if __name__ == "__main__":
    main()
