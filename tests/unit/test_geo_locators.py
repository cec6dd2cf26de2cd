"""The GeoLocator adapters (adapters/geo.py): the embedded country table and an operator's
MaxMind DB, written here with mmdb-writer in both vendors' layouts, with everything a real
City database holds besides what we keep (coordinates, postal code, time zone, ASN...)."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from privalytics.adapters.geo import (
    IptoccGeoLocator,
    MaxMindGeoLocator,
    geo_locator,
    public_address,
)
from privalytics.domain.errors import ConfigError
from privalytics.domain.geography import UNKNOWN, Location
from privalytics.domain.ports import GeoLocator
from tests import strategies

# What a GeoLite2-City record holds beyond country, subdivision and city: none of it may
# come out of a locator.
FINER = {
    "location": {
        "latitude": 51.5142,
        "longitude": -0.0931,
        "accuracy_radius": 20,
        "time_zone": "Europe/London",
        "metro_code": 807,
    },
    "postal": {"code": "EC2V"},
    "continent": {"code": "EU", "geoname_id": 6255148, "names": {"en": "Europe"}},
    "registered_country": {"iso_code": "SE", "names": {"en": "Sweden"}},
    "traits": {"is_anycast": False, "network": "81.2.69.0/24"},
    "autonomous_system_number": 20712,
    "autonomous_system_organization": "Andrews & Arnold Ltd",
}
FINER_TEXTS = ["51.51", "0.093", "Europe/London", "EC2V", "20712", "Andrews", "81.2.69", "807"]
FINER_TEXTS += ["58.41", "15.62", "58183"]


def _names(en: str) -> dict[str, Any]:
    return {"names": {"en": en, "de": en + "-de", "ja": en + "-ja"}, "geoname_id": 1}


# MaxMind's layout: subdivision codes, English names among others.
LONDON = {
    "country": {"iso_code": "GB", **_names("United Kingdom")},
    "subdivisions": [{"iso_code": "ENG", **_names("England")}, {"iso_code": "LND"}],
    "city": _names("London"),
    **FINER,
}
BERLIN = {
    "country": {"iso_code": "DE", **_names("Germany")},
    "subdivisions": [{"iso_code": "BE", **_names("Land Berlin")}],
    "city": _names("Berlin"),
    **FINER,
}
# DB-IP's layout: no subdivision code, a name only.
LINKOPING = {
    "country": {"iso_code": "SE", "is_in_european_union": True, **_names("Sweden")},
    "subdivisions": [{"names": {"en": "Östergötland County"}}],
    "city": {"names": {"en": "Linköping"}},
    "location": {"latitude": 58.41, "longitude": 15.62},
    "postal": {"code": "58183"},
}
# A record whose fields are not what the layout says they are.
ODD = {
    "country": {"iso_code": 42},
    "subdivisions": {"iso_code": "XX"},
    "city": {"names": {"en": {"text": "Nowhere"}}},
}

NETWORKS: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": LONDON,
    "2a02:8108::/32": BERLIN,
    "89.160.20.0/24": LINKOPING,
    "175.16.199.0/24": {"country": {"iso_code": "CN"}, "location": {"latitude": 43.88}},
    "2a01:4f8::/32": ODD,
    # Ranges no table may place: the locator must not even ask.
    "10.0.0.0/8": LONDON,
    "127.0.0.0/8": LONDON,
    "192.0.2.0/24": LONDON,
    "fe80::/10": BERLIN,
    "fc00::/7": BERLIN,
}


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], kind: str, version: int) -> Path:
    writer = MMDBWriter(
        ip_version=version,
        ipv4_compatible=version == 6,
        database_type=kind,
        languages=["en"],
        description="privalytics test data",
    )
    for network, record in networks.items():
        if version == 4 and ":" in network:
            continue
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mmdb(tmp_path_factory.mktemp("geo") / "city.mmdb", NETWORKS, "GeoLite2-City", 6)


@pytest.fixture
def maxmind(city_db: Path) -> MaxMindGeoLocator:
    return MaxMindGeoLocator.open(str(city_db))


@pytest.fixture(scope="module")
def locators(city_db: Path) -> tuple[GeoLocator, ...]:
    """Both adapters, built once for the property tests."""
    return (IptoccGeoLocator(), MaxMindGeoLocator.open(str(city_db)))


# --- an operator's MaxMind DB ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("81.2.69.160", Location(country="GB", region="GB-ENG", city="London")),
        ("::ffff:81.2.69.160", Location(country="GB", region="GB-ENG", city="London")),
        ("2a02:8108:1:2::3", Location(country="DE", region="DE-BE", city="Berlin")),
        (" 2A02:8108::1 ", Location(country="DE", region="DE-BE", city="Berlin")),
        ("89.160.20.112", Location(country="SE", region="Östergötland County", city="Linköping")),
        ("175.16.199.1", Location(country="CN")),
        ("2a01:4f8::1", UNKNOWN),
        ("8.8.8.8", UNKNOWN),
        ("2001:4860:4860::8888", UNKNOWN),
    ],
)
def test_a_database_gives_country_region_and_city_in_either_vendors_layout(
    maxmind: MaxMindGeoLocator, ip: str, expected: Location
) -> None:
    assert maxmind.locate(ip) == expected
    assert maxmind.locate(ip) == expected  # and again, from the cache


@pytest.mark.parametrize("ip", ["81.2.69.160", "2a02:8108::1", "89.160.20.112"])
def test_nothing_finer_than_the_city_comes_out_of_a_record(
    maxmind: MaxMindGeoLocator, ip: str
) -> None:
    found = maxmind.locate(ip)
    assert type(found) is Location
    assert set(msgspec.structs.asdict(found)) == {"country", "region", "city"}
    shown = msgspec.json.encode(found).decode()
    for finer in FINER_TEXTS:
        assert finer not in shown
    # Only the English names: no other language, and not the registered country.
    assert "-de" not in shown
    assert "-ja" not in shown
    assert "Sweden" not in shown


@pytest.mark.parametrize(
    "ip", ["10.1.2.3", "127.0.0.1", "192.0.2.7", "fe80::1", "fd00::1", "::ffff:10.1.2.3", "::1"]
)
def test_an_address_that_is_not_public_is_unknown_though_the_database_places_it(
    maxmind: MaxMindGeoLocator, ip: str
) -> None:
    assert maxmind.locate(ip) is UNKNOWN


def test_an_ipv6_address_in_an_ipv4_only_database_is_unknown_and_not_an_error(
    tmp_path: Path,
) -> None:
    """The reader refuses it with a message that repeats the address: none of it leaves."""
    path = write_mmdb(tmp_path / "v4.mmdb", NETWORKS, "DBIP-City-Lite", 4)
    locator = MaxMindGeoLocator.open(str(path))
    assert locator.locate("2a02:8108::1") is UNKNOWN
    assert locator.locate("89.160.20.112").city == "Linköping"


def test_the_cache_is_bounded_and_answers_without_the_database(city_db: Path) -> None:
    locator = MaxMindGeoLocator.open(str(city_db), cache_size=2)
    london, berlin, linkoping = "81.2.69.160", "2a02:8108::1", "89.160.20.112"
    for ip in (london, berlin, linkoping):
        locator.locate(ip)
    locator.close()
    # The two most recent answers are remembered; the oldest was dropped, and asking the
    # closed database for it gives nothing (and raises nothing).
    assert locator.locate(linkoping).city == "Linköping"
    assert locator.locate(berlin).city == "Berlin"
    assert locator.locate(london) is UNKNOWN


def test_text_too_long_to_be_an_address_takes_no_room_in_the_cache(city_db: Path) -> None:
    locator = MaxMindGeoLocator.open(str(city_db), cache_size=1)
    locator.locate("81.2.69.160")
    assert locator.locate("81.2.69.160" + " " * 100) is UNKNOWN
    locator.close()
    assert locator.locate("81.2.69.160").city == "London"


# --- hostile input -----------------------------------------------------------------------


@given(text=strategies.located_texts)
def test_any_text_gives_a_location_and_never_an_error(
    locators: tuple[GeoLocator, ...], text: str
) -> None:
    for locator in locators:
        assert isinstance(locator.locate(text), Location)


@given(ip=strategies.not_public_ips)
def test_no_private_or_reserved_address_is_placed(
    locators: tuple[GeoLocator, ...], ip: str
) -> None:
    for locator in locators:
        assert locator.locate(ip) is UNKNOWN


@given(strategies.zoned_ips)
def test_an_address_with_a_zone_is_unknown(ip: str) -> None:
    assert public_address(ip) is None


@pytest.mark.parametrize(
    "text",
    [
        "", " ", "1.2.3", "256.1.1.1", "01.2.3.4", "1.1.1.1/32", "8.8.8.8:443", "[2001::1]",
        "81.2.69.160%eth0", "2a02:8108::1%eth0", "2a02:8108::1%1", "0x51.2.69.160",
        "\uff18\uff11.2.69.160", "81.2.69.160\x00", "1" * 10_000,
    ],
)  # fmt: skip
def test_malformed_or_zoned_addresses_are_unknown(maxmind: MaxMindGeoLocator, text: str) -> None:
    assert maxmind.locate(text) is UNKNOWN
    assert IptoccGeoLocator().locate(text) is UNKNOWN


@pytest.mark.parametrize("value", [None, 134744072, b"8.8.8.8", ["8.8.8.8"]])
def test_a_value_that_is_not_text_is_unknown(locators: tuple[GeoLocator, ...], value: Any) -> None:
    for locator in locators:
        assert locator.locate(value) is UNKNOWN


def test_locating_logs_nothing(
    maxmind: MaxMindGeoLocator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for ip in ("81.2.69.160", "2a02:8108::1", "10.0.0.1", "fe80::1%eth0", "bogus"):
            maxmind.locate(ip)
            IptoccGeoLocator().locate(ip)
    assert caplog.records == []


# --- the embedded country table ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),  # Google Public DNS (ARIN)
        ("2001:4860:4860::8888", "US"),
        ("193.0.6.139", "NL"),  # the RIPE NCC's own network
        ("2001:67c:2e8::1", "NL"),
        ("129.132.1.1", "CH"),  # ETH Zürich, held since the 1980s
        ("133.1.1.1", "JP"),  # Osaka University (APNIC)
        ("200.160.2.3", "BR"),  # NIC.br (LACNIC)
        ("::ffff:8.8.8.8", "US"),
    ],
)
def test_the_embedded_table_gives_the_country_of_a_public_address(ip: str, country: str) -> None:
    assert IptoccGeoLocator().locate(ip) == Location(country=country)


def test_the_embedded_table_shares_one_location_per_country() -> None:
    locator = IptoccGeoLocator()
    assert locator.locate("8.8.8.8") is locator.locate("8.8.4.4")


# --- choosing and opening ----------------------------------------------------------------


def test_without_a_database_the_embedded_table_is_used(city_db: Path) -> None:
    assert isinstance(geo_locator(None), IptoccGeoLocator)
    assert isinstance(geo_locator(""), IptoccGeoLocator)
    chosen = geo_locator(str(city_db))
    assert isinstance(chosen, MaxMindGeoLocator)
    assert chosen.locate("81.2.69.160").city == "London"


def _damaged(tmp_path: Path, city_db: Path) -> dict[str, Path]:
    data = city_db.read_bytes()
    files = {
        "empty": b"",
        "text": b"not a database\n" * 100,
        "cut in half": data[: len(data) // 2],
        "metadata only": data[-200:],
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.mmdb"
        paths[name].write_bytes(content)
    return paths


def test_a_missing_or_damaged_database_is_a_configuration_error_naming_the_setting(
    tmp_path: Path, city_db: Path
) -> None:
    cases = {
        str(tmp_path / "absent.mmdb"): "there is no file at",
        str(tmp_path): "is not a file",
        **{str(path): "not a MaxMind DB" for path in _damaged(tmp_path, city_db).values()},
    }
    for path, reason in cases.items():
        with pytest.raises(ConfigError) as caught:
            geo_locator(path)
        message = str(caught.value)
        assert message.startswith("PRIVALYTICS_GEOIP_DATABASE: "), message
        assert reason in message
        assert path in message
        # Our words only: the reader's exception is not chained under ours.
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_the_setting_is_named_as_the_caller_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--geoip \(PRIVALYTICS_GEOIP_DATABASE\): "):
        geo_locator(str(tmp_path / "x"), setting="--geoip (PRIVALYTICS_GEOIP_DATABASE)")


def test_a_database_that_holds_no_locations_is_refused(tmp_path: Path) -> None:
    networks = {"81.2.69.0/24": {"autonomous_system_number": 20712}}
    path = write_mmdb(tmp_path / "asn.mmdb", networks, "GeoLite2-ASN", 6)
    with pytest.raises(ConfigError, match="'GeoLite2-ASN' database, which holds no locations"):
        geo_locator(str(path))


@pytest.mark.parametrize("kind", ["GeoIP2-Country", "DBIP-Country-Lite", "GeoIP2-Enterprise"])
def test_country_and_enterprise_databases_are_accepted(tmp_path: Path, kind: str) -> None:
    path = write_mmdb(tmp_path / "c.mmdb", {"81.2.69.0/24": LONDON}, kind, 6)
    assert geo_locator(str(path)).locate("81.2.69.1").country == "GB"


def test_a_table_is_asked_with_the_address_or_the_ipv4_address_a_mapped_one_holds() -> None:
    assert public_address("::ffff:81.2.69.160") == "81.2.69.160"
    assert public_address("::FFFF:5102:45a0") == "81.2.69.160"
    assert public_address(" 81.2.69.160\n") == "81.2.69.160"
    assert public_address("2A02:8108::1") == "2A02:8108::1"


@given(strategies.ips)
def test_an_address_is_public_as_python_judges_it(ip: str) -> None:
    """The ranges are our own list (bisected, for speed); for any address, they agree
    with the standard library's idea of a globally reachable address, but for the few
    ranges its versions judge differently."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in ipaddress.ip_network(n) for n in _JUDGED_DIFFERENTLY):
        return
    expected = address.is_global and not address.is_multicast
    assert (public_address(ip) is not None) == expected


# Ranges where Python's is_global changed between releases, or that IANA lists as
# special-purpose without Python following: our list decides, as documented in geo.py.
_JUDGED_DIFFERENTLY = [
    "192.0.0.0/24", "240.0.0.0/4", "255.255.255.255/32", "::/8", "2001::/23", "3fff::/20",
    "64:ff9b:1::/48", "5f00::/16", "2002::/16",
]  # fmt: skip
