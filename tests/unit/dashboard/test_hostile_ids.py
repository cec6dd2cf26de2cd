"""Malformed project and token ids in dashboard paths are 404 pages before any store
look-up (PostgreSQL refuses a NUL in a query); signed-out visitors still go to login."""

from __future__ import annotations

import pytest

from tests.unit.dashboard.conftest import Browser

PATHS = [
    ("GET", "/dashboard/projects/%00"),
    ("GET", "/dashboard/projects/a%00b/settings"),
    ("GET", "/dashboard/projects/0123456789ABCDEF"),
    ("GET", "/dashboard/projects/" + "a" * 5000),
]


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_a_malformed_id_is_a_404_page(signed_in: Browser, method: str, path: str) -> None:
    response = signed_in.client.request(method, path, follow_redirects=False)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "16 lowercase hex digits" in response.text


def test_a_malformed_token_id_is_a_404_page(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    settings = f"/dashboard/projects/{project_id}/settings"
    response = signed_in.form(settings, f"/dashboard/projects/{project_id}/tokens/%00/revoke", {})
    assert response.status_code == 404
    assert "16 lowercase hex digits" in response.text


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_signed_out_visitors_with_a_malformed_id_are_sent_to_login(
    browser: Browser, method: str, path: str
) -> None:
    response = browser.client.request(method, path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login")
