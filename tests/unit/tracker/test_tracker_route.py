"""GET /tracker.js and GET /tracker-tags.js: the built scripts, small, cached long,
versioned by their content hash, each served the same way."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from privalytics.adapters.http.tracker import (
    IMMUTABLE_CACHE,
    SCRIPTS,
    SHORT_CACHE,
    static_script,
    tracker_script,
)
from tests.unit.http.conftest import Api

# Gzipped, as served: the tracker within 1 KB, the tagged-events add-on within half of it.
MAX_GZIPPED = {"tracker.js": 1024, "tracker-tags.js": 512}


@pytest.fixture(params=SCRIPTS)
def script(request: pytest.FixtureRequest) -> str:
    """The name of a served script; every test below holds for each."""
    name: str = request.param
    return name


def test_every_script_has_a_size_budget() -> None:
    assert set(MAX_GZIPPED) == set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_served_script_is_within_its_gzipped_budget(api: Api, name: str) -> None:
    response = api.client.get(f"/{name}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    body = response.content
    assert body == static_script(name).body
    size = len(gzip.compress(body, compresslevel=9))
    assert size <= MAX_GZIPPED[name], f"{name} is {size} bytes gzipped"


def test_the_add_on_reads_the_tags_and_sends_only_through_the_tracker(api: Api) -> None:
    served = api.client.get("/tracker-tags.js").text
    assert "data-pa-event" in served
    assert "pa-event-" in served
    assert "privalytics" in served
    # No endpoint, token or transport of its own: tracker.js decides whether to send.
    for own in ("sendBeacon", "fetch(", "api/v1"):
        assert own not in served


def test_the_script_is_javascript_cached_a_day_and_tagged_with_its_hash(
    api: Api, script: str
) -> None:
    response = api.client.get(f"/{script}", headers={"Accept-Encoding": "identity"})
    version = hashlib.sha256(response.content).hexdigest()[:16]
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["etag"] == f'"{version}"'
    assert response.headers["cache-control"] == SHORT_CACHE
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "set-cookie" not in response.headers


def test_the_hashed_url_is_immutable_and_a_stale_hash_still_gets_the_script(
    api: Api, script: str
) -> None:
    version = static_script(script).version
    pinned = api.client.get(f"/{script}?v={version}")
    assert pinned.headers["cache-control"] == IMMUTABLE_CACHE
    stale = api.client.get(f"/{script}?v=0000000000000000")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == SHORT_CACHE
    assert stale.content == pinned.content


def test_revalidation_with_the_etag_answers_304(api: Api, script: str) -> None:
    etag = api.client.get(f"/{script}").headers["etag"]
    response = api.client.get(f"/{script}", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    changed = api.client.get(f"/{script}", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


def test_gzip_is_served_to_browsers_that_accept_it(api: Api, script: str) -> None:
    raw = api.client.get(f"/{script}", headers={"Accept-Encoding": "identity"})
    zipped = api.client.get(f"/{script}", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == raw.content  # httpx decodes it
    assert int(zipped.headers["content-length"]) <= MAX_GZIPPED[script]


def test_the_scripts_keep_nothing_on_the_visitor_s_device(script: str) -> None:
    for forbidden in ("cookie", "localStorage", "sessionStorage", "indexedDB"):
        assert forbidden not in static_script(script).body.decode()


def test_the_tracker_honours_privacy_signals() -> None:
    source = tracker_script().body.decode()
    assert "globalPrivacyControl" in source
    assert "doNotTrack" in source


def test_the_content_type_names_its_charset_once(api: Api, script: str) -> None:
    response = api.client.get(f"/{script}")
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"


def test_head_answers_the_headers_of_get_without_a_body(api: Api, script: str) -> None:
    for encoding in ("gzip", "identity"):
        get = api.client.get(f"/{script}", headers={"Accept-Encoding": encoding})
        head = api.client.head(f"/{script}", headers={"Accept-Encoding": encoding})
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
    api: Api, script: str, accept: str, gzipped: bool
) -> None:
    response = api.client.get(f"/{script}", headers={"Accept-Encoding": accept})
    assert ("content-encoding" in response.headers) is gzipped
