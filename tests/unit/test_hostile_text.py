"""The domain refuses text that is not Unicode (lone surrogates, which UTF-8 cannot encode
and a store or a hash would fail on) and stats ranges whose arithmetic would overflow.
Embedders and the CLI (which reads undecodable arguments as surrogates) reach the domain
without a JSON decoder in front."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent
from privalytics.domain.services import EARLIEST, LATEST, MAX_SPAN, Services
from privalytics.domain.validation import (
    DEFAULT_MAX_AGE,
    clean_event,
    clean_name,
    normalize_ip,
)
from privalytics.testing import ManualClock

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LONE = ["\ud800", "\udfff", "a\udcffb", "\U0001f600\ud83d"]


def _refused(field: str, **fields: object) -> InvalidInput:
    event = IncomingEvent(action=Action.CLICK, **{"path": "/", **fields})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as caught:
        clean_event(event, NOW, DEFAULT_MAX_AGE, 0)
    assert caught.value.field == field
    return caught.value


@pytest.mark.parametrize("lone", LONE)
@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("path", lambda t: {"path": "/" + t}),
        ("path", lambda t: {"path": "https://example.com/" + t}),
        ("referrer", lambda t: {"referrer": "https://example.com/" + t}),
        ("target", lambda t: {"target": t}),
        ("props", lambda t: {"props": {"k": t}}),
        ("props", lambda t: {"props": {t: "v"}}),
        ("user_agent", lambda t: {"user_agent": t}),
    ],
)
def test_a_lone_surrogate_in_any_text_field_is_refused(
    lone: str, field: str, fields: object
) -> None:
    error = _refused(field, **fields(lone))  # type: ignore[operator]
    assert "Unicode" in error.message


@pytest.mark.parametrize("lone", LONE)
def test_a_project_name_with_a_lone_surrogate_is_refused(lone: str) -> None:
    with pytest.raises(InvalidInput, match="Unicode") as caught:
        clean_name("site " + lone)
    assert caught.value.field == "name"


def test_a_valid_surrogate_pair_character_is_text() -> None:
    assert clean_name("site \U0001f600") == "site \U0001f600"


@pytest.mark.parametrize(
    "ip", ["fe80::1%\ud800", "fe80::1%a\x00b", "fe80::1%eth0\n", "192.0.2.1\udcff", "fe80::1%é"]
)
def test_an_address_with_a_lone_surrogate_or_control_character_is_refused(ip: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_ip(ip)
    assert caught.value.field == "visitor_ip"
    assert ip not in caught.value.message


def test_an_address_with_an_ascii_zone_is_still_an_address() -> None:
    assert normalize_ip("fe80::1%eth0") == "fe80::1%eth0"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"period": ""}, "period"),
        ({"start": datetime(1, 1, 1, tzinfo=UTC), "end": datetime(1, 1, 2, tzinfo=UTC)}, "from"),
        ({"start": EARLIEST - timedelta(microseconds=1)}, "from"),
        ({"start": datetime(9999, 12, 30, tzinfo=UTC), "end": datetime.max}, "to"),
        ({"start": LATEST - timedelta(days=1), "end": LATEST + timedelta(microseconds=1)}, "to"),
        ({"start": NOW - MAX_SPAN - timedelta(microseconds=1)}, "to"),
    ],
)
def test_a_range_past_the_bounds_is_refused(
    services: Services, clock: ManualClock, arguments: dict[str, object], field: str
) -> None:
    clock.set(NOW)
    with pytest.raises(InvalidInput) as caught:
        services.reporting.span(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (EARLIEST, EARLIEST + MAX_SPAN),
        (LATEST - MAX_SPAN, LATEST),
        (NOW - MAX_SPAN, None),
    ],
)
async def test_the_widest_ranges_within_the_bounds_give_stats(
    services: Services, clock: ManualClock, start: datetime, end: datetime | None
) -> None:
    clock.set(NOW)
    project = (await services.admin.create_project("edges")).project
    span = services.reporting.span(start=start, end=end)
    stats = await services.reporting.stats(project.id, span)
    assert stats.series_step == "day"
    assert len(stats.series) <= MAX_SPAN.days + 1
