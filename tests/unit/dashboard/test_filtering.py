"""Filters on the project page: a row is a link that filters the whole page, the filters
show as chips that remove themselves, live in the address and combine; each panel's
details list; bad filters are a 400 page, never a 500."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.unit.dashboard.conftest import Browser
from tests.unit.dashboard.test_pages import figure, panel_rows


def _visits(browser: Browser, token: str) -> None:
    now = browser.clock.now()
    for minutes, path, ip, referrer in [
        (5, "/", "192.0.2.1", "https://duckduckgo.com/"),
        (50, "/", "192.0.2.2", "https://news.ycombinator.com/item?id=1"),
        (90, "/a", "192.0.2.1", None),
        (100, "/a", "192.0.2.3", "https://duckduckgo.com/"),
        (101, "/b", "192.0.2.3", None),
    ]:
        browser.send(
            token,
            action="visit",
            path=path,
            referrer=referrer,
            visitor_ip=ip,
            timestamp=(now - timedelta(minutes=minutes)).isoformat(),
        )


def _links(page: str, dimension: str) -> dict[str, str]:
    table = re.search(
        rf'<table class="table breakdown" data-dimension="{dimension}">(.*?)</table>', page, re.S
    )
    assert table, f"no {dimension} table"
    return {
        html.unescape(label): html.unescape(href)
        for href, label in re.findall(
            r'<a href="([^"]+)" title="[^"]*" data-filter-row>([^<]*)</a>', table.group(1)
        )
    }


def _stats(browser: Browser, project_id: str, filters: list[str]) -> dict[str, Any]:
    params = [("period", "24h"), *(("filter", f) for f in filters)]
    response = browser.client.get(
        f"/api/v1/projects/{project_id}/stats", params=params, headers=browser.admin
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_row_filters_the_whole_page_and_its_chip_removes_the_filter(
    signed_in: Browser,
) -> None:
    project_id, token = signed_in.create_project()
    _visits(signed_in, token)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?period=24h").text
    href = _links(page, "page")["/a"]
    assert dict(parse_qsl(urlsplit(href).query)) == {"period": "24h", "filter": "page==/a"}

    filtered = signed_in.client.get(href).text
    api = _stats(signed_in, project_id, ["page==/a"])
    assert figure(filtered, "pageviews") == f"{api['pageviews']:,}" == "2"
    assert figure(filtered, "uniques") == f"{api['unique_visitors']:,}" == "2"
    assert figure(filtered, "sessions") == f"{api['sessions']:,}"
    # Every panel is filtered: only /a's page views are counted.
    assert panel_rows(filtered, "page") == [("/a", 2)]
    chips = re.findall(r'<a class="chip" href="([^"]+)"[^>]*>([^<]*) <', filtered)
    assert [(label) for _, label in chips] == ["Page is /a"]
    unfiltered = dict(parse_qsl(urlsplit(html.unescape(chips[0][0])).query))
    assert unfiltered == {"period": "24h"}


def test_filters_combine_and_a_view_can_be_bookmarked(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    _visits(signed_in, token)
    first = signed_in.client.get(f"/dashboard/projects/{project_id}?period=24h").text
    with_page = signed_in.client.get(_links(first, "page")["/"]).text
    with_both = signed_in.client.get(_links(with_page, "browser")["(unknown)"]).text
    api = _stats(signed_in, project_id, ["page==/", "browser=="])
    assert figure(with_both, "pageviews") == f"{api['pageviews']:,}"
    assert len(re.findall(r'class="chip"', with_both)) == 2
    # The same address, asked again, is the same view.
    address = (
        f"/dashboard/projects/{project_id}?period=24h&filter=page%3D%3D%2F&filter=browser%3D%3D"
    )
    again = signed_in.client.get(address).text
    assert figure(again, "pageviews") == figure(with_both, "pageviews")


def test_the_range_links_keep_the_filters_and_tabs(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    page = signed_in.client.get(
        f"/dashboard/projects/{project_id}?period=24h&filter=page~blog&sources=utm_campaign"
    ).text
    ranges = re.search(r'<nav class="ranges".*?</nav>', page, re.S)
    assert ranges
    for href in re.findall(r'<a href="([^"]+)"', ranges.group(0)):
        query = parse_qsl(urlsplit(html.unescape(href)).query)
        assert ("filter", "page~blog") in query
        assert ("sources", "utm_campaign") in query
    assert '<input type="hidden" name="filter" value="page~blog">' in page


def test_a_tab_shows_another_dimension_of_its_panel(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    _visits(signed_in, token)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?pages=entry_page").text
    assert 'data-dimension="entry_page"' in page
    assert 'data-dimension="page"' not in page
    # A stale or made-up tab name shows the first tab.
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?pages=<b>").text
    assert 'data-dimension="page"' in page


def test_the_details_list_has_every_figure_of_every_row(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    _visits(signed_in, token)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}/breakdown/page?period=24h").text
    rows = signed_in.client.get(
        f"/api/v1/projects/{project_id}/breakdown/page",
        params={"period": "24h", "limit": "100"},
        headers=signed_in.admin,
    ).json()["results"]
    assert panel_rows(page, "page") == [(r["value"], r["visitors"]) for r in rows]
    for r in rows:
        assert f'{r["sessions"]:,}</td><td class="num">{r["pageviews"]:,}</td>' in page


@pytest.mark.parametrize(
    "query",
    [
        "filter=nonsense",
        "filter=country%3D%3D" + "x" * 3000,
        "filter=page%3D%3D%01",
        "&".join(f"filter=page~{n}" for n in range(11)),
        "filter=colour%3D%3Dred",
    ],
)
def test_a_bad_filter_is_a_400_page(signed_in: Browser, query: str) -> None:
    project_id, _ = signed_in.create_project()
    for path in (
        f"/dashboard/projects/{project_id}",
        f"/dashboard/projects/{project_id}/breakdown/page",
    ):
        response = signed_in.client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert "text/html" in response.headers["content-type"]


def test_an_unknown_dimension_has_no_details_page(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    response = signed_in.client.get(f"/dashboard/projects/{project_id}/breakdown/colour")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize("filters", [[], ["page==/"], ["source!=DuckDuckGo"]])
def test_the_chart_draws_the_previous_period_as_the_api_counts_it(
    signed_in: Browser, filters: list[str]
) -> None:
    project_id, token = signed_in.create_project()
    _visits(signed_in, token)
    signed_in.clock.advance(hours=24)
    _visits(signed_in, token)
    params = [("period", "24h"), *(("filter", f) for f in filters)]
    page = signed_in.client.get(f"/dashboard/projects/{project_id}", params=params).text
    line = re.search(r'<polyline class="line previous" points="([^"]*)"', page)
    assert line, "the previous period's line is drawn"
    now = signed_in.clock.now()
    earlier = signed_in.client.get(
        f"/api/v1/projects/{project_id}/stats",
        params=[
            ("from", (now - timedelta(hours=48)).isoformat()),
            ("to", (now - timedelta(hours=24)).isoformat()),
            *(("filter", f) for f in filters),
        ],
        headers=signed_in.admin,
    ).json()
    current = _stats(signed_in, project_id, filters)
    points = line.group(1).split()
    assert len(points) == min(len(earlier["series"]), len(current["series"]))
    # The heights: the previous period's unique visitors, step by step, on the same scale.
    heights = [float(p.split(",")[1]) for p in points]
    uniques = [b["unique_visitors"] for b in earlier["series"]][: len(points)]
    assert sorted(range(len(points)), key=lambda i: (heights[i], i)) == sorted(
        range(len(points)), key=lambda i: (-uniques[i], i)
    )


def test_with_as_many_filters_as_a_page_takes_rows_are_no_links(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    _visits(signed_in, token)
    many = "&".join(f"filter=page!%3D/nothing-{n}" for n in range(10))
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?period=24h&{many}")
    assert page.status_code == 200
    # No row link leads to an eleventh filter (a 400); the rows are still shown.
    assert "data-filter-row" not in page.text
    assert 'class="unlinked"' in page.text
    # With nine, a row adds the tenth.
    nine = "&".join(f"filter=page!%3D/nothing-{n}" for n in range(9))
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?period=24h&{nine}")
    for href in _links(page.text, "page").values():
        assert signed_in.client.get(href).status_code == 200


def test_a_long_unknown_dimension_is_not_repeated_on_its_404_page(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    text = "<script>" + "x" * 3000
    response = signed_in.client.get(f"/dashboard/projects/{project_id}/breakdown/{text}")
    assert response.status_code == 404
    assert "x" * 100 not in response.text
