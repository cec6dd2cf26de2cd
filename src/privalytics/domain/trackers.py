"""What other trackers' events mean here: which of their event names is which action, and
which of their properties names what was clicked, downloaded or shared.

The compatibility routes (Plausible's and Umami's endpoints) translate their wire formats
with these rules, so that every sender of a name means the same thing by it.
"""

from __future__ import annotations

from collections.abc import Mapping

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action

# Their event names that mean one of our actions (compared without case or surrounding
# spaces); our own action names are accepted too.
NAMED_ACTIONS: Mapping[str, Action] = {
    "pageview": Action.VISIT,
    "engagement": Action.SCROLL,
    "outbound link: click": Action.CLICK,
    "file download": Action.DOWNLOAD,
    "cloaked link: click": Action.CLICK,
    **{action.value: action for action in Action},
}
# Properties that name what was clicked, downloaded or shared, in order of preference: the
# first one present becomes the event's target (and is no longer a property).
TARGET_PROPS = ("url", "target", "href")
# Actions that have no target: their properties all stay properties (a custom event's
# ``url`` is a property like any other).
_UNTARGETED = frozenset({Action.VISIT, Action.SCROLL, Action.CUSTOM})


def action_named(name: str) -> Action:
    """The built-in action an event name means; any other name is refused, naming those
    known."""
    action = NAMED_ACTIONS.get(name.strip().lower())
    if action is None:
        known = ", ".join(repr(known) for known in NAMED_ACTIONS)
        raise InvalidInput(f"the names understood are {known}", field="name")
    return action


def event_kind(name: str) -> tuple[Action, str | None]:
    """The action an event name means, and for any name but the built-in ones (which keep
    their meaning) a custom event of that name."""
    action = NAMED_ACTIONS.get(name.strip().lower())
    return (Action.CUSTOM, name) if action is None else (action, None)


def split_target(action: Action, props: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """The target of an event of ``action`` with ``props`` (see :data:`TARGET_PROPS`), and
    the properties that remain."""
    remaining = dict(props)
    if action in _UNTARGETED:
        return None, remaining
    for key in TARGET_PROPS:
        if key in remaining:
            return remaining.pop(key), remaining
    return None, remaining
