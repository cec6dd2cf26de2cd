"""The API reference under /schema is served by the server alone: no page there makes
the browser fetch anything from another origin (docs/privacy.md: no third-party
requests), and the reference shows every operation of the OpenAPI schema."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.http.dashboard import DashboardOptions
from privalytics.adapters.http.reference import render_reference
from privalytics.testing import make_services

# The viewers Litestar serves by default, and a path no plugin has.
FORMER_VIEWERS = [
    "/schema/swagger",
    "/schema/redoc",
    "/schema/rapidoc",
    "/schema/elements",
    "/schema/oauth2-redirect.html",
    "/schema/nope",
]
URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data", "ping"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)


class _Urls(HTMLParser):
    """Every URL a page names: in attributes, style elements and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name == "style":
                self._css(value)
            elif name == "content" and "url=" in value.lower():
                self.urls.append(value.lower().split("url=", 1)[1])

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, text: str) -> None:
        self.urls += [a or b for a, b in CSS_URL.findall(text)]


def _elsewhere(html: str) -> list[str]:
    """The URLs of ``html`` that reach another origin (data: URLs fetch nothing)."""
    parser = _Urls()
    parser.feed(html)
    return [
        url
        for url in parser.urls
        if urlsplit(url).scheme not in ("", "data") or urlsplit(url).netloc
    ]


@pytest.fixture
def client() -> TestClient[Litestar]:
    app = create_app(make_services(), HttpOptions(dashboard=DashboardOptions(secret="s" * 40)))
    return TestClient(app)


def test_no_page_under_schema_loads_anything_from_another_origin(
    client: TestClient[Litestar],
) -> None:
    with client:
        served = [route.path for route in client.app.routes if route.path.startswith("/schema")]
        pages = 0
        for path in sorted({*served, *FORMER_VIEWERS}):
            response = client.get(path.replace("{path:str}", "nope"))
            if response.headers["content-type"].startswith("text/html"):
                pages += 1
                assert _elsewhere(response.text) == [], path
        assert client.get("/schema").headers["content-type"].startswith("text/html")
    assert pages >= 2


def test_the_url_finder_sees_a_cdn_wherever_a_page_can_name_it() -> None:
    """The check above could not pass for a page that loads from a CDN."""
    page = (
        "<link href='https://fonts.example/css'><script src=//cdn.example/a.js></script>"
        "<img srcset='/a.png 1x, https://img.example/b.png 2x'>"
        "<style>@import 'https://css.example/x.css'; b { background: url(http://i.example/i) }"
        "</style><div style=\"background:url('https://s.example/s.png')\"></div>"
        "<a href='/schema/openapi.json'>local</a><link rel=icon href='data:,'>"
    )
    assert len(_elsewhere(page)) == 6


def test_the_reference_shows_every_operation_of_the_schema(client: TestClient[Litestar]) -> None:
    with client:
        schema = client.get("/schema/openapi.json").json()
        page = client.get("/schema").text
    headings = re.findall(r"<h3><code class=\"method\">(\w+)</code> <code>([^<]+)</code>", page)
    operations = [
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert sorted(headings) == sorted(operations)
    assert operations
    assert 'href="/schema/openapi.json"' in page
    assert 'href="/schema/openapi.yaml"' in page


def test_the_reference_escapes_what_the_schema_says() -> None:
    schema = {
        "info": {"title": "t", "version": "1", "description": "<script>alert(1)</script>"},
        "paths": {"/x": {"get": {"summary": "<img src=https://evil.example/>", "tags": ["a"]}}},
    }
    page = render_reference(schema, "/schema/openapi.json", "/schema/openapi.yaml")
    assert "<script>" not in page
    assert _elsewhere(page) == []
