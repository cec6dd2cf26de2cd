"""The composition root builds the lookups that derive an event's fields once, from the
settings: the embedded country table by default, an operator's MaxMind DB when
PRIVALYTICS_GEOIP_DATABASE names one, and a clear refusal when it names no usable file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from privalytics import bootstrap
from privalytics.adapters.geo import IptoccGeoLocator, MaxMindGeoLocator
from privalytics.cli import main
from privalytics.config import Settings
from privalytics.domain.errors import ConfigError
from privalytics.domain.models import Action, ClientInfo, IncomingEvent
from tests.unit.test_geo_locators import NETWORKS, write_mmdb

LONDON = "81.2.69.160"


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("geo") / "city.mmdb"
    return write_mmdb(path, NETWORKS, "GeoLite2-City", 6)


def memory(**settings: str) -> Settings:
    return Settings(database_url="memory://", **settings)  # type: ignore[arg-type]


def test_without_a_database_the_embedded_country_table_locates() -> None:
    assert isinstance(bootstrap.lookups(memory()).places, IptoccGeoLocator)


async def test_the_operators_database_locates_every_arriving_event(city_db: Path) -> None:
    services = bootstrap.build(memory(geoip_database=str(city_db)))
    created = await services.admin.create_project("site")
    client = ClientInfo(ip=LONDON, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
    event = IncomingEvent(action=Action.VISIT, path="/", screen_width=1920)
    assert await services.ingestion.record(created.token.token, [event], client) == 1
    stored = services.ingestion._events.events  # type: ignore[attr-defined]
    assert [(e.country, e.region, e.city, e.device) for e in stored] == [
        ("GB", "GB-ENG", "London", "desktop")
    ]
    await services.aclose()


async def test_closing_the_services_closes_the_database(city_db: Path) -> None:
    found = bootstrap.lookups(memory(geoip_database=str(city_db)))
    assert isinstance(found.places, MaxMindGeoLocator)
    assert found.places.locate(LONDON).city == "London"
    for close in found.closers:
        await close()
    # A closed reader answers nothing, and says so in no error.
    assert found.places.locate("81.2.69.161").city is None


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "there is no file"), (b"not a database", "is not a MaxMind DB")],
)
def test_an_unusable_database_is_refused_before_the_server_starts(
    tmp_path: Path, content: bytes | None, words: str
) -> None:
    path = tmp_path / "geo.mmdb"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        bootstrap.check_server(memory(geoip_database=str(path)))
    assert str(refused.value).startswith("PRIVALYTICS_GEOIP_DATABASE: ")
    assert words in str(refused.value)


def test_serve_names_the_setting_and_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["--database-url", "memory://", "serve", "--port", "1"],
        env={"PRIVALYTICS_GEOIP_DATABASE": str(tmp_path / "missing.mmdb")},
    )
    assert result.exit_code == 2, result.output
    assert "PRIVALYTICS_GEOIP_DATABASE: there is no file at" in result.output
    assert "Traceback" not in result.output
