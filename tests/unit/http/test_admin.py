"""The admin API: projects, tokens and stats, behind an admin key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.http.conftest import Api, assert_error

VISIT = {"action": "visit", "path": "/"}
ROUTES = [
    ("POST", "/api/v1/projects"),
    ("GET", "/api/v1/projects"),
    ("GET", "/api/v1/projects/{id}"),
    ("PATCH", "/api/v1/projects/{id}"),
    ("DELETE", "/api/v1/projects/{id}"),
    ("GET", "/api/v1/projects/{id}/tokens"),
    ("POST", "/api/v1/projects/{id}/tokens"),
    ("DELETE", "/api/v1/projects/{id}/tokens/{token_id}"),
    ("GET", "/api/v1/projects/{id}/stats"),
]


def _call(api: Api, method: str, route: str, project: tuple[str, str], **kw: Any) -> Any:
    project_id, token = project
    url = route.format(id=project_id, token_id=token.split("_")[1])
    body: dict[str, Any] = {"json": {"name": "x"}} if method in ("POST", "PATCH") else {}
    return api.client.request(method, url, **body, **kw)


class TestAdminKey:
    @pytest.mark.parametrize(("method", "route"), ROUTES)
    def test_every_route_needs_an_admin_key(
        self, api: Api, project: tuple[str, str], method: str, route: str
    ) -> None:
        response = _call(api, method, route, project)
        assert_error(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize(("method", "route"), ROUTES)
    @pytest.mark.parametrize(
        "key",
        [
            "garbage",
            "Basic",
            "pak_0123456789abcdef_" + "0" * 72,
            # Well-formed (valid checksum) but unknown.
            "pak_0123456789abcdef_" + "0" * 64 + "e4d1ac2b",
        ],
    )
    def test_a_wrong_key_is_401(
        self, api: Api, project: tuple[str, str], method: str, route: str, key: str
    ) -> None:
        response = _call(api, method, route, project, headers={"Authorization": f"Bearer {key}"})
        body = assert_error(response, 401, "unauthenticated")
        assert key not in body["message"]

    def test_a_project_token_is_not_an_admin_key(self, api: Api, project: tuple[str, str]) -> None:
        _, token = project
        response = api.client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401)

    def test_nothing_changes_without_a_key(self, api: Api, project: tuple[str, str]) -> None:
        project_id, _ = project
        assert api.client.delete(f"/api/v1/projects/{project_id}").status_code == 401
        assert api.client.get(f"/api/v1/projects/{project_id}", headers=api.admin).is_success


class TestProjects:
    def test_create_with_defaults(self, api: Api) -> None:
        response = api.client.post("/api/v1/projects", json={"name": "Blog"}, headers=api.admin)
        assert response.status_code == 201
        body = response.json()
        assert body["token"].startswith("pvt_")
        assert body["project"] == {
            "id": body["project"]["id"],
            "name": "Blog",
            "rate_limit": "1000/minute",
            "allowed_origins": [],
            "created_at": "2026-01-01T12:00:00Z",
        }

    def test_create_with_a_limit_and_origins(self, api: Api) -> None:
        body = {
            "name": "Shop",
            "rate_limit": "50 / hour",
            "allowed_origins": ["https://Shop.Example", "http://localhost:8080/"],
        }
        response = api.client.post("/api/v1/projects", json=body, headers=api.admin)
        project = response.json()["project"]
        assert project["rate_limit"] == "50/hour"
        assert project["allowed_origins"] == ["https://shop.example", "http://localhost:8080"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": 3}, "name"),
            ({}, "name"),
            ({"name": "x", "rate_limit": "lots"}, "rate_limit"),
            ({"name": "x", "rate_limit": "0/minute"}, "rate_limit"),
            ({"name": "x", "rate_limit": 5}, "rate_limit"),
            ({"name": "x", "allowed_origins": ["example.com"]}, "allowed_origins"),
            ({"name": "x", "allowed_origins": "https://example.com"}, "allowed_origins"),
            ({"name": "x", "allowed_origin": ["https://example.com"]}, "allowed_origin"),
            ([], None),
        ],
    )
    def test_a_bad_body_is_400(self, api: Api, body: Any, field: str | None) -> None:
        response = api.client.post("/api/v1/projects", json=body, headers=api.admin)
        result = assert_error(response, 400, "invalid_input")
        assert result.get("field") == field

    @pytest.mark.parametrize("raw", [b"{", b"", b"\xff"])
    def test_malformed_json_is_400(self, api: Api, raw: bytes) -> None:
        response = api.client.post("/api/v1/projects", content=raw, headers=api.admin)
        assert_error(response, 400)

    def test_list_get_update_delete(self, api: Api) -> None:
        first, _ = api.create_project("one")
        api.clock.advance(1)
        second, _ = api.create_project("two")
        listed = api.client.get("/api/v1/projects", headers=api.admin).json()
        assert [p["id"] for p in listed["projects"]] == [first, second]

        got = api.client.get(f"/api/v1/projects/{second}", headers=api.admin).json()
        assert got["name"] == "two"

        response = api.client.patch(
            f"/api/v1/projects/{second}",
            json={"name": "deux", "rate_limit": "5/second", "allowed_origins": ["https://a.b"]},
            headers=api.admin,
        )
        assert response.status_code == 200
        assert response.json() == {
            **got,
            "name": "deux",
            "rate_limit": "5/second",
            "allowed_origins": ["https://a.b"],
        }
        untouched = api.client.patch(f"/api/v1/projects/{second}", json={}, headers=api.admin)
        assert untouched.json() == response.json()

        assert api.client.delete(f"/api/v1/projects/{second}", headers=api.admin).status_code == 204
        assert_error(api.client.get(f"/api/v1/projects/{second}", headers=api.admin), 404)
        listed = api.client.get("/api/v1/projects", headers=api.admin).json()
        assert [p["id"] for p in listed["projects"]] == [first]

    def test_a_bad_patch_is_400_and_changes_nothing(
        self, api: Api, project: tuple[str, str]
    ) -> None:
        project_id, _ = project
        url = f"/api/v1/projects/{project_id}"
        before = api.client.get(url, headers=api.admin).json()
        for body in ({"rate_limit": "fast"}, {"name": ""}, {"nme": "x"}, {"allowed_origins": [1]}):
            assert_error(api.client.patch(url, json=body, headers=api.admin), 400)
        assert api.client.get(url, headers=api.admin).json() == before

    @pytest.mark.parametrize(
        ("method", "route"), [r for r in ROUTES if "{id}" in r[1] and "token_id" not in r[1]]
    )
    def test_an_unknown_project_is_404(self, api: Api, method: str, route: str) -> None:
        response = _call(api, method, route, ("0000", "pvt_x_y"), headers=api.admin)
        assert_error(response, 404, "not_found")

    def test_deleting_a_project_deletes_its_events(
        self, api: Api, project: tuple[str, str]
    ) -> None:
        project_id, token = project
        api.send(VISIT, token)
        api.client.delete(f"/api/v1/projects/{project_id}", headers=api.admin)
        new_id, _ = api.create_project()
        api.clock.advance(1)
        assert api.stats(new_id)["visits"] == 0


class TestTokens:
    def test_the_first_token_is_listed_without_its_secret(
        self, api: Api, project: tuple[str, str]
    ) -> None:
        project_id, token = project
        response = api.client.get(f"/api/v1/projects/{project_id}/tokens", headers=api.admin)
        assert response.json() == {
            "tokens": [
                {
                    "id": token.split("_")[1],
                    "created_at": "2026-01-01T12:00:00Z",
                    "revoked_at": None,
                    "kind": "browser",
                }
            ]
        }
        assert token.split("_")[2] not in response.text

    def test_issue_a_second_token_both_work(self, api: Api, project: tuple[str, str]) -> None:
        project_id, first = project
        response = api.client.post(f"/api/v1/projects/{project_id}/tokens", headers=api.admin)
        assert response.status_code == 201
        issued = response.json()
        assert issued["token"].startswith(f"pvt_{issued['id']}_")
        assert issued["created_at"] == "2026-01-01T12:00:00Z"
        assert api.send(VISIT, first).status_code == 202
        assert api.send(VISIT, issued["token"]).status_code == 202

    def test_issue_with_revoke_others(self, api: Api, project: tuple[str, str]) -> None:
        project_id, first = project
        api.clock.advance(1)  # tokens are listed oldest first
        response = api.client.post(
            f"/api/v1/projects/{project_id}/tokens",
            params={"revoke_others": "true"},
            headers=api.admin,
        )
        second = response.json()["token"]
        assert_error(api.send(VISIT, first), 401)
        assert api.send(VISIT, second).status_code == 202
        tokens = api.client.get(f"/api/v1/projects/{project_id}/tokens", headers=api.admin)
        revoked = [t["revoked_at"] is not None for t in tokens.json()["tokens"]]
        assert revoked == [True, False]

    def test_revoke_answers_the_revoked_token(self, api: Api, project: tuple[str, str]) -> None:
        project_id, token = project
        token_id = token.split("_")[1]
        api.clock.advance(60)
        url = f"/api/v1/projects/{project_id}/tokens/{token_id}"
        response = api.client.delete(url, headers=api.admin)
        assert response.status_code == 200
        assert response.json() == {
            "id": token_id,
            "created_at": "2026-01-01T12:00:00Z",
            "revoked_at": "2026-01-01T12:01:00Z",
            "kind": "browser",
        }
        again = api.client.delete(url, headers=api.admin)
        assert again.json()["revoked_at"] == "2026-01-01T12:01:00Z"

    def test_revoking_an_unknown_token_is_404(self, api: Api, project: tuple[str, str]) -> None:
        project_id, _ = project
        _, other_token = api.create_project("other")
        url = f"/api/v1/projects/{project_id}/tokens/{other_token.split('_')[1]}"
        assert_error(api.client.delete(url, headers=api.admin), 404)
        url = f"/api/v1/projects/{project_id}/tokens/0123456789abcdef"
        assert_error(api.client.delete(url, headers=api.admin), 404)
        assert api.send(VISIT, other_token).status_code == 202

    def test_a_bad_revoke_others_is_400(self, api: Api, project: tuple[str, str]) -> None:
        project_id, _ = project
        response = api.client.post(
            f"/api/v1/projects/{project_id}/tokens",
            params={"revoke_others": "perhaps"},
            headers=api.admin,
        )
        body = assert_error(response, 400, "invalid_input")
        assert (body["field"], body["message"]) == (
            "revoke_others",
            "`revoke_others` must be true or false",
        )

    def test_a_limit_that_is_no_number_says_so_in_our_words(
        self, api: Api, project: tuple[str, str]
    ) -> None:
        project_id, _ = project
        response = api.client.get(
            f"/api/v1/projects/{project_id}/stats", params={"limit": "ten"}, headers=api.admin
        )
        body = assert_error(response, 400, "invalid_input")
        assert (body["field"], body["message"]) == ("limit", "`limit` must be a whole number")


class TestStatsQuery:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"period": "1y"}, "period"),
            ({"from": "garbage"}, "from"),
            ({"to": "2026-01-01T00:00:00Z"}, "from"),
            ({"from": "2026-01-01T10:00:00Z", "to": "2026-01-01T09:00:00Z"}, "to"),
            ({"from": "2026-01-01T10:00:00Z", "period": "7d"}, "period"),
            ({"limit": "0"}, "limit"),
            ({"limit": "101"}, "limit"),
            ({"limit": "ten"}, "limit"),
        ],
    )
    def test_a_bad_query_is_400(
        self, api: Api, project: tuple[str, str], params: dict[str, str], field: str
    ) -> None:
        project_id, _ = project
        response = api.client.get(
            f"/api/v1/projects/{project_id}/stats", params=params, headers=api.admin
        )
        body = assert_error(response, 400, "invalid_input")
        assert body["field"] == field

    @pytest.mark.parametrize("period", ["24h", "7d", "30d", "12m"])
    def test_every_period_is_accepted(
        self, api: Api, project: tuple[str, str], period: str
    ) -> None:
        project_id, _ = project
        stats = api.stats(project_id, period=period)
        assert stats["range"]["to"] == "2026-01-01T12:00:00Z"
        assert len(stats["recent"]) == 24

    def test_an_explicit_range(self, api: Api, project: tuple[str, str]) -> None:
        project_id, token = project
        api.send(VISIT, token)
        api.clock.advance(3600)
        stats = api.stats(
            project_id, **{"from": "2026-01-01T11:00:00Z", "to": "2026-01-01T13:00:00Z"}
        )
        assert stats["range"] == {"from": "2026-01-01T11:00:00Z", "to": "2026-01-01T13:00:00Z"}
        assert stats["visits"] == 1
        outside = api.stats(project_id, **{"from": "2026-01-01T12:30:00+00:00"})
        assert outside["visits"] == 0
        assert outside["range"]["to"] == "2026-01-01T13:00:00Z"
