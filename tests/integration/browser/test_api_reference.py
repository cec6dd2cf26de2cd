"""The API reference in a real browser: reading it makes no request to another origin."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.browser.conftest import Deployment

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_api_reference_loads_everything_from_the_server_itself(
    chromium: Browser, deployment: Deployment
) -> None:
    server = deployment.server.url
    schema = httpx.get(f"{server}/schema/openapi.json", timeout=10).json()
    operations = sum(
        method in ("get", "post", "put", "patch", "delete")
        for item in schema["paths"].values()
        for method in item
    )
    context = chromium.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        page = context.new_page()
        response = page.goto(f"{server}/schema", wait_until="networkidle")
        assert response is not None
        assert response.status == 200
        headings = page.locator("article h3").count()
        if headings:
            page.get_by_role("link", name="OpenAPI JSON").click()
            page.wait_for_url(f"{server}/schema/openapi.json")
    finally:
        context.close()
    origin = urlsplit(server)
    elsewhere = [url for url in requested if urlsplit(url)[:2] != origin[:2]]
    assert requested
    assert elsewhere == []
    # The page is the reference, rendered: one heading per operation of the schema.
    assert headings == operations
