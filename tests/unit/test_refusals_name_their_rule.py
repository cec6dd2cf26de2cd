"""Every refusal of the domain's validation names the field, the event of the batch and the
rule that was broken, in words a sender can act on; and the edges of each rule hold
exactly (found by mutation testing, see docs/testing.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent, RateLimit
from privalytics.domain.ratelimit import MAX_PERIOD, check_rate_limit
from privalytics.domain.validation import (
    DEFAULT_MAX_AGE,
    MAX_BATCH,
    MAX_ORIGINS,
    MAX_PATH,
    MAX_PROPS,
    check_batch,
    clean_event,
    clean_name,
    clean_origin,
    clean_origins,
    reduce_path,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def refusal(event: IncomingEvent, field: str) -> str:
    """The message refusing ``event`` as the 8th of a batch, checked to name both."""
    with pytest.raises(InvalidInput) as caught:
        clean_event(event, NOW, DEFAULT_MAX_AGE, 7)
    assert (caught.value.field, caught.value.index) == (field, 7)
    return caught.value.message


def visit(**fields: object) -> IncomingEvent:
    return IncomingEvent(action=Action.VISIT, **{"path": "/", **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "words"),
    [(0, "at least one event"), (MAX_BATCH + 1, f"at most {MAX_BATCH} events per batch")],
)
def test_a_batch_refusal_says_how_many_events_a_batch_holds(size: int, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_batch([object()] * size)
    assert caught.value.field == "events"
    assert words in caught.value.message


def test_a_broken_url_as_path_is_refused_for_the_path_of_that_event() -> None:
    assert refusal(visit(path="http://[::1/x"), "path") == "is not a valid URL"


def test_a_path_that_is_no_path_says_how_to_write_one() -> None:
    assert refusal(visit(path="blog"), "path") == "must start with / or be an http(s) URL"


def test_a_broken_url_as_referrer_is_refused_for_the_referrer() -> None:
    assert refusal(visit(referrer="https://[::1/x"), "referrer") == "is not a valid URL"


def test_a_lone_surrogate_is_refused_for_the_event_that_holds_it() -> None:
    message = refusal(visit(path="/a\ud800"), "path")
    assert "lone surrogate" in message


def test_control_characters_are_named_as_such() -> None:
    assert refusal(visit(path="/a\x00"), "path") == (
        "contains a control character (U+0000), which is refused"
    )


def test_a_non_ip_is_refused_for_the_event_that_holds_it() -> None:
    assert refusal(visit(visitor_ip="not\x00an address"), "visitor_ip") == "is not an IP address"


def test_a_future_timestamp_is_called_so() -> None:
    future = NOW + timedelta(hours=1)
    assert refusal(visit(timestamp=future), "timestamp") == "is in the future"


def test_scroll_refusals_say_what_a_depth_is() -> None:
    scroll = IncomingEvent(action=Action.SCROLL, path="/")
    assert "depth in percent" in refusal(scroll, "value")
    # A depth past the page's end is measured, not malformed: clamped, not refused.
    too_deep = IncomingEvent(action=Action.SCROLL, path="/", value=101)
    assert clean_event(too_deep, NOW, DEFAULT_MAX_AGE, 7).value == 100


def test_prop_refusals_say_how_many_and_what_names_are_allowed() -> None:
    many = {f"k{number}": "v" for number in range(MAX_PROPS + 1)}
    assert f"at most {MAX_PROPS} properties" in refusal(visit(props=many), "props")
    assert "must not be empty" in refusal(visit(props={"": "v"}), "props")


@pytest.mark.parametrize(
    ("path", "reduced"),
    [
        ("/a?b?c", "/a"),
        ("/a#b#c", "/a"),
        ("/a?b#c?d", "/a"),
        ("/a#b?c#d", "/a"),
    ],
)
def test_everything_from_the_first_query_or_fragment_mark_is_dropped(
    path: str, reduced: str
) -> None:
    """A query may hold more ``?`` and a fragment more ``#``: none of it is kept."""
    assert reduce_path(path) == reduced


def test_an_empty_name_says_so() -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_name("   ")
    assert (caught.value.field, caught.value.message) == ("name", "must not be empty")


def test_an_origin_refusal_quotes_it_and_shows_the_form() -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_origin("ftp://example.com")
    assert caught.value.field == "allowed_origins"
    assert "'ftp://example.com' is not an origin" in caught.value.message
    assert "scheme://host[:port]" in caught.value.message


def test_an_origin_of_the_longest_accepted_length_is_accepted() -> None:
    longest = "https://" + "a" * (MAX_PATH - len("https://"))
    assert clean_origin(longest) == longest
    with pytest.raises(InvalidInput):
        clean_origin(longest + "a")


def test_too_many_origins_are_refused_for_the_allowed_origins_setting() -> None:
    origins = [f"https://site{number}.example" for number in range(MAX_ORIGINS + 1)]
    with pytest.raises(InvalidInput) as caught:
        clean_origins(origins)
    assert caught.value.field == "allowed_origins"
    assert f"at most {MAX_ORIGINS} origins" in caught.value.message


def test_a_period_out_of_range_names_the_range() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_rate_limit(RateLimit(events=1, period_seconds=MAX_PERIOD + 1))
    assert caught.value.field == "rate_limit"
    assert f"between 1 and {MAX_PERIOD} seconds" in caught.value.message
