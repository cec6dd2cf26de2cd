"""What other trackers' event names and properties mean (domain/trackers.py)."""

from __future__ import annotations

import pytest

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action
from privalytics.domain.trackers import TARGET_PROPS, action_named, split_target


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("pageview", Action.VISIT),
        (" Engagement ", Action.SCROLL),
        ("Outbound Link: Click", Action.CLICK),
        ("Cloaked Link: Click", Action.CLICK),
        ("File Download", Action.DOWNLOAD),
        *((action.value.upper(), action) for action in Action),
    ],
)
def test_their_names_and_ours_mean_one_action_whatever_the_case(name: str, action: Action) -> None:
    assert action_named(name) is action


def test_a_custom_event_name_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as refused:
        action_named("Signup")
    assert refused.value.field == "name"
    assert "'file download'" in refused.value.message


@pytest.mark.parametrize("action", [Action.CLICK, Action.DOWNLOAD, Action.SHARE])
def test_the_first_target_prop_present_becomes_the_target(action: Action) -> None:
    props = {key: f"value of {key}" for key in TARGET_PROPS} | {"plan": "pro"}
    for preferred in TARGET_PROPS:
        target, rest = split_target(action, props)
        assert target == f"value of {preferred}"
        assert rest == {k: v for k, v in props.items() if k != preferred}
        del props[preferred]
    assert split_target(action, props) == (None, {"plan": "pro"})


@pytest.mark.parametrize("action", [Action.VISIT, Action.SCROLL])
def test_visits_and_scrolls_have_no_target_and_keep_every_prop(action: Action) -> None:
    props = {"url": "https://x.example/", "plan": "pro"}
    assert split_target(action, props) == (None, props)


def test_splitting_leaves_the_callers_props_as_they_were() -> None:
    props = {"url": "https://x.example/"}
    split_target(Action.CLICK, props)
    assert props == {"url": "https://x.example/"}
