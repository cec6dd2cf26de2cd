"""The pages: numbers equal the API's, strings are text, projects are managed, the feed
is live."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.exceptions import WebSocketDisconnect

from privalytics.adapters.http.dashboard import DashboardOptions, live
from privalytics.adapters.memory import (
    InMemoryEventStore,
    InMemoryRateLimiter,
    InMemorySaltStore,
    InMemoryTokenStore,
    InMemoryUserStore,
)
from privalytics.adapters.words import duration_text, missing_label
from privalytics.domain.models import Action, Bucket, PageStats, Ranked, TimeRange
from privalytics.domain.reporting import MAX_SPAN
from privalytics.domain.services import build_services
from privalytics.testing import ManualClock, PlaintextSecretHasher, lookups
from tests.unit.dashboard.conftest import Browser, open_dashboard

XSS = "/<script>alert(1)</script>"
# A bar list's name (inside the bar's track), then its number.
NUMBER = '</span></span><span class="num">'


def figure(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', page)
    assert found, f"no {testid} on the page"
    return found.group(1)


_PANEL_ROW = re.compile(
    r'data-filter-row>(?:<span class="flag" aria-hidden="true">[^<]*</span> )?([^<]*)</a>'
    r'</td><td class="num">([\d,]+)</td>'
)


def panel_rows(page: str, dimension: str) -> list[tuple[str, int]]:
    """The rows (label, visitors) of the panel table showing ``dimension``."""
    found = re.search(
        rf'<table class="table breakdown" data-dimension="{dimension}">(.*?)</table>', page, re.S
    )
    if found is None:
        return []
    return [
        (html.unescape(label), int(count.replace(",", "")))
        for label, count in _PANEL_ROW.findall(found.group(1))
    ]


def _traffic(browser: Browser, token: str) -> None:
    now = browser.clock.now()
    for minutes, path, ip in [
        (5, "/", "192.0.2.1"),
        (50, "/", "192.0.2.2"),
        (90, "/a", "192.0.2.1"),
    ]:
        browser.send(
            token,
            action="visit",
            path=path,
            referrer="https://duckduckgo.com/",
            visitor_ip=ip,
            timestamp=(now - timedelta(minutes=minutes)).isoformat(),
        )
    browser.send(token, action="scroll", path="/", value=50)
    browser.send(token, action="click", path="/", target="Sign up")
    browser.send(token, action="download", path="/", target="/guide.pdf")
    browser.send(token, action="share", path="/", target="mastodon")
    # Yesterday's visit: the previous period.
    browser.send(
        token,
        action="visit",
        path="/",
        visitor_ip="192.0.2.9",
        timestamp=(now - timedelta(hours=23, minutes=59)).isoformat(),
    )


@pytest.mark.parametrize(
    ("page_query", "api_query"),
    [
        ("range=24h", {"period": "24h"}),
        ("range=7d", {"period": "7d"}),
        ("range=30d", {"period": "30d"}),
        (
            "range=custom&from=2025-12-30&to=2026-01-01",
            {"from": "2025-12-30T00:00:00+00:00", "to": "2026-01-02T00:00:00+00:00"},
        ),
    ],
)
def test_every_number_on_the_page_equals_the_apis(
    signed_in: Browser, page_query: str, api_query: dict[str, str]
) -> None:
    project_id, token = signed_in.create_project()
    _traffic(signed_in, token)
    signed_in.clock.advance(hours=2)
    page = signed_in.client.get(f"/dashboard/projects/{project_id}?{page_query}").text
    api: dict[str, Any] = signed_in.client.get(
        f"/api/v1/projects/{project_id}/stats", params=api_query, headers=signed_in.admin
    ).json()
    assert figure(page, "pageviews") == f"{api['pageviews']:,}" == f"{api['visits']:,}"
    assert figure(page, "uniques") == f"{api['unique_visitors']:,}"
    assert figure(page, "sessions") == f"{api['sessions']:,}"
    per = api["views_per_session"]
    assert figure(page, "views-per-visit") == ("\u2013" if per is None else f"{per:.2f}")
    rate = api["bounce_rate"]
    assert figure(page, "bounce-rate") == ("\u2013" if rate is None else f"{rate}%")
    assert figure(page, "visit-duration") == duration_text(api["visit_duration"])
    assert figure(page, "current-visitors") == (
        f"{api['current_visitors']:,} current visitor"
        + ("" if api["current_visitors"] == 1 else "s")
    )
    assert f"vs. {api['previous']['unique_visitors']:,} in the previous period" in page
    assert f"vs. {api['previous']['sessions']:,} in the previous period" in page
    scroll = api["average_scroll_depth"]
    assert figure(page, "scroll") == ("\u2013" if scroll is None else f"{scroll:.0f}%")
    for dimension in ("source", "page", "country", "browser"):
        rows = signed_in.client.get(
            f"/api/v1/projects/{project_id}/breakdown/{dimension}",
            params={**api_query, "limit": "9"},
            headers=signed_in.admin,
        ).json()["results"]
        shown = panel_rows(page, dimension)
        assert shown or dimension != "page", "the pages panel shows the visited pages"
        assert shown == [
            (missing_label(dimension) if r["value"] is None else r["value"], r["visitors"])
            for r in rows
        ]
    for action, count in api["actions"].items():
        assert f'title="{action}">{action}{NUMBER}{count:,}<' in page
    for rows in api["top_targets"].values():
        for row in rows:
            assert f'title="{row["name"]}">{row["name"]}{NUMBER}{row["count"]:,}<' in page
    dots = re.findall(r"<title>[^<]*: (\d+) pageviews, (\d+) unique visitors</title>", page)
    assert [(int(v), int(u)) for v, u in dots] == [
        (b["visits"], b["unique_visitors"]) for b in api["series"]
    ]


def test_the_overview_adds_up_the_projects(signed_in: Browser) -> None:
    first, token = signed_in.create_project("One")
    second, other = signed_in.create_project("Two")
    _traffic(signed_in, token)
    signed_in.send(other, action="visit", path="/")
    page = signed_in.client.get("/dashboard?range=7d").text
    visits = [
        signed_in.client.get(
            f"/api/v1/projects/{p}/stats", params={"period": "7d"}, headers=signed_in.admin
        ).json()["visits"]
        for p in (first, second)
    ]
    assert figure(page, f"visits-{first}") == str(visits[0])
    assert figure(page, f"visits-{second}") == str(visits[1])
    assert figure(page, "total-visits") == str(sum(visits))


class CountingEventStore(InMemoryEventStore):
    """The memory store, counting its reads by name."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    async def count_by_action(self, project_id: str, span: TimeRange) -> dict[Action, int]:
        self.reads["count_by_action"] += 1
        return await super().count_by_action(project_id, span)

    async def unique_visitors(self, project_id: str, span: TimeRange) -> int:
        self.reads["unique_visitors"] += 1
        return await super().unique_visitors(project_id, span)

    async def top_pages(self, project_id: str, span: TimeRange, limit: int) -> list[PageStats]:
        self.reads["top_pages"] += 1
        return await super().top_pages(project_id, span, limit)

    async def top_referrers(self, project_id: str, span: TimeRange, limit: int) -> list[Ranked]:
        self.reads["top_referrers"] += 1
        return await super().top_referrers(project_id, span, limit)

    async def top_targets(
        self, project_id: str, span: TimeRange, action: Action, limit: int
    ) -> list[Ranked]:
        self.reads["top_targets"] += 1
        return await super().top_targets(project_id, span, action, limit)

    async def average_value(self, project_id: str, span: TimeRange, action: Action) -> float | None:
        self.reads["average_value"] += 1
        return await super().average_value(project_id, span, action)

    async def series(
        self, project_id: str, span: TimeRange, origin: datetime, step: timedelta
    ) -> list[Bucket]:
        self.reads["series"] += 1
        return await super().series(project_id, span, origin, step)


def test_the_overview_reads_four_figures_per_project(clock: ManualClock) -> None:
    """Visits and unique visitors, now and in the previous period: what each row shows.
    A full stats per project read about a dozen things and threw most of them away."""
    events = CountingEventStore()
    services = build_services(
        **lookups()._asdict(),
        events=events,
        tokens=InMemoryTokenStore(),
        salts=InMemorySaltStore(),
        limiter=InMemoryRateLimiter(clock),
        hasher=PlaintextSecretHasher(),
        clock=clock,
        users=InMemoryUserStore(),
    )
    for browser in open_dashboard(clock, services=services):
        assert browser.sign_in().status_code == 303
        tokens = [browser.create_project(name)[1] for name in ("One", "Two", "Three")]
        for token in tokens:
            _traffic(browser, token)
        events.reads.clear()
        page = browser.client.get("/dashboard?period=7d")
        assert page.status_code == 200
        assert events.reads == Counter(count_by_action=3 * 2, unique_visitors=3 * 2)


def test_attacker_controlled_strings_are_rendered_as_text(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project('<img src=x onerror="alert(2)">')
    signed_in.send(
        token,
        action="visit",
        path=XSS,
        referrer="https://evil.example/<script>alert(3)</script>",
    )
    signed_in.send(token, action="click", path="/", target="<b onmouseover=alert(4)>x</b>")
    for path in (
        f"/dashboard/projects/{project_id}",
        "/dashboard",
        f"/dashboard/projects/{project_id}/settings",
    ):
        page = signed_in.client.get(path).text
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "<b onmouseover" not in page
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    assert "/&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_unique_visitors_explanation_counts_salt_periods(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    week = signed_in.client.get(f"/dashboard/projects/{project_id}?range=7d").text
    assert "spans 8 salt periods" in figure(week, "unique-explanation")
    assert "counted again, up to 8 times" in week
    day = signed_in.client.get(
        f"/dashboard/projects/{project_id}?range=custom&from=2026-01-01&to=2026-01-01"
    ).text
    assert "within one salt period" in day


@pytest.mark.parametrize(
    "query",
    [
        "range=1y",
        "range=custom",
        "range=custom&from=2026-01-02&to=2026-01-01",
        "range=custom&from=yesterday&to=2026-01-01",
        f"range=custom&from=2000-01-01&to={date(2000, 1, 1) + MAX_SPAN}",
        "range=custom&from=0001-01-01&to=0001-01-02",
        "range=custom&from=9999-12-30&to=9999-12-31",
    ],
)
def test_a_bad_range_is_a_400_page_naming_the_problem(signed_in: Browser, query: str) -> None:
    project_id, _ = signed_in.create_project()
    response = signed_in.client.get(f"/dashboard/projects/{project_id}?{query}")
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]


def test_an_unknown_project_is_a_404_page(signed_in: Browser) -> None:
    response = signed_in.client.get("/dashboard/projects/nope")
    assert response.status_code == 404
    assert "no project" in response.text


def test_creating_a_project_shows_its_token_once_with_the_snippet(signed_in: Browser) -> None:
    response = signed_in.form(
        "/dashboard",
        "/dashboard/projects",
        {"name": "Shop", "rate_limit": "50/second", "allowed_origins": "https://shop.example"},
    )
    response = signed_in.shown(response)
    token = figure(response.text, "token")
    assert token.startswith("pvt_")
    assert f'data-token="{token}"' in response.text.replace("&#34;", '"').replace("&quot;", '"')
    assert 'data-copy="token"' in response.text
    assert response.headers["cache-control"] == "no-store"
    projects = signed_in.client.get("/api/v1/projects", headers=signed_in.admin).json()
    assert projects["projects"][0]["rate_limit"] == "50/second"
    assert projects["projects"][0]["allowed_origins"] == ["https://shop.example"]
    assert token not in signed_in.client.get("/dashboard").text


def test_reloading_a_new_tokens_page_repeats_nothing(signed_in: Browser) -> None:
    created = signed_in.form("/dashboard", "/dashboard/projects", {"name": "Once"})
    assert created.status_code == 303
    token_url = created.headers["location"]
    token = figure(signed_in.client.get(token_url).text, "token")
    again = signed_in.client.get(token_url, follow_redirects=False)
    assert again.status_code == 303
    assert token not in again.text
    settings = signed_in.client.get(again.headers["location"]).text
    assert "shown only once" in settings
    assert token not in settings
    projects = signed_in.client.get("/api/v1/projects", headers=signed_in.admin).json()
    assert [p["name"] for p in projects["projects"]] == ["Once"]
    project_id = projects["projects"][0]["id"]
    settings_url = f"/dashboard/projects/{project_id}/settings"
    rotated = signed_in.form(
        settings_url, f"/dashboard/projects/{project_id}/tokens", {"revoke_others": "1"}
    )
    kept = figure(signed_in.shown(rotated).text, "token")
    assert (
        signed_in.client.get(rotated.headers["location"], follow_redirects=False).status_code == 303
    )
    signed_in.send(kept, action="visit", path="/")  # still the project's token


def test_a_bad_project_form_says_why_and_creates_nothing(signed_in: Browser) -> None:
    response = signed_in.form(
        "/dashboard", "/dashboard/projects", {"name": "Shop", "rate_limit": "lots"}
    )
    assert response.status_code == 303
    page = signed_in.client.get("/dashboard").text
    assert "The project was not created: rate_limit:" in page
    assert signed_in.client.get("/api/v1/projects", headers=signed_in.admin).json() == {
        "projects": []
    }


def test_settings_are_edited_with_a_success_message(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    settings = f"/dashboard/projects/{project_id}/settings"
    response = signed_in.form(
        settings,
        settings,
        {"name": "Renamed", "rate_limit": "10/minute", "allowed_origins": "https://a.example"},
    )
    assert response.status_code == 303
    page = signed_in.client.get(settings).text
    assert "Saved" in page
    project = signed_in.client.get(f"/api/v1/projects/{project_id}", headers=signed_in.admin)
    assert project.json()["name"] == "Renamed"
    assert project.json()["rate_limit"] == "10/minute"
    bad = signed_in.form(settings, settings, {"name": "", "rate_limit": "10/minute"})
    assert bad.status_code == 303
    assert "Nothing was changed: name:" in signed_in.client.get(settings).text


def test_an_empty_rate_limit_is_refused_not_saved(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project(rate_limit="10/minute")
    settings = f"/dashboard/projects/{project_id}/settings"
    response = signed_in.form(settings, settings, {"name": "Renamed", "rate_limit": ""})
    assert response.status_code == 303
    page = signed_in.client.get(settings).text
    assert "Nothing was changed: rate_limit: the rate limit is required" in page
    assert "Saved" not in page
    project = signed_in.client.get(f"/api/v1/projects/{project_id}", headers=signed_in.admin)
    assert project.json()["name"] == "Blog"
    assert project.json()["rate_limit"] == "10/minute"


def test_tokens_are_rotated_and_revoked(signed_in: Browser) -> None:
    project_id, first = signed_in.create_project()
    settings = f"/dashboard/projects/{project_id}/settings"
    rotated = signed_in.shown(
        signed_in.form(settings, f"/dashboard/projects/{project_id}/tokens", {})
    )
    second = figure(rotated.text, "token")
    signed_in.send(second, action="visit", path="/")
    first_id = first.split("_")[1]
    revoked = signed_in.form(
        settings, f"/dashboard/projects/{project_id}/tokens/{first_id}/revoke", {}
    )
    assert revoked.status_code == 303
    assert f"Revoked token {first_id}" in signed_in.client.get(settings).text
    response = signed_in.client.post(
        "/api/v1/events",
        json={"action": "visit", "path": "/"},
        headers={"Authorization": f"Bearer {first}"},
    )
    assert response.status_code == 401
    only = signed_in.shown(
        signed_in.form(settings, f"/dashboard/projects/{project_id}/tokens", {"revoke_others": "1"})
    )
    third = figure(only.text, "token")
    tokens = signed_in.client.get(
        f"/api/v1/projects/{project_id}/tokens", headers=signed_in.admin
    ).json()["tokens"]
    assert [t["id"] for t in tokens if t["revoked_at"] is None] == [third.split("_")[1]]


def test_deleting_needs_the_projects_name(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project("Keep me")
    settings = f"/dashboard/projects/{project_id}/settings"
    refused = signed_in.form(
        settings, f"/dashboard/projects/{project_id}/delete", {"confirm": "yes"}
    )
    assert refused.status_code == 303
    assert "Not deleted" in signed_in.client.get(settings).text
    done = signed_in.form(
        settings, f"/dashboard/projects/{project_id}/delete", {"confirm": "Keep me"}
    )
    assert done.headers["location"] == "/dashboard"
    assert "Deleted project Keep me" in signed_in.client.get("/dashboard").text
    assert signed_in.client.get(f"/dashboard/projects/{project_id}").status_code == 404


def test_the_project_selector_leads_to_the_project(signed_in: Browser) -> None:
    project_id, _ = signed_in.create_project()
    response = signed_in.client.get(f"/dashboard/go?project={project_id}", follow_redirects=False)
    assert response.headers["location"] == f"/dashboard/projects/{project_id}"
    home = signed_in.client.get("/dashboard/go?project=", follow_redirects=False)
    assert home.headers["location"] == "/dashboard"


def test_recent_activity_lists_the_last_events(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    signed_in.send(token, action="visit", path="/first")
    signed_in.send(token, action="click", path="/second", target="Buy")
    page = signed_in.client.get(f"/dashboard/projects/{project_id}").text
    feed = page[page.index('data-testid="feed"') :]
    assert feed.index("/second") < feed.index("/first")


def test_new_events_reach_the_live_feed(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    headers = {"origin": "http://testserver.local"}
    with signed_in.client.websocket_connect(
        f"/dashboard/projects/{project_id}/live", headers=headers
    ) as socket:
        signed_in.send(token, action="visit", path=XSS, visitor_ip="192.0.2.44", user_agent="UA/9")
        message = socket.receive_text(timeout=5)
    events = msgspec.json.decode(message)
    assert [(e["action"], e["path"]) for e in events] == [("visit", XSS)]
    assert "192.0.2.44" not in message
    assert "UA/9" not in message
    assert "visitor" not in message


@pytest.mark.parametrize("signed_out", [False, True])
def test_the_live_feed_refuses_other_sites_and_signed_out_visitors(
    signed_in: Browser, signed_out: bool
) -> None:
    project_id, _ = signed_in.create_project()
    origin = "http://testserver.local" if signed_out else "https://evil.example"
    if signed_out:
        signed_in.client.cookies.clear()
    with (
        pytest.raises(WebSocketDisconnect) as caught,
        signed_in.client.websocket_connect(
            f"/dashboard/projects/{project_id}/live", headers={"origin": origin}
        ) as socket,
    ):
        socket.receive_text(timeout=2)
    assert caught.value.code == 1008


def test_a_live_feed_opened_before_signing_out_gets_no_more_events(signed_in: Browser) -> None:
    project_id, token = signed_in.create_project()
    with signed_in.client.websocket_connect(
        f"/dashboard/projects/{project_id}/live", headers={"origin": "http://testserver.local"}
    ) as socket:
        signed_out = signed_in.form("/dashboard", "/dashboard/logout", {})
        assert signed_out.status_code == 303
        signed_in.send(token, action="visit", path="/after-sign-out")
        # An event reaching the feed would be returned here instead of the close.
        with pytest.raises(WebSocketDisconnect) as caught:
            socket.receive_text(timeout=5)
    assert caught.value.code == 1008


def test_an_idle_live_feed_closes_when_its_password_changes(
    signed_in: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "RECHECK_SECONDS", 0.05)
    project_id, _ = signed_in.create_project()
    accounts = signed_in.services.accounts
    assert accounts is not None
    with signed_in.client.websocket_connect(
        f"/dashboard/projects/{project_id}/live", headers={"origin": "http://testserver.local"}
    ) as socket:
        signed_in.client.blocking_portal.call(accounts.set_password, "alice", "a new password")
        with pytest.raises(WebSocketDisconnect) as caught:
            socket.receive_text(timeout=5)
    assert caught.value.code == 1008


def _snippet_src(page: str) -> str:
    found = re.search(r"src=(?:&#34;|&quot;|\")([^&\"]+)/tracker\.js", page)
    assert found, "no snippet on the page"
    return found.group(1)


@pytest.mark.parametrize(
    ("peer", "proto", "expected"),
    [
        ("10.0.0.2", "https", "https://testserver.local"),  # a trusted proxy ended TLS
        ("10.0.0.2", "http", "http://testserver.local"),
        ("203.0.113.5", "https", "http://testserver.local"),  # an untrusted header
    ],
)
def test_the_snippet_uses_https_behind_a_trusted_proxy_that_ended_tls(
    clock: ManualClock, peer: str, proto: str, expected: str
) -> None:
    for browser in open_dashboard(clock, trusted_proxies=("10.0.0.0/8",), peer=peer):
        assert browser.sign_in().status_code == 303
        created = browser.form("/dashboard", "/dashboard/projects", {"name": "Shop"})
        assert created.status_code == 303
        # Only the token's page carries the header: Secure cookies would not come back
        # to the TestClient over http.
        page = browser.client.get(created.headers["location"], headers={"x-forwarded-proto": proto})
        assert page.status_code == 200
        assert _snippet_src(page.text) == expected


def test_the_snippet_uses_the_public_url_whatever_the_host(clock: ManualClock) -> None:
    options = DashboardOptions(public_url="https://stats.example/pv")
    for browser in open_dashboard(clock, options):
        assert browser.sign_in().status_code == 303
        created = browser.form("/dashboard", "/dashboard/projects", {"name": "Shop"})
        page = browser.shown(created).text
        assert _snippet_src(page) == "https://stats.example/pv"
        assert "testserver" not in _snippet_src(page)


def test_revoking_the_last_active_token_needs_a_confirmation_and_warns(
    signed_in: Browser,
) -> None:
    project_id, token = signed_in.create_project()
    token_id = token.split("_")[1]
    settings = f"/dashboard/projects/{project_id}/settings"
    revoke = f"/dashboard/projects/{project_id}/tokens/{token_id}/revoke"
    assert 'name="confirm_last"' in signed_in.client.get(settings).text
    refused = signed_in.form(settings, revoke, {})
    assert refused.status_code == 303
    assert "Not revoked" in signed_in.client.get(settings).text
    signed_in.send(token, action="visit", path="/")  # still works
    confirmed = signed_in.form(settings, revoke, {"confirm_last": "1"})
    assert confirmed.status_code == 303
    page = signed_in.client.get(settings).text
    assert f"Revoked token {token_id}" in page
    assert 'class="flash warning"' in page
    assert "no active token now" in page
