"""GET /tracker.js: the built script, small, cached long, versioned by its content hash."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from privalytics.adapters.http.tracker import IMMUTABLE_CACHE, SHORT_CACHE, tracker_script
from tests.unit.http.conftest import Api

MAX_GZIPPED = 1024


def test_the_served_script_is_at_most_one_kilobyte_gzipped(api: Api) -> None:
    response = api.client.get("/tracker.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    body = response.content
    size = len(gzip.compress(body, compresslevel=9))
    assert size <= MAX_GZIPPED, f"tracker.js is {size} bytes gzipped"


def test_the_script_is_javascript_cached_a_day_and_tagged_with_its_hash(api: Api) -> None:
    response = api.client.get("/tracker.js", headers={"Accept-Encoding": "identity"})
    version = hashlib.sha256(response.content).hexdigest()[:16]
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["etag"] == f'"{version}"'
    assert response.headers["cache-control"] == SHORT_CACHE
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "set-cookie" not in response.headers


def test_the_hashed_url_is_immutable_and_a_stale_hash_still_gets_the_script(api: Api) -> None:
    version = tracker_script().version
    pinned = api.client.get(f"/tracker.js?v={version}")
    assert pinned.headers["cache-control"] == IMMUTABLE_CACHE
    stale = api.client.get("/tracker.js?v=0000000000000000")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == SHORT_CACHE
    assert stale.content == pinned.content


def test_revalidation_with_the_etag_answers_304(api: Api) -> None:
    etag = api.client.get("/tracker.js").headers["etag"]
    response = api.client.get("/tracker.js", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    changed = api.client.get("/tracker.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


def test_gzip_is_served_to_browsers_that_accept_it(api: Api) -> None:
    raw = api.client.get("/tracker.js", headers={"Accept-Encoding": "identity"})
    zipped = api.client.get("/tracker.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == raw.content  # httpx decodes it
    assert int(zipped.headers["content-length"]) <= MAX_GZIPPED


def test_the_script_keeps_nothing_on_the_visitor_s_device() -> None:
    source = tracker_script().body.decode()
    for forbidden in ("cookie", "localStorage", "sessionStorage", "indexedDB"):
        assert forbidden not in source
    assert "globalPrivacyControl" in source
    assert "doNotTrack" in source


def test_the_content_type_names_its_charset_once(api: Api) -> None:
    response = api.client.get("/tracker.js")
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"


def test_head_answers_the_headers_of_get_without_a_body(api: Api) -> None:
    for encoding in ("gzip", "identity"):
        get = api.client.get("/tracker.js", headers={"Accept-Encoding": encoding})
        head = api.client.head("/tracker.js", headers={"Accept-Encoding": encoding})
        assert head.status_code == 200
        assert head.content == b""
        for name in ("content-type", "content-length", "etag", "cache-control"):
            assert head.headers.get(name) == get.headers.get(name), name
        assert head.headers.get("content-encoding") == get.headers.get("content-encoding")


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip;q=0", False),
        ("gzip; q=0.0, br", False),
        ("br;q=1, *;q=0", False),
        ("identity", False),
        ("GZIP;q=0.5", True),
        ("*", True),
        ("br, gzip;q=0.1", True),
        ("x-gzip", True),
    ],
)
def test_gzip_only_when_accepted_with_a_quality_above_zero(
    api: Api, accept: str, gzipped: bool
) -> None:
    response = api.client.get("/tracker.js", headers={"Accept-Encoding": accept})
    assert ("content-encoding" in response.headers) is gzipped
