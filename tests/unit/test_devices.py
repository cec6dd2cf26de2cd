"""The device class of a screen width: Plausible's four classes, nothing for absurd widths."""

from __future__ import annotations

import pytest
from hypothesis import given

from privalytics.domain.devices import MAX_SCREEN_WIDTH, Device, device_of, device_of_agent
from tests.strategies import screen_widths

_ORDER = [Device.MOBILE, Device.TABLET, Device.LAPTOP, Device.DESKTOP]


@pytest.mark.parametrize(
    ("width", "device"),
    [
        (1, Device.MOBILE),
        (375, Device.MOBILE),  # an iPhone, portrait
        (575, Device.MOBILE),
        (576, Device.TABLET),
        (768, Device.TABLET),  # an iPad, portrait
        (991, Device.TABLET),
        (992, Device.LAPTOP),
        (1366, Device.LAPTOP),
        (1439, Device.LAPTOP),
        (1440, Device.DESKTOP),
        (1920, Device.DESKTOP),
        (7680, Device.DESKTOP),
        (MAX_SCREEN_WIDTH, Device.DESKTOP),
    ],
)
def test_a_width_has_plausibles_class_each_bound_belonging_to_the_wider_class(
    width: int, device: Device
) -> None:
    assert device_of(width) is device


@pytest.mark.parametrize("width", [None, 0, -1, -1920, MAX_SCREEN_WIDTH + 1, 10**12, -(2**63)])
def test_a_missing_or_absurd_width_has_no_class(width: int | None) -> None:
    assert device_of(width) is None


def test_classes_are_the_names_the_api_shows() -> None:
    assert [str(device) for device in _ORDER] == ["mobile", "tablet", "laptop", "desktop"]


@given(screen_widths, screen_widths)
def test_a_wider_screen_never_has_a_narrower_class(one: int, other: int) -> None:
    narrow, wide = sorted((one, other))
    narrow_class, wide_class = device_of(narrow), device_of(wide)
    if narrow_class is not None and wide_class is not None:
        assert _ORDER.index(narrow_class) <= _ORDER.index(wide_class)


@given(screen_widths)
def test_a_width_has_a_class_exactly_when_it_is_between_one_and_the_maximum(width: int) -> None:
    assert (device_of(width) is not None) == (1 <= width <= MAX_SCREEN_WIDTH)


PHONE_AND_TABLET_AGENTS = {
    "iPhone Safari": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        Device.MOBILE,
    ),
    "iPad Safari": (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        Device.TABLET,
    ),
    "Android phone Chrome": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        Device.MOBILE,
    ),
    "Android tablet Chrome": (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        Device.TABLET,
    ),
    "Android phone Firefox": (
        "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        Device.MOBILE,
    ),
    "Android tablet Firefox": (
        "Mozilla/5.0 (Android 14; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
        Device.TABLET,
    ),
}
NO_CLASS_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    # An iPad asking for desktop sites says it is a Mac: no class rather than a wrong one.
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.2 Safari/605.1.15",
    "curl/8.5.0",
    "",
]


@pytest.mark.parametrize(
    ("agent", "device"), PHONE_AND_TABLET_AGENTS.values(), ids=PHONE_AND_TABLET_AGENTS.keys()
)
def test_an_agent_that_says_phone_or_tablet_gives_that_class(agent: str, device: Device) -> None:
    assert device_of_agent(agent) is device


@pytest.mark.parametrize("agent", NO_CLASS_AGENTS)
def test_an_agent_that_does_not_say_gives_no_class(agent: str) -> None:
    assert device_of_agent(agent) is None
