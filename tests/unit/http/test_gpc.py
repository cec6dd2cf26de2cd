"""Global Privacy Control on POST /api/v1/events and /api/v1/events/batch: a request with
``Sec-GPC: 1`` is answered as accepted, with 0 events, and nothing in it is read or stored
(the compatibility routes: tests/unit/tracker/test_compat.py)."""

from __future__ import annotations

import pytest

from privalytics.adapters.memory import InMemoryEventStore
from privalytics.domain.models import Event
from tests.unit.http.conftest import Api

VISIT = {"action": "visit", "path": "/"}
SITE = "https://site.example"


def stored(api: Api) -> list[Event]:
    store: InMemoryEventStore = api.services.ingestion._events  # type: ignore[attr-defined]
    return list(store.events)


# The shortcut's exact paths, and a trailing slash: the same handler through Litestar's router.
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events", VISIT),
        ("/api/v1/events/", VISIT),
        ("/api/v1/events/batch", {"events": [VISIT, VISIT]}),
    ],
)
def test_an_event_under_global_privacy_control_is_answered_and_not_stored(
    api: Api, project: tuple[str, str], path: str, body: object
) -> None:
    _, token = project
    headers = {"Authorization": f"Bearer {token}", "Origin": SITE}
    sent = api.client.post(path, json=body, headers={**headers, "Sec-GPC": "1"})
    assert (sent.status_code, sent.json()) == (202, {"accepted": 0})
    # The page that sent it may read the answer, as it may read an accepted one.
    assert sent.headers["access-control-allow-origin"] == SITE
    assert stored(api) == []
    # Control: the same request without the signal, or with Sec-GPC: 0, is stored.
    for signal in ({}, {"Sec-GPC": "0"}):
        assert api.client.post(path, json=body, headers={**headers, **signal}).status_code == 202
    assert len(stored(api)) == 2 * (2 if "batch" in path else 1)


def test_nothing_of_a_request_under_global_privacy_control_is_read(api: Api) -> None:
    """No token, a body that is no event: neither is looked at, as on Plausible's and
    Umami's routes."""
    for path in ("/api/v1/events", "/api/v1/events/batch"):
        sent = api.client.post(path, content=b"{not json", headers={"Sec-GPC": " 1 "})
        assert (sent.status_code, sent.json()) == (202, {"accepted": 0})
        assert "access-control-allow-origin" not in sent.headers
    assert stored(api) == []
