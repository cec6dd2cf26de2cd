"""The project page's export links download the range's raw events, signed in only; a
bad format is a 400 page, a stranger is sent to the login page."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta

from tests.unit.dashboard.conftest import Browser

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"


def _link(page: str, testid: str) -> str:
    found = re.search(f'data-testid="{testid}" download href="([^"]+)"', page)
    assert found, f"no {testid} link"
    return found.group(1).replace("&amp;", "&")


def test_the_export_links_download_the_ranges_events(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    now = signed_in.clock.now()
    # Before the clock's instant: a range ends there (excluded).
    for minutes, path in ((30, "/"), (20, "/pricing")):
        moment = (now - timedelta(minutes=minutes)).isoformat()
        signed_in.send(token, action="visit", path=path, user_agent=AGENT, timestamp=moment)
    moment = (now - timedelta(minutes=10)).isoformat()
    signed_in.send(
        token, action="click", path="/pricing", target="=1+1", user_agent=AGENT, timestamp=moment
    )
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?period=7d").text

    csv_link = _link(page, "export-csv")
    assert csv_link == f"/dashboard/projects/{project_id}/export?format=csv&period=7d"
    answer = signed_in.client.get(csv_link)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith(
        f'attachment; filename="privalytics-{project_id}-'
    )
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    # Oldest first; a cell a spreadsheet would run as a formula is quoted.
    assert [(row["action"], row["path"]) for row in rows] == [
        ("visit", "/"),
        ("visit", "/pricing"),
        ("click", "/pricing"),
    ]
    assert rows[2]["target"] == "'=1+1"
    assert {row["browser"] for row in rows} == {"Firefox"}

    lines = signed_in.client.get(_link(page, "export-jsonl")).text.splitlines()
    # JSON Lines keep every value as stored.
    assert [json.loads(line)["target"] for line in lines] == [None, None, "=1+1"]

    # A custom range's link carries its days.
    custom = "period=custom&from=2020-01-01&to=2020-01-31"
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?{custom}").text
    old = signed_in.client.get(_link(page, "export-csv"))
    assert old.status_code == 200
    assert list(csv.DictReader(io.StringIO(old.text))) == []


def test_a_bad_format_or_project_is_refused_and_strangers_sign_in(
    signed_in: Browser, browser: Browser
) -> None:
    project_id, _ = signed_in.create_project()
    base = f"/dashboard/projects/{project_id}/export"
    assert signed_in.client.get(f"{base}?format=xlsx").status_code == 400
    assert signed_in.client.get(f"{base}?period=century").status_code == 400
    assert signed_in.client.get("/dashboard/projects/0123456789abcdef/export").status_code == 404
    signed_in.client.cookies.clear()
    stranger = signed_in.client.get(base, follow_redirects=False)
    assert stranger.status_code == 303
    assert stranger.headers["location"].startswith("/dashboard/login?next=")


def test_the_plausible_link_downloads_the_ranges_days_as_a_zip(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    moment = (signed_in.clock.now() - timedelta(minutes=30)).isoformat()
    signed_in.send(token, action="visit", path="/", user_agent=AGENT, timestamp=moment)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?period=7d").text
    link = _link(page, "export-plausible-zip")
    assert link == f"/dashboard/projects/{project_id}/export?format=plausible-zip&period=7d"
    answer = signed_in.client.get(link)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    packed = zipfile.ZipFile(io.BytesIO(answer.content))
    (pages,) = [name for name in packed.namelist() if name.startswith("imported_pages_")]
    lines = packed.read(pages).decode().splitlines()
    assert [line.split(",")[2] for line in lines[1:]] == ["/"]
