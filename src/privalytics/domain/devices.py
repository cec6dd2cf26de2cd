"""What a visitor uses: browser and operating system from the user agent, and a device
class from the screen width.

The user agent is read once, on arrival, by an :class:`~privalytics.domain.ports.AgentParser`
and then dropped: only the few words of an :class:`Agent` are kept, never the agent itself.

The device class comes from the width the trackers send (Plausible's ``w`` is
``window.innerWidth``, Umami's ``screen`` the screen's size), not from the user agent,
with Plausible's thresholds so that the numbers read as Plausible users know them::

    width < 576          mobile
    576 <= width < 992   tablet
    992 <= width < 1440  laptop
    1440 <= width        desktop

(``calculate_screen_size`` in Plausible's ``external_controller.ex``; its documentation
describes the same four classes. Plausible later moved to the user agent's device type;
the width is what the trackers here send, and it says how much room the page had.)

Some senders send no width: Plausible's npm tracker, a server-side sender, the ASGI
middleware. For them the user agent stands in, where it says plainly what it runs on
(:func:`device_of_agent`): a phone is ``mobile``, a tablet ``tablet``; anything else has no
class, since no agent tells a laptop from a desktop (and an iPad asking for desktop sites
says it is a Mac).
"""

from __future__ import annotations

import enum

import msgspec


class Agent(msgspec.Struct, frozen=True, kw_only=True):
    """The browser and operating system of a user agent; ``None`` where it does not say
    (the dashboard shows that as "Other").

    Versions keep what a reader compares: the browser's major version ("120"), the
    operating system's major and minor ("17.4", "10.15", "10"), as Plausible shows them. An
    iOS or macOS minor release is a different platform for a site (Safari ships with it);
    patch levels would only split the rows.
    """

    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None


# What a parser answers for an agent it cannot read: empty, garbage, unknown.
UNKNOWN_AGENT = Agent()


class Device(enum.StrEnum):
    MOBILE = "mobile"
    TABLET = "tablet"
    LAPTOP = "laptop"
    DESKTOP = "desktop"


# Each class's exclusive upper bound in CSS pixels, narrowest first; wider is a desktop.
SCREEN_CLASSES: tuple[tuple[int, Device], ...] = (
    (576, Device.MOBILE),
    (992, Device.TABLET),
    (1440, Device.LAPTOP),
)
# Wider than any screen or window (a 16K display is 15 360 px; zoomed out to 25 %, a wide
# window reports four times its width): a width beyond this is a sender's mistake or a lie.
MAX_SCREEN_WIDTH = 100_000


def device_of(screen_width: int | None) -> Device | None:
    """The device class of a screen ``screen_width`` CSS pixels wide; None when the width
    is missing or absurd (zero, negative, over :data:`MAX_SCREEN_WIDTH`)."""
    if screen_width is None or not 0 < screen_width <= MAX_SCREEN_WIDTH:
        return None
    for bound, device in SCREEN_CLASSES:
        if screen_width < bound:
            return device
    return Device.DESKTOP


def device_of_agent(user_agent: str) -> Device | None:
    """The device class a user agent says plainly: iPad and Android without ``Mobile``
    (Android's own rule for tablets) are tablets; iPhone, iPod and Android with ``Mobile``
    are phones; anything else (desktops, robots, text) None. For an event without a
    screen width only."""
    if "iPad" in user_agent:
        return Device.TABLET
    if "iPhone" in user_agent or "iPod" in user_agent:
        return Device.MOBILE
    if "Android" in user_agent:
        return Device.MOBILE if "Mobile" in user_agent else Device.TABLET
    return None
