"""The device class of a screen width: Plausible's four classes, nothing for absurd widths."""

from __future__ import annotations

import pytest
from hypothesis import given

from privalytics.domain.devices import MAX_SCREEN_WIDTH, Device, device_of
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
