"""The dimension table: one entry per dimension, each readable from a stored event."""

from __future__ import annotations

from datetime import UTC, datetime

from privalytics.domain.dimensions import DIMENSIONS, Panel, Scope, SessionRole, dimension
from privalytics.domain.models import Action, Event

# What the insight issue asks every breakdown to offer, in the order panels show them.
ASKED_FOR = [
    "page",
    "entry_page",
    "exit_page",
    "source",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "country",
    "region",
    "city",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "event",
    "goal",
]


def _event(action: Action = Action.VISIT, **fields: str) -> Event:
    return Event(
        project_id="p",
        action=action,
        path="/pricing",
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
        visitor_hash="v",
        **fields,
    )


def test_every_dimension_asked_for_is_there_once_and_in_order() -> None:
    assert list(DIMENSIONS) == ASKED_FOR
    assert all(dimension(name) is DIMENSIONS[name] for name in ASKED_FOR)
    assert dimension("colour") is None


def test_each_session_dimension_reads_the_event_field_of_its_name() -> None:
    for d in DIMENSIONS.values():
        if d.scope is Scope.SESSION and d.role is SessionRole.FIRST:
            assert d.read(_event(**{d.name: "x"})) == "x", d.name
            assert d.read(_event()) is None, d.name


def test_a_page_is_the_path_of_a_page_view_only() -> None:
    for name in ("page", "entry_page", "exit_page"):
        assert DIMENSIONS[name].read(_event()) == "/pricing"
        assert DIMENSIONS[name].read(_event(Action.CLICK)) is None
    assert DIMENSIONS["page"].scope is Scope.EVENT
    assert DIMENSIONS["entry_page"].role is SessionRole.ENTRY
    assert DIMENSIONS["exit_page"].role is SessionRole.EXIT


def test_only_regions_and_cities_merge_small_cells() -> None:
    merged = {d.name for d in DIMENSIONS.values() if d.merge_small_cells}
    assert merged == {"region", "city"}


def test_every_panel_has_a_dimension() -> None:
    assert {d.panel for d in DIMENSIONS.values()} == set(Panel)
