"""What the pages say: the overview's bar column is labelled and nothing gets no bar;
recent activity is whole rows with scroll depths; the "unique" note starts closed."""

from __future__ import annotations

import re

from privalytics.adapters.http.dashboard.routes import FEED_SIZE
from tests.unit.dashboard.conftest import Browser


def _row(page: str, project_id: str) -> str:
    found = re.search(
        rf'<tr>\s*<td><a href="/dashboard/projects/{project_id}\?.*?</tr>', page, re.S
    )
    assert found, f"no row of {project_id}"
    return found.group(0)


def test_the_overviews_bar_column_is_labelled_and_no_visits_draw_no_bar(
    signed_in: Browser,
) -> None:
    busy, token = signed_in.create_project("Busy")
    idle, _ = signed_in.create_project("Idle")
    for n in range(4):
        signed_in.send(token, action="visit", path="/", visitor_ip=f"192.0.2.{n}")
    signed_in.clock.advance(1)
    page = signed_in.client.get("/dashboard").text
    header = re.search(r'<th class="barcell"[^>]*>([^<]*)</th>', page)
    assert header
    assert header.group(1).strip()
    assert 'aria-hidden="true"></th>' not in page
    busy_row, idle_row = _row(page, busy), _row(page, idle)
    assert '<rect width="100"' in busy_row
    assert "100% of the busiest project" in busy_row
    assert "<svg" not in idle_row
    assert "0% of the busiest project" in idle_row


def test_recent_activity_shows_a_scrolls_depth(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    signed_in.send(token, action="scroll", path="/long", value=75)
    signed_in.send(token, action="visit", path="/long")
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    feed = page[page.index('data-testid="feed"') :]
    assert re.search(r'<span class="tag scroll">scroll 75%</span>', feed)
    assert re.search(r'<span class="tag visit">visit</span>', feed)


def test_recent_activity_lists_whole_rows_up_to_its_size(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    for n in range(FEED_SIZE + 5):
        signed_in.send(token, action="visit", path=f"/p{n}")
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    start = page.index('data-testid="feed"')
    feed = page[start : page.index("</ol>", start)]
    assert feed.count("<li>") == FEED_SIZE
    assert f"/p{FEED_SIZE + 4}<" in feed  # the newest
    assert "/p0<" not in feed


def test_the_unique_note_is_closed_by_default_and_still_on_the_page(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    details = re.search(r'<details class="explain"([^>]*)>', page)
    assert details
    assert "open" not in details.group(1)
    assert "Unique visitors are distinct visitor hashes" in page
