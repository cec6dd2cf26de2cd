"""No IP address and no user agent leaves the request: not in a log, not in a response."""

from __future__ import annotations

import logging

import httpx
import msgspec
import pytest

from privalytics.adapters.geo import MaxMindGeoLocator
from privalytics.testing import ManualClock, make_services
from tests.unit.http.conftest import PROXY, Api, running_api
from tests.unit.test_geo_locators import FINER_TEXTS, NETWORKS, write_mmdb

FORWARDED_IP = "198.51.100.173"
VISITOR_IP = "203.0.113.219"
AGENT = "PrivacyProbe/7.3 (distinctive-agent)"
BODY_AGENT = "BodyProbe/1.1 (another-distinctive-agent)"
SECRETS = (FORWARDED_IP, VISITOR_IP, AGENT, BODY_AGENT)


def _requests(api: Api, token: str, project_id: str) -> list[httpx.Response]:
    headers = {"X-Forwarded-For": f"{FORWARDED_IP}, {PROXY}", "User-Agent": AGENT}
    good = {"action": "visit", "path": "/"}
    with_visitor = {**good, "visitor_ip": VISITOR_IP, "user_agent": BODY_AGENT}
    return [
        api.send(good, token, headers=headers),
        api.send(with_visitor, token, headers=headers),
        api.send({"events": [good, with_visitor]}, token, batch=True, headers=headers),
        # Refusals that could be tempted to repeat what they refused.
        api.send({**good, "action": VISITOR_IP}, token, headers=headers),
        api.send({**good, "visitor_ip": VISITOR_IP + "x"}, token, headers=headers),
        api.send({**good, "user_agent": AGENT * 100}, token, headers=headers),
        api.send({**good, "path": VISITOR_IP}, token, headers=headers),
        api.send({"events": [with_visitor, {"path": AGENT}]}, token, batch=True, headers=headers),
        api.send({**good, "value": AGENT}, token, headers=headers),
        api.send(good, "pvt_" + VISITOR_IP, headers=headers),
        api.send(good, headers=headers),
        api.client.get("/nowhere", headers=headers),
        api.client.get(f"/api/v1/projects/{project_id}/stats", headers=api.admin),
        api.client.get("/api/v1/projects", headers=headers),
    ]


def test_addresses_and_agents_appear_in_no_log_and_no_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_api(peer=PROXY) as api:
        project_id, _ = api.create_project()
        # A server token: the kind that may send visitor_ip and user_agent.
        responses = _requests(api, api.server_token(project_id), project_id)
    assert [r.status_code for r in responses] == [
        *(202, 202, 202),
        *(400, 400, 400, 400, 400, 400),
        *(401, 401),
        404,
        200,
        401,
    ]
    for response in responses:
        exposed = response.text + str(response.headers)
        for secret in SECRETS:
            assert secret not in exposed
    for record in caplog.records:
        logged = record.getMessage() + repr(record.args) + repr(record.__dict__)
        for secret in SECRETS:
            assert secret not in logged


def test_a_trusted_proxy_tells_visitors_apart() -> None:
    with running_api(peer=PROXY) as behind_proxy:
        project_id, token = behind_proxy.create_project()
        for client in ("198.51.100.1", "198.51.100.2"):
            headers = {"X-Forwarded-For": client, "User-Agent": AGENT}
            behind_proxy.send({"action": "visit", "path": "/"}, token, headers=headers)
        behind_proxy.clock.advance(1)
        assert behind_proxy.stats(project_id)["unique_visitors"] == 2


def test_a_spoofed_header_from_an_untrusted_peer_changes_nothing() -> None:
    with running_api(peer="192.0.2.80") as direct:
        project_id, token = direct.create_project()
        for forged in ("198.51.100.1", "198.51.100.2"):
            headers = {"X-Forwarded-For": forged, "User-Agent": AGENT}
            direct.send({"action": "visit", "path": "/"}, token, headers=headers)
        direct.clock.advance(1)
        assert direct.stats(project_id)["unique_visitors"] == 1


# --- what is derived from the address and the agent --------------------------------------

LONDON_IP = "81.2.69.160"  # in the test City database's London network


@pytest.fixture(scope="module")
def city_locator(tmp_path_factory: pytest.TempPathFactory) -> MaxMindGeoLocator:
    """A City database like GeoLite2-City: country, subdivisions and city, and coordinates,
    postal code, time zone and network owner besides, none of which may come out."""
    path = tmp_path_factory.mktemp("geo") / "city.mmdb"
    return MaxMindGeoLocator.open(str(write_mmdb(path, NETWORKS, "GeoLite2-City", 6)))


def test_a_city_is_derived_and_neither_the_address_nor_coordinates_go_anywhere(
    caplog: pytest.LogCaptureFixture, city_locator: MaxMindGeoLocator
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock()
    services = make_services(clock, places=city_locator)
    store = services.ingestion._events  # type: ignore[attr-defined]
    headers = {"X-Forwarded-For": f"{LONDON_IP}, {PROXY}", "User-Agent": AGENT}
    with running_api(clock, peer=PROXY, services=services) as api:
        project_id, _ = api.create_project()
        token = api.server_token(project_id)
        good = {"action": "visit", "path": "/", "screen_width": 1920}
        backend = {**good, "visitor_ip": LONDON_IP, "user_agent": BODY_AGENT}
        responses = [
            api.send(good, token, headers=headers),
            api.send({"events": [good, backend]}, token, batch=True, headers=headers),
            api.send({**backend, "screen_width": -1}, token, headers=headers),
            api.client.get(f"/api/v1/projects/{project_id}/stats", headers=api.admin),
        ]
    assert [r.status_code for r in responses] == [202, 202, 400, 200]
    stored = store.events
    assert len(stored) == 3
    for event in stored:
        assert (event.country, event.region, event.city) == ("GB", "GB-ENG", "London")
        assert event.device == "desktop"
    secrets = (LONDON_IP, AGENT, BODY_AGENT, *FINER_TEXTS)
    # The visitor hash is random hex: it may hold a short number like "807" by chance, and
    # it is derived one way, so the check looks at every other stored field.
    exposed = [repr(msgspec.structs.replace(event, visitor_hash="")) for event in stored]
    exposed += [response.text + str(response.headers) for response in responses]
    # A record's times and process/thread numbers are numbers that may hold "807" by
    # chance too; every other attribute is looked at.
    clock_fields = {"created", "msecs", "relativeCreated", "asctime", "thread", "process"}
    exposed += [
        record.getMessage()
        + repr(record.args)
        + repr({k: v for k, v in record.__dict__.items() if k not in clock_fields})
        for record in caplog.records
    ]
    for text in exposed:
        for secret in secrets:
            assert secret not in text
