"""What the top lists count (domain/reports.py): the one definition every store's filter
is built from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from privalytics.domain.models import Action, Event
from privalytics.domain.reports import REFERRERS, TARGETS

AT = datetime(2026, 3, 1, tzinfo=UTC)


def event(action: Action, **fields: Any) -> Event:
    return Event(
        project_id="p", action=action, path="/", timestamp=AT, visitor_hash="h" * 16, **fields
    )


@pytest.mark.parametrize("action", list(Action))
def test_a_referrer_counts_only_on_a_visit_and_only_when_it_names_something(
    action: Action,
) -> None:
    named = REFERRERS.name_in(event(action, referrer="https://a.example/"))
    assert named == ("https://a.example/" if action is Action.VISIT else None)
    for blank in (None, ""):
        assert REFERRERS.name_in(event(action, referrer=blank)) is None


@pytest.mark.parametrize("asked", list(Action))
@pytest.mark.parametrize("action", list(Action))
def test_a_target_counts_only_for_the_action_asked_and_only_when_it_names_something(
    asked: Action, action: Action
) -> None:
    named = TARGETS.name_in(event(action, target="Buy"), asked)
    assert named == ("Buy" if action is asked else None)
    for blank in (None, ""):
        assert TARGETS.name_in(event(action, target=blank), asked) is None
