"""Bad input to the dashboard is a precise 4xx or a message, never a 500; the API's new
stats fields have their documented shape."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.unit.dashboard.conftest import Browser, csrf_of

_FORM_OUTCOMES = {
    "create accepted",
    "create refused",
    "settings saved",
    "settings refused",
    "deleted",
    "delete refused",
}


def test_forms_never_answer_500(signed_in: Browser) -> None:
    """Each example creates a project of its own, then changes and deletes it: every branch
    of the three forms is met (checked at the end), and none answers a 500."""
    reached: Counter[str] = Counter()

    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        name=strategies.form_names,
        rate=strategies.form_rates,
        origins=strategies.form_origins,
        confirm=st.sampled_from(["the name", "the name, padded", "drawn"]),
        drawn=strategies.form_texts,
    )
    # Every branch at least once, whatever is drawn: a form as a user fills it, and one
    # refused everywhere.
    @example(name="Blog", rate="10/minute", origins="", confirm="the name", drawn="")
    @example(name="", rate="often", origins="", confirm="drawn", drawn="not the name")
    def example_form(name: str, rate: str, origins: str, confirm: str, drawn: str) -> None:
        client = signed_in.client
        token = csrf_of(client.get("/dashboard").text)
        fields = {"name": name, "rate_limit": rate, "allowed_origins": origins}
        created = client.post(
            "/dashboard/projects", data={**fields, "_csrf_token": token}, follow_redirects=False
        )
        assert created.status_code == 303, created.text
        where = created.headers["location"]
        reached["create accepted" if where.endswith("/token") else "create refused"] += 1
        assert where.endswith(("/token", "#new-project")), where

        project_id, _ = signed_in.create_project("Site")
        base = f"/dashboard/projects/{project_id}"
        saved = client.post(
            f"{base}/settings", data={**fields, "_csrf_token": token}, follow_redirects=False
        )
        assert saved.status_code == 303, saved.text
        page = client.get(saved.headers["location"])
        assert page.status_code == 200, page.text
        outcome = "settings saved" if "Saved:" in page.text else "settings refused"
        assert outcome == "settings saved" or "Nothing was changed" in page.text
        reached[outcome] += 1

        project = client.blocking_portal.call(signed_in.services.admin.get_project, project_id)
        typed = {"the name": project.name, "the name, padded": f"  {project.name}\t"}
        deleting = client.post(
            f"{base}/delete",
            data={"confirm": typed.get(confirm, drawn), "_csrf_token": token},
            follow_redirects=False,
        )
        assert deleting.status_code == 303, deleting.text
        gone = client.get(f"{base}/settings").status_code == 404
        assert gone == (deleting.headers["location"] == "/dashboard")
        reached["deleted" if gone else "delete refused"] += 1
        event("deleted" if gone else "delete refused")

    example_form()
    assert set(reached) == _FORM_OUTCOMES, reached


def test_odd_requests_get_4xx(signed_in: Browser) -> None:
    token = csrf_of(signed_in.client.get("/dashboard").text)
    headers = {"x-csrf-token": token}
    for body in ({"content": b"\xff\xfe"}, {"json": {"name": "x"}}):
        refused = signed_in.client.post(
            "/dashboard/projects", headers=headers, follow_redirects=False, **body
        )
        # Not a form with a name: nothing is created, and the page says why.
        assert refused.status_code == 303
    assert signed_in.client.get("/api/v1/projects", headers=signed_in.admin).json() == {
        "projects": []
    }
    cases = [
        signed_in.client.get("/dashboard?range=custom&from=2026-02-30&to=2026-03-01"),
        signed_in.client.get("/dashboard/projects/%00"),
        signed_in.client.post("/dashboard/projects/nope/tokens", headers=headers),
        signed_in.client.post("/dashboard/projects/nope/tokens/nope/revoke", headers=headers),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.request.url, response.text)


def test_the_apis_new_stats_fields(signed_in: Browser) -> None:
    response = signed_in.client.post(
        "/api/v1/projects", json={"name": "API"}, headers=signed_in.admin
    )
    project_id, token = response.json()["project"]["id"], response.json()["token"]
    signed_in.send(token, action="visit", path="/", referrer="https://a.example/x")
    signed_in.send(token, action="download", path="/", target="/f.pdf")
    signed_in.send(token, action="scroll", path="/", value=30)
    signed_in.clock.advance(1)  # ranges end at now, excluded
    body = signed_in.client.get(
        f"/api/v1/projects/{project_id}/stats", params={"period": "7d"}, headers=signed_in.admin
    ).json()
    assert body["top_referrers"] == [{"name": "https://a.example/x", "count": 1}]
    assert body["top_targets"] == {
        "click": [],
        "download": [{"name": "/f.pdf", "count": 1}],
        "share": [],
    }
    assert body["average_scroll_depth"] == 30.0
    assert body["series_step"] == "day"
    assert len(body["series"]) == 8
    assert sum(b["visits"] for b in body["series"]) == body["visits"] == 1
    assert body["previous"]["range"]["to"] == body["range"]["from"]
    assert body["previous"]["visits"] == 0
    now = signed_in.clock.now()
    assert body["range"]["to"].startswith(now.strftime("%Y-%m-%dT%H:%M"))


def test_page_ranges_never_answer_500(signed_in: Browser) -> None:
    """On the overview and on a project's page that exists (an unknown one is a 404 before
    the range is read): accepted ranges of every kind and refused ones are all met."""
    project_id, _ = signed_in.create_project("Site")
    reached: Counter[str] = Counter()

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        range_name=strategies.range_names,
        start=strategies.near_dates,
        days=st.integers(min_value=-3, max_value=400),
        start_text=strategies.range_end_texts,
        end_text=strategies.range_end_texts,
    )
    # Every outcome at least once, whatever is drawn.
    @example(range_name="custom", start=date(2026, 1, 1), days=3, start_text=None, end_text=None)
    @example(range_name="custom", start=date(2026, 1, 1), days=-3, start_text=None, end_text=None)
    @example(range_name="7d", start=date(2026, 1, 1), days=0, start_text=None, end_text=None)
    @example(range_name="1y", start=date(2026, 1, 1), days=0, start_text=None, end_text=None)
    def example_range(
        range_name: str,
        start: date,
        days: int,
        start_text: str | None,
        end_text: str | None,
    ) -> None:
        # A custom range near today, of up to 400 days (or ending before it starts), unless
        # other text is drawn for either end.
        params = {
            "range": range_name,
            "from": str(start) if start_text is None else start_text,
            "to": str(start + timedelta(days=days)) if end_text is None else end_text,
        }
        for path in ("/dashboard", f"/dashboard/projects/{project_id}"):
            response = signed_in.client.get(path, params=params)
            assert response.status_code in {200, 400}, (params, response.text)
            kind = "custom" if range_name == "custom" else "named"
            outcome = "shown" if response.status_code == 200 else "refused"
            reached[f"{path.count('/')}: {kind} {outcome}"] += 1
            event(f"{kind} {outcome}")

    example_range()
    project = "/dashboard/projects/".count("/")
    assert {key for key in reached if key.startswith(f"{project}:")} == {
        f"{project}: custom shown",
        f"{project}: custom refused",
        f"{project}: named shown",
        f"{project}: named refused",
    }, reached
