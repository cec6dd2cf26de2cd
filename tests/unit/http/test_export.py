"""GET /api/v1/projects/{id}/export: the raw events as CSV or JSON Lines."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import pytest

from privalytics.adapters.export import COLUMNS
from tests.unit.http.conftest import Api, assert_error, running_api

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def api() -> Iterator[Api]:
    with running_api() as api:
        yield api


def _sent(api: Api) -> tuple[str, list[dict[str, object]]]:
    project_id, token = api.create_project()
    events: list[dict[str, object]] = [
        {"action": "visit", "path": "/a", "referrer": "https://news.ycombinator.com/item"},
        {"action": "click", "path": "/a", "target": '=HYPERLINK("http://evil.example")'},
        {"action": "scroll", "path": "/b", "value": 75, "props": {"plan": "pro, yearly"}},
        {"action": "visit", "path": '/c"quoted",comma'},
    ]
    for event in events:
        response = api.send(event, token, headers={"User-Agent": AGENT})
        assert response.status_code == 202, response.text
        api.clock.advance(1)
    return project_id, events


def test_csv_has_every_event_in_order_with_a_header_and_no_runnable_formula(api: Api) -> None:
    project_id, events = _sent(api)
    response = api.client.get(f"/api/v1/projects/{project_id}/export", headers=api.admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    assert [row["path"] for row in rows] == [event["path"] for event in events]
    assert [row["action"] for row in rows] == ["visit", "click", "scroll", "visit"]
    assert rows[0]["source"] == "Hacker News"
    assert rows[1]["target"] == '\'=HYPERLINK("http://evil.example")'
    assert rows[2]["value"] == "75.0"
    assert json.loads(rows[2]["props"]) == {"plan": "pro, yearly"}
    assert rows[0]["browser"] == "Firefox"
    assert len({row["visitor"] for row in rows}) == 1
    assert all(len(row["visitor"]) == 16 for row in rows)
    assert rows[0]["timestamp"].endswith("Z")


def test_json_lines_hold_the_same_records(api: Api) -> None:
    project_id, events = _sent(api)
    response = api.client.get(
        f"/api/v1/projects/{project_id}/export", params={"format": "jsonl"}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [record["path"] for record in records] == [event["path"] for event in events]
    assert list(records[0]) == list(COLUMNS)
    assert records[1]["target"] == '=HYPERLINK("http://evil.example")'  # JSON is not run
    assert records[2]["props"] == {"plan": "pro, yearly"}
    assert records[2]["value"] == 75.0


def test_the_range_selects_what_is_exported(api: Api) -> None:
    project_id, _ = _sent(api)
    now = api.clock.now()
    response = api.client.get(
        f"/api/v1/projects/{project_id}/export",
        params={"format": "jsonl", "from": (now - timedelta(seconds=2)).isoformat()},
        headers=api.admin,
    )
    assert [json.loads(line)["path"] for line in response.text.splitlines()] == [
        "/b",
        '/c"quoted",comma',
    ]
    api.clock.advance(days=3)
    empty = api.client.get(f"/api/v1/projects/{project_id}/export", headers=api.admin)
    assert empty.text == ",".join(COLUMNS) + "\n"  # the default range, 24 h: the header only


def test_bad_requests_are_precise(api: Api) -> None:
    project_id, _ = _sent(api)
    path = f"/api/v1/projects/{project_id}/export"
    assert_error(api.client.get(path, params={"format": "xml"}, headers=api.admin), 400)
    assert api.client.get(path, params={"format": "xml"}, headers=api.admin).json()["field"] == (
        "format"
    )
    assert_error(api.client.get(path, params={"period": "5y"}, headers=api.admin), 400)
    assert_error(api.client.get(path), 401)
    unknown = "/api/v1/projects/prj_0000000000000000/export"
    assert_error(api.client.get(unknown, headers=api.admin), 404)


def test_the_plausible_zip_holds_the_days_figures_as_a_named_zip(api: Api) -> None:
    project_id, _ = _sent(api)
    day = api.clock.now().date()
    response = api.client.get(
        f"/api/v1/projects/{project_id}/export",
        params={"format": "plausible-zip", "from": f"{day}T00:00:00Z"},
        headers=api.admin,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    stamp = f"{day:%Y%m%d}"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="privalytics-{project_id}-{stamp}-{stamp}-plausible.zip"'
    )
    packed = zipfile.ZipFile(io.BytesIO(response.content))
    names = packed.namelist()
    assert len(names) == 10
    assert f"imported_visitors_{stamp}_{stamp}.csv" in names
    visitors = list(
        csv.DictReader(io.StringIO(packed.read(f"imported_visitors_{stamp}_{stamp}.csv").decode()))
    )
    # One visitor, three page views in one visit: as the stats say.
    stats = api.stats(project_id, **{"from": f"{day}T00:00:00Z"})
    assert [(v["visitors"], v["pageviews"], v["visits"]) for v in visitors] == [
        (str(stats["unique_visitors"]), str(stats["pageviews"]), str(stats["sessions"]))
    ]
    sources = packed.read(f"imported_sources_{stamp}_{stamp}.csv").decode().splitlines()
    assert sources[1].split(",")[1] == "Hacker News"


_DAY = "2025-12-01T00:00:00Z"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "zip"}, "format"),
        ({"format": "plausible-zip", "from": "2026-13-01T00:00:00Z"}, "from"),
        ({"format": "plausible-zip", "from": "2025-12-02T00:00:00Z", "to": _DAY}, "to"),
        ({"format": "plausible-zip", "from": "2001-01-01T00:00:00Z", "to": _DAY}, "to"),
        ({"format": "plausible-zip", "period": "5y"}, "period"),
    ],
)
def test_a_bad_plausible_zip_request_names_its_field(
    api: Api, params: dict[str, str], field: str
) -> None:
    project_id, _ = api.create_project()
    path = f"/api/v1/projects/{project_id}/export"
    body = assert_error(api.client.get(path, params=params, headers=api.admin), 400)
    assert body["field"] == field
    if field == "format":
        assert "plausible-zip" in body["message"]
    unknown = "/api/v1/projects/prj_0000000000000000/export"
    assert_error(
        api.client.get(unknown, params={"format": "plausible-zip"}, headers=api.admin), 404
    )
