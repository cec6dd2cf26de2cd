"""Over HTTP: a flood of forged tokens from one address gets 401s, then 429 with
Retry-After, while another address's real token gets 202 on a server that had never seen
it; no answer names an address."""

from __future__ import annotations

import httpx

from privalytics.domain.throttle import FAILED_AUTH
from privalytics.domain.tokens import SECRET_BYTES, TOKEN_PREFIX, Credential, parse
from privalytics.testing import ManualClock, make_services
from tests.unit.http.conftest import PROXY, assert_error, running_api

VISIT = {"action": "visit", "path": "/"}
ATTACKER = "203.0.113.66"
SENDER = "198.51.100.7"


def forged(token: str, n: int) -> str:
    credential = parse(token, TOKEN_PREFIX)
    assert credential is not None
    secret = (n + 1).to_bytes(SECRET_BYTES, "big")
    return Credential(prefix=TOKEN_PREFIX, id=credential.id, secret=secret).text


def test_a_forged_flood_is_throttled_per_address_and_the_real_token_gets_through() -> None:
    clock = ManualClock()
    services = make_services(clock)
    with running_api(clock, peer=PROXY, services=services) as api:
        created = api.client.blocking_portal.call(services.admin.create_project, "site")
        token = created.token.token

        def send(text: str, address: str) -> httpx.Response:
            return api.send(VISIT, text, headers={"X-Forwarded-For": address})

        statuses = [send(forged(token, n), ATTACKER).status_code for n in range(FAILED_AUTH.burst)]
        assert statuses == [401] * FAILED_AUTH.burst
        throttled = send(forged(token, 1000), ATTACKER)
        body = assert_error(throttled, 429)
        assert int(throttled.headers["retry-after"]) >= 1
        assert ATTACKER not in throttled.text
        assert ATTACKER not in body["message"]
        assert send(token, SENDER).status_code == 202
        assert send(forged(token, 1001), ATTACKER).status_code == 429
        assert send(token, SENDER).status_code == 202
