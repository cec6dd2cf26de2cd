"""The whole path through HTTP: a project, events from several visitors, exact stats."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.http.conftest import Api


def _visitor(name: str, number: int) -> dict[str, str]:
    return {"visitor_ip": f"198.51.100.{number}", "user_agent": f"Browser/{name}"}


def test_events_of_every_action_from_several_visitors_add_up(api: Api) -> None:
    project_id, browser_token = api.create_project("End to end")
    # A server-side sender names its visitors: with a server token.
    token = api.server_token(project_id)
    alice, bob, carol = _visitor("alice", 1), _visitor("bob", 2), _visitor("carol", 3)
    hour_ago = (api.clock.now() - timedelta(hours=1)).isoformat()

    singles = [
        {"action": "visit", "path": "/", **alice},
        {"action": "visit", "path": "https://site.example/pricing?plan=pro#top", **alice},
        {"action": "click", "path": "/", "target": "#signup", **alice},
        {"action": "scroll", "path": "/", "value": 50, **alice},
        {"action": "download", "path": "/docs", "target": "/guide.pdf", **alice},
        {"action": "share", "path": "/blog", "props": {"network": "mastodon"}, **alice},
        {"action": "visit", "path": "/", **bob},
        {"action": "visit", "path": "/pricing", "timestamp": hour_ago, **bob},
    ]
    for event in singles:
        assert api.send(event, token).status_code == 202
    batch = {"events": [{"action": "visit", "path": p, **carol} for p in ("/", "/blog")]}
    assert api.send(batch, token, batch=True).json() == {"accepted": 2}
    # A browser visitor: no visitor_ip, so the request's own client and User-Agent count.
    beacon = {"action": "visit", "path": "/", "token": browser_token}
    response = api.send(beacon, headers={"User-Agent": "Browser/dave"}, content_type="text/plain")
    assert response.status_code == 202

    api.clock.advance(60)
    stats = api.stats(project_id)

    assert stats["visits"] == 7
    assert stats["unique_visitors"] == 4
    assert stats["top_pages"] == [
        {"path": "/", "visits": 4, "unique_visitors": 4},
        {"path": "/pricing", "visits": 2, "unique_visitors": 2},
        {"path": "/blog", "visits": 1, "unique_visitors": 1},
    ]
    assert stats["actions"] == {
        "visit": 7,
        "click": 1,
        "scroll": 1,
        "download": 1,
        "share": 1,
        "custom": 0,
    }
    assert stats["range"] == {"from": "2025-12-31T12:01:00Z", "to": "2026-01-01T12:01:00Z"}
    recent = stats["recent"]
    assert len(recent) == 24
    assert recent[0]["hour"] == "2025-12-31T13:00:00Z"
    assert recent[-1] == {"hour": "2026-01-01T12:00:00Z", "visits": 6, "unique_visitors": 4}
    assert recent[-2] == {"hour": "2026-01-01T11:00:00Z", "visits": 1, "unique_visitors": 1}
    assert sum(bucket["visits"] for bucket in recent) == 7

    top_one = api.stats(project_id, limit=1)["top_pages"]
    assert top_one == [{"path": "/", "visits": 4, "unique_visitors": 4}]


def test_the_same_visitor_is_one_visitor_across_requests(api: Api) -> None:
    project_id, _ = api.create_project()
    token = api.server_token(project_id)
    for path in ("/a", "/b", "/c"):
        api.send({"action": "visit", "path": path, **_visitor("same", 9)}, token)
    api.send({"action": "visit", "path": "/a", **_visitor("other", 10)}, token)
    api.clock.advance(1)
    stats = api.stats(project_id)
    assert (stats["visits"], stats["unique_visitors"]) == (4, 2)


def test_stats_of_one_project_do_not_see_another(api: Api) -> None:
    first, first_token = api.create_project("first")
    second, _ = api.create_project("second")
    api.send({"action": "visit", "path": "/"}, first_token)
    api.clock.advance(1)
    assert api.stats(first)["visits"] == 1
    assert api.stats(second)["visits"] == 0
