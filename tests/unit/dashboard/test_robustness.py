"""Bad input to the dashboard is a precise 4xx or a message, never a 500; the API's new
stats fields have their documented shape."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.dashboard.conftest import Browser, csrf_of

_text = st.text(max_size=300)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_text, rate=_text, origins=_text, confirm=_text)
def test_forms_never_answer_500(
    signed_in: Browser, name: str, rate: str, origins: str, confirm: str
) -> None:
    token = csrf_of(signed_in.client.get("/dashboard").text)
    fields = {"name": name, "rate_limit": rate, "allowed_origins": origins, "_csrf_token": token}
    created = signed_in.client.post("/dashboard/projects", data=fields, follow_redirects=False)
    assert created.status_code in {201, 303}
    projects = signed_in.client.get("/api/v1/projects", headers=signed_in.admin).json()
    for project in projects["projects"][:1]:
        base = f"/dashboard/projects/{project['id']}"
        for action, data in [
            (f"{base}/settings", fields),
            (f"{base}/delete", {"confirm": confirm, "_csrf_token": token}),
        ]:
            response = signed_in.client.post(action, data=data, follow_redirects=False)
            assert response.status_code < 500, response.text


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


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    range_name=st.sampled_from(["24h", "7d", "30d", "custom", "1y", ""]),
    start=st.one_of(st.dates().map(str), st.text(max_size=20)),
    end=st.one_of(st.dates().map(str), st.text(max_size=20)),
)
def test_page_ranges_never_answer_500(
    signed_in: Browser, range_name: str, start: str, end: str
) -> None:
    params = {"range": range_name, "from": start, "to": end}
    for path in ("/dashboard", "/dashboard/projects/0123456789abcdef"):
        response = signed_in.client.get(path, params=params)
        assert response.status_code < 500, (params, response.text)
