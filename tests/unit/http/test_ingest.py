"""POST /api/v1/events and /api/v1/events/batch: what is accepted, what is refused, how."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.unit.http.conftest import Api, assert_error

VISIT = {"action": "visit", "path": "/"}


def visits(api: Api, project_id: str) -> int:
    api.clock.advance(1)  # the stats range ends now, exclusive
    result: int = api.stats(project_id)["visits"]
    return result


@pytest.mark.parametrize("content_type", ["application/json", "text/plain;charset=UTF-8", None])
def test_one_event_is_accepted_whatever_the_content_type(
    api: Api, project: tuple[str, str], content_type: str | None
) -> None:
    project_id, token = project
    response = api.send(VISIT, token, content_type=content_type)
    assert response.status_code == 202
    assert response.json() == {"accepted": 1}
    assert visits(api, project_id) == 1


def test_send_beacon_style_text_plain_with_the_token_in_the_body(
    api: Api, project: tuple[str, str]
) -> None:
    project_id, token = project
    body = b'{"action":"visit","path":"/beacon","token":"%s"}' % token.encode()
    response = api.client.post(
        "/api/v1/events", content=body, headers={"Content-Type": "text/plain;charset=UTF-8"}
    )
    assert response.status_code == 202, response.text
    batch = {"events": [VISIT, VISIT], "token": token}
    response = api.send(batch, batch=True, content_type="text/plain")
    assert response.json() == {"accepted": 2}
    assert visits(api, project_id) == 3


def test_the_header_token_wins_over_the_body_token(api: Api, project: tuple[str, str]) -> None:
    _, token = project
    assert api.send({**VISIT, "token": "pvt_garbage"}, token).status_code == 202
    response = api.send({**VISIT, "token": token}, "pvt_garbage")
    assert_error(response, 401, "unauthenticated")


def test_an_authorization_header_of_another_scheme_leaves_the_body_token(
    api: Api, project: tuple[str, str]
) -> None:
    _, token = project
    response = api.send({**VISIT, "token": token}, headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 202


def test_unknown_fields_are_ignored(api: Api, project: tuple[str, str]) -> None:
    _, token = project
    response = api.send({**VISIT, "screen": {"w": 1280}, "v": 2}, token)
    assert response.status_code == 202
    response = api.send({"events": [VISIT], "sent_at": 1}, token, batch=True)
    assert response.status_code == 202


def test_every_field_is_accepted(api: Api, project: tuple[str, str]) -> None:
    # visitor_ip and user_agent: only with a server token (tests/unit/http/test_token_kinds.py).
    token = api.server_token(project[0])
    event = {
        "action": "download",
        "path": "https://example.com/files?x=1",
        "referrer": "https://search.example/?q=secret",
        "target": "/files/report.pdf",
        "value": 3,
        "timestamp": (api.clock.now() - timedelta(minutes=5)).isoformat(),
        "props": {"plan": "pro"},
        "visitor_ip": "2001:db8::1",
        "user_agent": "Mozilla/5.0",
    }
    assert api.send(event, token).status_code == 202


def test_a_batch_of_1000_is_accepted_and_1001_refused(api: Api, project: tuple[str, str]) -> None:
    project_id, token = project
    response = api.send({"events": [VISIT] * 1000}, token, batch=True)
    assert response.json() == {"accepted": 1000}
    api.clock.advance(60)  # refill the 1000/minute allowance
    body = assert_error(api.send({"events": [VISIT] * 1001}, token, batch=True), 400)
    assert body["field"] == "events"
    assert visits(api, project_id) == 1000


@pytest.mark.parametrize("credential", ["the project's token", "an unknown token"])
def test_an_oversized_batch_is_refused_before_its_token_is_checked(
    api: Api, project: tuple[str, str], credential: str
) -> None:
    """The documented answer (docs/http-api.md), whoever sends it: the count is checked
    before the credential, and nothing is stored or spent of the allowance."""
    project_id, token = project
    sent = token if credential == "the project's token" else "pvt_" + "x" * 40
    response = api.send({"events": [VISIT] * 1001}, sent, batch=True)
    body = assert_error(response, 400, "invalid_input")
    assert (body["field"], body["message"]) == ("events", "events: at most 1000 events per batch")
    assert api.send({"events": [VISIT] * 1000}, token, batch=True).json() == {"accepted": 1000}
    assert visits(api, project_id) == 1000


def test_an_empty_batch_is_refused(api: Api, project: tuple[str, str]) -> None:
    _, token = project
    body = assert_error(api.send({"events": []}, token, batch=True), 400, "invalid_input")
    assert body["field"] == "events"


def test_a_batch_with_one_invalid_event_is_refused_whole(
    api: Api, project: tuple[str, str]
) -> None:
    project_id, token = project
    events = [VISIT, VISIT, {"action": "scroll", "path": "/"}, VISIT]
    body = assert_error(api.send({"events": events}, token, batch=True), 400, "invalid_input")
    assert body["index"] == 2
    assert body["field"] == "value"
    assert body["message"].startswith("event 2: ")
    assert visits(api, project_id) == 0


def test_a_batch_with_a_mistyped_event_names_the_event_and_the_path(
    api: Api, project: tuple[str, str]
) -> None:
    project_id, token = project
    events = [VISIT, VISIT, VISIT, {"action": "click", "path": "/", "value": "ten"}]
    body = assert_error(api.send({"events": events}, token, batch=True), 400, "invalid_input")
    assert body["index"] == 3
    assert body["field"] == "value"
    assert body["message"] == (
        "event 3: `value` must be a number or null, not a string - at `$.events[3].value`"
    )
    assert visits(api, project_id) == 0


def test_a_batch_event_missing_its_path_is_named(api: Api, project: tuple[str, str]) -> None:
    _, token = project
    body = assert_error(api.send({"events": [VISIT, {"action": "visit"}]}, token, batch=True), 400)
    assert (body["index"], body["field"]) == (1, "path")


NOW_PLUS = timedelta(minutes=10)


def _bad_events() -> list[Any]:
    long_ago = "2025-12-30T12:00:00Z"
    future = "2026-01-01T12:10:00Z"
    return [
        pytest.param(b"{", "invalid_json", None, id="malformed-json"),
        pytest.param(b'{"action": "visit", "path": "/"', "invalid_json", None, id="truncated"),
        pytest.param(b"", "invalid_json", None, id="empty-body"),
        pytest.param(b"[]", "invalid_input", None, id="array-body"),
        pytest.param(b'"visit"', "invalid_input", None, id="string-body"),
        pytest.param(b"null", "invalid_input", None, id="null-body"),
        pytest.param(b"42", "invalid_input", None, id="number-body"),
        pytest.param(b"\xff\xfe", "invalid_json", None, id="not-utf8"),
        pytest.param({"action": "jump", "path": "/"}, "invalid_input", "action", id="bad-action"),
        pytest.param({"action": 1, "path": "/"}, "invalid_input", "action", id="action-int"),
        pytest.param({"path": "/"}, "invalid_input", "action", id="no-action"),
        pytest.param({"action": "visit"}, "invalid_input", "path", id="no-path"),
        pytest.param({"action": "visit", "path": 7}, "invalid_input", "path", id="path-int"),
        pytest.param({"action": "visit", "path": "x"}, "invalid_input", "path", id="relative"),
        pytest.param({"action": "visit", "path": "/a\nb"}, "invalid_input", "path", id="ctrl"),
        pytest.param(
            {"action": "visit", "path": "/" + "a" * 3000}, "invalid_input", "path", id="long-path"
        ),
        pytest.param({"action": "scroll", "path": "/"}, "invalid_input", "value", id="no-depth"),
        pytest.param(
            {"action": "click", "path": "/", "value": "1"}, "invalid_input", "value", id="str-num"
        ),
        pytest.param(
            {"action": "click", "path": "/", "value": True}, "invalid_input", "value", id="bool"
        ),
        pytest.param(
            b'{"action":"click","path":"/","value":1e400}', "invalid_input", "value", id="1e400"
        ),
        pytest.param(
            b'{"action":"click","path":"/","value":1' + b"0" * 400 + b"}",
            "invalid_input",
            "value",
            id="huge-int",
        ),
        pytest.param(b'{"action":"click","path":"/","value":NaN}', "invalid_json", None, id="nan"),
        pytest.param(
            b'{"action":"click","path":"/","value":Infinity}', "invalid_json", None, id="inf"
        ),
        pytest.param(
            {"action": "visit", "path": "/", "timestamp": future},
            "invalid_input",
            "timestamp",
            id="future",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "timestamp": long_ago},
            "invalid_input",
            "timestamp",
            id="too-old",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "timestamp": "2026-01-01T11:00:00"},
            "invalid_input",
            "timestamp",
            id="no-offset",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "timestamp": "yesterday"},
            "invalid_input",
            "timestamp",
            id="not-a-time",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "props": {f"k{i}": "v" for i in range(31)}},
            "invalid_input",
            "props",
            id="many-props",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "props": {"k": "v" * 5000}},
            "invalid_input",
            "props",
            id="long-prop",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "props": {"k": {"nested": 1}}},
            "invalid_input",
            "props",
            id="prop-object",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "props": ["a"]},
            "invalid_input",
            "props",
            id="props-list",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "props": {"k": "a\x00b"}},
            "invalid_input",
            "props",
            id="prop-ctrl",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "target": "\x1b[31m"},
            "invalid_input",
            "target",
            id="target-ctrl",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "visitor_ip": "999.1.1.1"},
            "invalid_input",
            "visitor_ip",
            id="bad-ip",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "user_agent": "x" * 2000},
            "invalid_input",
            "user_agent",
            id="long-agent",
        ),
        pytest.param(
            {"action": "visit", "path": "/", "token": 5}, "invalid_input", "token", id="token-int"
        ),
    ]


@pytest.mark.parametrize(("event", "code", "field"), _bad_events())
def test_a_bad_event_is_a_400_naming_its_field(
    api: Api, project: tuple[str, str], event: Any, code: str, field: str | None
) -> None:
    project_id, _ = project
    # A server token, which may send every field: each is refused for its own fault.
    token = api.server_token(project_id)
    body = assert_error(api.send(event, token), 400, code)
    assert body.get("field") == field
    assert "index" not in body
    assert visits(api, project_id) == 0


@pytest.mark.parametrize(
    "event",
    # In a batch, an event's own "token" is an unknown field, hence ignored.
    [pytest.param(e.values[0], id=e.id) for e in _bad_events() if e.id != "token-int"],
)
def test_the_same_event_in_a_batch_is_refused_too(
    api: Api, project: tuple[str, str], event: Any
) -> None:
    token = api.server_token(project[0])
    if not isinstance(event, bytes):
        response = api.send({"events": [VISIT, event]}, token, batch=True)
    else:
        raw = b'{"events": [{"action": "visit", "path": "/"}, %s]}' % event
        response = api.send(raw, token, batch=True)
    assert_error(response, 400)


def test_a_single_event_over_64_kib_is_413(api: Api, project: tuple[str, str]) -> None:
    _, token = project
    event = {"action": "visit", "path": "/", "props": {"k": "v" * (65 * 1024)}}
    assert_error(api.send(event, token), 413, "body_too_large")


def test_a_batch_may_exceed_64_kib_but_not_2_mib(api: Api, project: tuple[str, str]) -> None:
    _, token = project
    event = {"action": "visit", "path": "/" + "p" * 200}
    assert api.send({"events": [event] * 500}, token, batch=True).status_code == 202
    huge = {"events": [VISIT], "padding": "x" * (2 * 1024 * 1024)}
    assert_error(api.send(huge, token, batch=True), 413, "body_too_large")


class TestTokens:
    def test_a_missing_token_is_401_with_a_bearer_challenge(self, api: Api) -> None:
        response = api.send(VISIT)
        assert_error(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "token",
        [
            "garbage",
            "pvt_",
            "pvt_0123456789abcdef_" + "0" * 72,
            "pak_0123456789abcdef_" + "0" * 72,
            "x" * 5000,
        ],
    )
    def test_a_garbage_token_is_401(self, api: Api, project: tuple[str, str], token: str) -> None:
        body = assert_error(api.send(VISIT, token), 401, "unauthenticated")
        assert token not in body["message"]

    def test_a_well_formed_token_with_a_wrong_secret_is_401(
        self, api: Api, project: tuple[str, str]
    ) -> None:
        _, token = project
        prefix, token_id, _ = token.split("_")
        forged = f"{prefix}_{token_id}_{'0' * 64}"
        import zlib

        forged += format(zlib.crc32(forged.encode()), "08x")
        assert_error(api.send(VISIT, forged), 401)

    def test_the_admin_key_is_not_a_project_token(self, api: Api) -> None:
        assert_error(api.send(VISIT, api.admin_key), 401)

    def test_a_revoked_token_is_401(self, api: Api, project: tuple[str, str]) -> None:
        project_id, token = project
        assert api.send(VISIT, token).status_code == 202
        token_id = token.split("_")[1]
        response = api.client.delete(
            f"/api/v1/projects/{project_id}/tokens/{token_id}", headers=api.admin
        )
        assert response.status_code == 200
        assert_error(api.send(VISIT, token), 401)

    def test_the_token_of_a_deleted_project_is_401(
        self, api: Api, project: tuple[str, str]
    ) -> None:
        project_id, token = project
        response = api.client.delete(f"/api/v1/projects/{project_id}", headers=api.admin)
        assert response.status_code == 204
        assert_error(api.send(VISIT, token), 401)


class TestOrigins:
    @pytest.fixture
    def guarded(self, api: Api) -> tuple[str, str]:
        return api.create_project(allowed_origins=["https://example.com"])

    def test_another_origin_is_403(self, api: Api, guarded: tuple[str, str]) -> None:
        _, token = guarded
        response = api.send(VISIT, token, headers={"Origin": "https://evil.example"})
        assert_error(response, 403, "origin_not_allowed")
        batch = api.send({"events": [VISIT]}, token, batch=True, headers={"Origin": "null"})
        assert_error(batch, 403)

    def test_an_allowed_origin_passes(self, api: Api, guarded: tuple[str, str]) -> None:
        project_id, token = guarded
        response = api.send(VISIT, token, headers={"Origin": "https://example.com"})
        assert response.status_code == 202
        assert visits(api, project_id) == 1

    def test_no_origin_header_passes(self, api: Api, guarded: tuple[str, str]) -> None:
        _, token = guarded
        assert api.send(VISIT, token).status_code == 202

    def test_any_origin_passes_when_none_is_configured(
        self, api: Api, project: tuple[str, str]
    ) -> None:
        _, token = project
        response = api.send(VISIT, token, headers={"Origin": "https://anything.example"})
        assert response.status_code == 202


class TestRateLimit:
    @pytest.fixture
    def limited(self, api: Api) -> tuple[str, str]:
        return api.create_project(rate_limit="2/minute")

    def test_over_the_limit_is_429_with_headers_until_time_passes(
        self, api: Api, limited: tuple[str, str]
    ) -> None:
        project_id, token = limited
        assert api.send(VISIT, token).status_code == 202
        assert api.send(VISIT, token).status_code == 202
        response = api.send(VISIT, token)
        assert_error(response, 429, "rate_limited")
        assert response.headers["Retry-After"] == "30"
        assert response.headers["RateLimit-Limit"] == "2"
        assert response.headers["RateLimit-Remaining"] == "0"
        assert response.headers["RateLimit-Reset"] == "60"
        api.clock.advance(29)
        assert api.send(VISIT, token).status_code == 429
        api.clock.advance(1)
        assert api.send(VISIT, token).status_code == 202
        assert visits(api, project_id) == 3

    def test_retry_after_is_rounded_up_to_whole_seconds(
        self, api: Api, limited: tuple[str, str]
    ) -> None:
        _, token = limited
        api.send({"events": [VISIT, VISIT]}, token, batch=True)
        api.clock.advance(0.5)
        response = api.send(VISIT, token)
        assert response.headers["Retry-After"] == "30"

    def test_a_batch_larger_than_the_burst_is_429_without_retry_after(
        self, api: Api, limited: tuple[str, str]
    ) -> None:
        _, token = limited
        response = api.send({"events": [VISIT] * 3}, token, batch=True)
        body = assert_error(response, 429, "rate_limited")
        assert "Retry-After" not in response.headers
        assert response.headers["RateLimit-Limit"] == "2"
        assert "exceeds" in body["message"]
        assert api.send({"events": [VISIT] * 2}, token, batch=True).status_code == 202


@pytest.mark.parametrize(("sent", "kept"), [(150, 100.0), (-3, 0.0), (100.4, 100.0)])
def test_a_scroll_depth_outside_0_to_100_is_stored_clamped_into_it(
    api: Api, project: tuple[str, str], sent: float, kept: float
) -> None:
    """The domain's one rule for every route (Plausible's and Umami's too)."""
    project_id, token = project
    scroll = {"action": "scroll", "path": "/", "value": sent}
    assert api.send({"events": [VISIT, scroll]}, token, batch=True).status_code == 202
    api.clock.advance(1)
    assert api.stats(project_id)["average_scroll_depth"] == kept
