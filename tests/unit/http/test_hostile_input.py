"""Hostile input at the HTTP boundary is a 4xx naming the problem, never a 500: bodies
that are not Unicode or nest too deeply, lone surrogates, calendar edges in stats ranges,
malformed ids in paths, control characters in logged paths, filters and dimensions."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import TestClient

from privalytics.adapters.http.errors import exception_handlers
from tests.unit.http.conftest import Api, assert_error

SITE = "https://example.com"
DEEP = 30_000


def _routes(api: Api) -> dict[str, tuple[str, str, dict[str, str], bytes, bytes]]:
    """Every JSON route: method, path, headers, and the body around one JSON string that
    the route reads (prefix, suffix: the string goes between them, quotes included)."""
    project_id, token = api.create_project(allowed_origins=[SITE])
    auth = {"Authorization": f"Bearer {token}"}
    return {
        "single": ("POST", "/api/v1/events", auth, b'{"action":"visit","path":', b"}"),
        "batch": (
            "POST",
            "/api/v1/events/batch",
            auth,
            b'{"events":[{"action":"visit","path":',
            b"}]}",
        ),
        "plausible": (
            "POST",
            "/api/event",
            {"Origin": SITE},
            b'{"n":"pageview","d":"x","u":',
            b"}",
        ),
        "umami": (
            "POST",
            "/api/send",
            {"Origin": SITE},
            b'{"type":"event","payload":{"url":',
            b"}}",
        ),
        "create": ("POST", "/api/v1/projects", api.admin, b'{"name":', b"}"),
        "patch": ("PATCH", f"/api/v1/projects/{project_id}", api.admin, b'{"name":', b"}"),
    }


ROUTES = ["single", "batch", "plausible", "umami", "create", "patch"]


def _post(api: Api, route: str, value: bytes) -> Any:
    method, path, headers, prefix, suffix = _routes(api)[route]
    return api.client.request(method, path, content=prefix + value + suffix, headers=headers)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "value", [b'"/\xff"', b'"/\xc3"', b'"/\xed\xa0\x80"', b'"\xf8\x88\x80\x80\x80"']
)
def test_invalid_utf8_in_a_string_is_invalid_json(api: Api, route: str, value: bytes) -> None:
    body = assert_error(_post(api, route, value), 400, "invalid_json")
    assert body["message"] == "the body is not valid UTF-8"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "value",
    [
        rb'"/\ud800"',
        rb'"/\udfff"',
        rb'"/\ud800x"',
        rb'"/\ud800\u0041"',
        rb'"/\ud83d\ude00\udc00"',
        rb'"/\ud800',
    ],
)
def test_a_lone_surrogate_escape_is_invalid_json_saying_so(
    api: Api, route: str, value: bytes
) -> None:
    body = assert_error(_post(api, route, value), 400, "invalid_json")
    assert "unpaired UTF-16 surrogate" in body["message"]


@pytest.mark.parametrize("route", ROUTES)
def test_an_escaped_backslash_before_u_is_not_a_surrogate(api: Api, route: str) -> None:
    response = _post(api, route, rb'"/\\ud800"')
    assert response.status_code < 500
    assert "surrogate" not in response.text


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("single", b'{"action":"visit","path":"/","extra":' + b"[" * DEEP + b"]" * DEEP + b"}"),
        ("batch", b'{"events":[{"action":"visit","path":"/","x":' + b"[" * DEEP + b"]]}"),
        ("plausible", b'{"n":"pageview","u":"/","d":"x","x":' + b'{"a":' * 5000 + b"1"),
        ("umami", b'{"type":"event","payload":{"website":"x","x":' + b"[" * DEEP + b"]}}"),
    ],
)
def test_deep_nesting_is_invalid_json(api: Api, route: str, body: bytes) -> None:
    method, path, headers, _, _ = _routes(api)[route]
    response = api.client.request(method, path, content=body, headers=headers)
    result = assert_error(response, 400, "invalid_json")
    assert result["message"] == "the body's JSON is nested too deeply"


@pytest.mark.parametrize(
    "body",
    [b"[" * 20_000, b"[" * DEEP + b"]" * DEEP, b'{"name":' + b"[" * DEEP + b"]" * DEEP + b"}"],
)
@pytest.mark.parametrize("route", ["create", "patch"])
def test_deep_nesting_on_admin_routes_is_400(api: Api, route: str, body: bytes) -> None:
    method, path, headers, _, _ = _routes(api)[route]
    response = api.client.request(method, path, content=body, headers=headers)
    assert_error(response, 400)


@pytest.mark.parametrize("route", ["create", "patch"])
class TestAdminBodies:
    def test_an_empty_body_is_invalid_json_saying_so(self, api: Api, route: str) -> None:
        method, path, headers, _, _ = _routes(api)[route]
        response = api.client.request(method, path, content=b"", headers=headers)
        body = assert_error(response, 400, "invalid_json")
        assert body["message"] == "the body is empty; it must be a JSON object"

    @pytest.mark.parametrize("raw", [b"hello", b"{", b"name=x"])
    def test_non_json_is_invalid_json(self, api: Api, route: str, raw: bytes) -> None:
        method, path, headers, _, _ = _routes(api)[route]
        response = api.client.request(method, path, content=raw, headers=headers)
        body = assert_error(response, 400, "invalid_json")
        assert body["message"].startswith("the body is not valid JSON (line 1, column ")
        assert body["message"].endswith("; it must be a JSON object")

    @pytest.mark.parametrize(
        ("raw", "kind"), [(b"[]", "an array"), (b'"x"', "a string"), (b"1", "a number")]
    )
    def test_a_body_that_is_not_an_object_is_invalid_input(
        self, api: Api, route: str, raw: bytes, kind: str
    ) -> None:
        method, path, headers, _, _ = _routes(api)[route]
        response = api.client.request(method, path, content=raw, headers=headers)
        body = assert_error(response, 400, "invalid_input")
        assert body["message"] == f"the body must be a JSON object, not {kind}"

    def test_an_unknown_field_is_named(self, api: Api, route: str) -> None:
        method, path, headers, _, _ = _routes(api)[route]
        raw = b'{"name":"x","allowed_origin":["https://a.b"]}'
        response = api.client.request(method, path, content=raw, headers=headers)
        body = assert_error(response, 400, "invalid_input")
        assert body["field"] == "allowed_origin"


def test_ingestion_names_an_empty_body_too(api: Api, project: tuple[str, str]) -> None:
    _, token = project
    body = assert_error(api.send(b"", token), 400, "invalid_json")
    assert body["message"] == "the body is empty; it must be a JSON object"


class TestStatsRange:
    @pytest.mark.parametrize(
        ("params", "field", "says"),
        [
            ({"from": "0001-01-01T00:00:00+14:00"}, "from", "out of range"),
            ({"from": "0001-01-01", "to": "9999-12-31T23:59:59.999999-23:59"}, "from", "RFC 3339"),
            (
                {"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59.999999-23:59"},
                "to",
                "out of range",
            ),
            ({"from": "2026-W48-1"}, "from", "RFC 3339"),
            ({"from": "2026-01-01"}, "from", "RFC 3339"),
            ({"from": "20260101T000000Z"}, "from", "RFC 3339"),
            ({"from": "2025-12-31T00:00:00"}, "from", "offset"),
            ({"from": "2025-12-31T00:00:00Z", "to": "2026-01-01T00:00:00"}, "to", "offset"),
            ({"from": "\x00"}, "from", "RFC 3339"),
            ({"period": ""}, "period", "must be one of"),
            # Inside datetime's range, but its previous range or its series would not be.
            ({"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"}, "from", "1970"),
            ({"from": "0001-01-01T00:00:00Z"}, "from", "1970"),
            ({"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T23:59:59Z"}, "to", "9999"),
            ({"from": "1990-01-01T00:00:00Z"}, "to", "at most"),
        ],
    )
    def test_a_range_outside_the_calendar_or_not_rfc3339_is_400(
        self, api: Api, project: tuple[str, str], params: dict[str, str], field: str, says: str
    ) -> None:
        project_id, _ = project
        response = api.client.get(
            f"/api/v1/projects/{project_id}/stats", params=params, headers=api.admin
        )
        body = assert_error(response, 400, "invalid_input")
        assert body["field"] == field
        assert says in body["message"]

    def test_the_exact_query_string_of_the_report(self, api: Api, project: tuple[str, str]) -> None:
        project_id, _ = project
        url = f"/api/v1/projects/{project_id}/stats?from=0001-01-01T00:00:00%2B14:00"
        assert_error(api.client.get(url, headers=api.admin), 400, "invalid_input")

    def test_an_offset_is_converted_to_utc(self, api: Api, project: tuple[str, str]) -> None:
        project_id, _ = project
        stats = api.stats(
            project_id, **{"from": "2026-01-01T01:00:00+02:00", "to": "2026-01-01t12:00:00z"}
        )
        assert stats["range"] == {"from": "2025-12-31T23:00:00Z", "to": "2026-01-01T12:00:00Z"}


class TestIdsInPaths:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/projects/%00"),
            ("GET", "/api/v1/projects/a%00b/stats"),
            ("DELETE", "/api/v1/projects/0123456789abcdef/tokens/%00"),
            ("DELETE", "/api/v1/projects/x/tokens/%00"),
            ("PATCH", "/api/v1/projects/%00"),
            ("DELETE", "/api/v1/projects/%00"),
            ("GET", "/api/v1/projects/%00/tokens"),
            ("POST", "/api/v1/projects/%00/tokens"),
            ("GET", "/api/v1/projects/0123456789ABCDEF"),
            ("GET", "/api/v1/projects/0123456789abcdef%0A"),
            ("GET", "/api/v1/projects/" + "a" * 5000),
            ("GET", "/api/v1/projects/%ED%A0%80"),
        ],
    )
    def test_a_malformed_id_is_404_before_any_look_up(
        self, api: Api, method: str, path: str
    ) -> None:
        response = api.client.request(method, path, headers=api.admin, json={"name": "x"})
        body = assert_error(response, 404, "not_found")
        assert "16 lowercase hex digits" in body["message"]
        assert "\x00" not in body["message"]

    def test_without_a_key_it_is_still_401(self, api: Api) -> None:
        assert_error(api.client.get("/api/v1/projects/%00"), 401, "unauthenticated")

    def test_a_well_formed_unknown_id_is_the_domains_404(self, api: Api) -> None:
        response = api.client.get("/api/v1/projects/0123456789abcdef", headers=api.admin)
        body = assert_error(response, 404, "not_found")
        assert body["message"] == "no project '0123456789abcdef'"

    @pytest.mark.parametrize("website", ["\x00", "x\x00", "0123456789abcdeF", ""])
    def test_an_umami_website_that_is_no_id_is_404(self, api: Api, website: str) -> None:
        response = api.client.post(
            "/api/send",
            json={"type": "event", "payload": {"website": website, "url": "/"}},
            headers={"Origin": SITE},
        )
        assert_error(response, 404, "not_found")


def test_an_unexpected_error_logs_the_path_escaped_and_truncated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @get("/boom/{rest:path}")
    async def boom(rest: FromPath[str]) -> None:
        raise RuntimeError(rest)

    app = Litestar([boom], exception_handlers=exception_handlers(), logging_config=None)
    caplog.set_level(logging.ERROR, logger="privalytics.http")
    with TestClient(app) as client:
        response = client.get("/boom/a%00b%0D%0Aunexpected%20Forged%20handling%20GET%20/x")
        assert_error(response, 500, "internal_error")
        long = client.get("/boom/" + "z" * 1000)
        assert long.status_code == 500
    first, second = (r.getMessage() for r in caplog.records if r.name == "privalytics.http")
    assert first == (
        "unexpected RuntimeError handling GET /boom/a\\x00b\\r\\nunexpected Forged handling GET /x"
    )
    assert "\n" not in first
    assert "\x00" not in first
    assert second == (
        "unexpected RuntimeError handling GET /boom/"
        + "z" * 194
        + " (truncated from 1006 characters)"
    )


class TestBreakdownAndFilters:
    """Filters (on stats and breakdowns) and dimensions in paths: a precise 4xx."""

    @pytest.mark.parametrize("route", ["stats", "breakdown/page"])
    @pytest.mark.parametrize(
        ("query", "says"),
        [
            ("filter=page%3D%3D" + "x" * 60_000, "longer than 2048"),
            ("&".join(["filter=page%3D%3D%2Fx"] * 1000), "at most 10"),
            ("filter=page%3D%3D%2F%00", "control characters"),
            ("filter=city~a%0Ab", "control characters"),
            ("filter=page%3D%2Fx", "must be DIMENSION==VALUE"),
            ("filter=page%3C%3E%2Fx", "must be DIMENSION==VALUE"),
            ("filter=pagein%2Fx", "must be DIMENSION==VALUE"),
            ("filter=", "must be DIMENSION==VALUE"),
            ("filter=colour%3D%3Dred", "names no dimension (colour)"),
            ("filter=%00%3D%3Dx", "must be DIMENSION==VALUE"),
            ("filter=source~", "needs some text"),
            ("filter=source%3D%3DGoogle&filter=%ED%A0%80", "must be DIMENSION==VALUE"),
        ],
    )
    def test_a_bad_filter_is_400_naming_filter(
        self, api: Api, project: tuple[str, str], route: str, query: str, says: str
    ) -> None:
        project_id, _ = project
        url = f"/api/v1/projects/{project_id}/{route}?{query}"
        body = assert_error(api.client.get(url, headers=api.admin), 400, "invalid_input")
        assert body["field"] == "filter"
        assert says in body["message"]
        assert "\x00" not in body["message"]
        assert len(body["message"]) < 1000

    @pytest.mark.parametrize(
        "dimension", ["colour", "%00", "x%0Ay", "a" * 5000, "%ED%A0%80", "Page", "page%20"]
    )
    def test_an_unknown_dimension_is_404_listing_the_dimensions(
        self, api: Api, project: tuple[str, str], dimension: str
    ) -> None:
        project_id, _ = project
        url = f"/api/v1/projects/{project_id}/breakdown/{dimension}"
        body = assert_error(api.client.get(url, headers=api.admin), 404, "not_found")
        assert "the dimensions are page, entry_page" in body["message"]
        assert "\x00" not in body["message"]
        assert "\n" not in body["message"]
        assert len(body["message"]) < 400

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("period=1w", "period"),
        ],
    )
    def test_a_bad_limit_or_period_is_400(
        self, api: Api, project: tuple[str, str], query: str, field: str
    ) -> None:
        project_id, _ = project
        url = f"/api/v1/projects/{project_id}/breakdown/city?{query}"
        body = assert_error(api.client.get(url, headers=api.admin), 400, "invalid_input")
        assert body["field"] == field

    def test_a_malformed_project_id_is_404_before_the_dimension(self, api: Api) -> None:
        url = "/api/v1/projects/%00/breakdown/colour"
        body = assert_error(api.client.get(url, headers=api.admin), 404, "not_found")
        assert "16 lowercase hex digits" in body["message"]
