"""What a well-formed event, name, origin and rate limit are."""

from __future__ import annotations

import ipaddress
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from privalytics.domain.errors import InvalidInput
from privalytics.domain.models import Action, IncomingEvent, RateLimit
from privalytics.domain.ratelimit import MAX_EVENTS as MAX_RATE_EVENTS
from privalytics.domain.ratelimit import MAX_PERIOD as MAX_RATE_PERIOD
from privalytics.domain.ratelimit import check_rate_limit
from privalytics.domain.validation import (
    DEFAULT_MAX_AGE,
    FUTURE_SKEW,
    MAX_NAME,
    MAX_ORIGINS,
    MAX_PATH,
    MAX_PROP_KEY,
    MAX_PROP_VALUE,
    MAX_PROPS,
    MAX_TARGET,
    MAX_URL_BYTES,
    MAX_USER_AGENT,
    clean_event,
    clean_name,
    clean_origin,
    clean_origins,
    normalize_ip,
    normalize_origin,
    reduce_path,
    reduce_referrer,
    typed_event,
)
from tests import strategies

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def clean(event: IncomingEvent, index: int | None = None) -> IncomingEvent:
    return clean_event(event, NOW, DEFAULT_MAX_AGE, index)


def visit(**fields: object) -> IncomingEvent:
    return IncomingEvent(action=Action.VISIT, **{"path": "/", **fields})  # type: ignore[arg-type]


def refused(event: IncomingEvent, field: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        clean(event, index=3)
    assert caught.value.field == field
    assert caught.value.index == 3
    assert str(caught.value).startswith(f"event 3: {field}: ")
    return caught.value


# --- paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("/", "/"),
        ("/blog/post", "/blog/post"),
        ("/search?q=secret", "/search"),
        ("/page#section", "/page"),
        ("/a#b?c", "/a"),
        ("/a?b#c", "/a"),
        ("https://example.com/docs/intro?utm_source=x#top", "/docs/intro"),
        ("http://example.com", "/"),
        ("https://example.com?q=1", "/"),
        ("https://user:pw@example.com:8443/x", "/x"),
        # URL schemes are case-insensitive.
        ("HTTPS://Example.com/Docs?x=1", "/Docs"),
        ("Http://example.com", "/"),
    ],
)
def test_paths_are_reduced_to_the_path_alone(raw: str, path: str) -> None:
    assert reduce_path(raw) == path


@pytest.mark.parametrize("raw", ["", "blog", "?q=1", "#x", "ftp://h/x", "javascript:alert(1)"])
def test_a_path_must_start_with_a_slash_or_be_an_http_url(raw: str) -> None:
    with pytest.raises(InvalidInput, match="must start with /"):
        reduce_path(raw)


def test_a_path_refuses_control_characters_length_and_broken_urls() -> None:
    with pytest.raises(InvalidInput, match="control"):
        reduce_path("/a\nb")
    with pytest.raises(InvalidInput, match="longer than"):
        reduce_path("/" + "a" * MAX_PATH)
    assert reduce_path("/" + "a" * (MAX_PATH - 1)) == "/" + "a" * (MAX_PATH - 1)
    with pytest.raises(InvalidInput, match="not a valid URL"):
        reduce_path("http://[::1/x")


@pytest.mark.parametrize("char", ["\u4e2d", "\U0001f600", "\u00e9"])
def test_paths_referrers_and_targets_are_limited_in_utf8_bytes(char: str) -> None:
    """A path within MAX_PATH characters can still be too long for an index row."""
    width = len(char.encode())
    fits = "/" + char * ((MAX_URL_BYTES - 1) // width)
    too_long = "/" + char * (MAX_URL_BYTES // width + 1)
    assert len(too_long) <= MAX_PATH
    assert clean(visit(path=fits)).path == fits
    assert "bytes" in refused(visit(path=too_long), "path").message
    assert "bytes" in refused(visit(path="https://example.com" + too_long), "path").message
    referrer = "https://a.b" + too_long[: MAX_PATH - 11]
    assert "bytes" in refused(visit(referrer=referrer), "referrer").message
    assert "bytes" in refused(visit(target=too_long[1:]), "target").message


def test_a_max_length_ascii_path_is_accepted() -> None:
    path = "/" + "a" * (MAX_PATH - 1)
    assert len(path.encode()) == MAX_URL_BYTES
    assert clean(visit(path=path)).path == path


@given(st.one_of(strategies.any_text, strategies.any_text.map(lambda t: "https://" + t)))
def test_any_text_reduces_to_a_clean_path_or_raises_invalid_input(raw: str) -> None:
    try:
        path = reduce_path(raw)
    except InvalidInput:
        return
    assert path.startswith("/")
    assert "?" not in path
    assert "#" not in path


@given(strategies.clean_paths)
def test_a_clean_path_is_kept_as_it_is(path: str) -> None:
    assert reduce_path(path) == path


# --- referrers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "referrer"),
    [
        ("", None),
        ("https://www.google.com/", "https://www.google.com/"),
        ("https://Example.COM/a/b?q=secret#frag", "https://example.com/a/b"),
        ("https://alice:hunter2@example.com/x", "https://example.com/x"),
        ("https://example.com:8443/x?y", "https://example.com:8443/x"),
        ("https://example.com:99999/x", "https://example.com/x"),
        ("http://[2001:db8::1]:8080/p?q", "http://[2001:db8::1]:8080/p"),
        ("HTTPS://Example.com", "https://example.com"),
        ("http://alice:hunter2@/x", None),
    ],
)
def test_referrers_lose_query_fragment_and_credentials(raw: str, referrer: str | None) -> None:
    assert reduce_referrer(raw) == referrer


@pytest.mark.parametrize(
    "raw",
    [
        "mailto:foo@bar.com?subject=secret",
        "foo@bar.com",
        "my name is Alice Smith",
        "tel:+15550100",
        "//alice:hunter2@example.com/x?q",
        "/relative/path?q=1#f",
        "android-app://com.example.app/",
        "ftp://example.com/file",
        "http:///no-host",
        "https:/one-slash",
    ],
)
def test_only_http_urls_with_a_host_are_kept_as_referrers(raw: str) -> None:
    """Anything but a web page's address may hold personal data: it is dropped, not
    refused, so that the event is still counted."""
    assert reduce_referrer(raw) is None
    assert clean(visit(referrer=raw)).referrer is None


def test_a_referrer_refuses_control_characters_and_broken_urls() -> None:
    with pytest.raises(InvalidInput, match="control"):
        reduce_referrer("https://a.com/\x00")
    with pytest.raises(InvalidInput, match="not a valid URL") as caught:
        reduce_referrer("http://[::1/x", index=2)
    assert (caught.value.field, caught.value.index) == ("referrer", 2)


@given(
    st.sampled_from(["http", "https"]),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=12),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789!$%", min_size=6, max_size=12),
    strategies.clean_paths,
    st.text(strategies.printable, max_size=20),
)
def test_no_userinfo_query_or_fragment_survives_in_a_referrer(
    scheme: str, user: str, password: str, path: str, query: str
) -> None:
    raw = f"{scheme}://{user}:{password}@example.com{path}?{query}#frag"
    assert reduce_referrer(raw) == f"{scheme}://example.com{path}"


@given(strategies.any_text)
def test_any_referrer_reduces_or_raises_invalid_input(raw: str) -> None:
    try:
        referrer = reduce_referrer(raw)
    except InvalidInput:
        return
    assert referrer is None or ("?" not in referrer and "#" not in referrer)
    assert referrer is None or referrer.startswith(("http://", "https://"))


# --- events ----------------------------------------------------------------------------


def test_a_valid_event_keeps_its_fields_and_gets_the_servers_time() -> None:
    event = IncomingEvent(
        action=Action.CLICK,
        path="https://example.com/pricing?plan=pro",
        referrer="https://search.example/?q=x",
        target="#buy",
        value=3.5,
        props={"plan": "pro"},
        visitor_ip="::ffff:203.0.113.9",
        user_agent="agent",
    )
    cleaned = clean(event)
    assert cleaned.path == "/pricing"
    assert cleaned.referrer == "https://search.example/"
    assert cleaned.target == "#buy"
    assert cleaned.value == 3.5
    assert cleaned.props == {"plan": "pro"}
    assert cleaned.visitor_ip == "203.0.113.9"
    assert cleaned.user_agent == "agent"
    assert cleaned.timestamp == NOW


@pytest.mark.parametrize(
    ("raw", "target"),
    [
        # A signed download URL's secret, a share link's text: not ours to collect.
        ("https://cdn.example/a.pdf?X-Amz-Signature=s3cr3t", "https://cdn.example/a.pdf"),
        ("https://twitter.com/intent/tweet?text=hi#x", "https://twitter.com/intent/tweet"),
        ("HTTP://user:pw@example.com:8080/x?y", "http://example.com:8080/x"),
        ("https://[::1/x?token=1", "https://[::1/x"),
        # Not a URL: a label, a path or an element's name is kept as the sender gave it.
        ("Buy now? Yes!", "Buy now? Yes!"),
        ("/files/a.pdf?v=1", "/files/a.pdf?v=1"),
        ("mailto:?body=hi", "mailto:?body=hi"),
    ],
)
def test_url_targets_lose_query_fragment_and_credentials(raw: str, target: str) -> None:
    assert clean(IncomingEvent(action=Action.CLICK, path="/", target=raw)).target == target


def test_the_cleaned_event_does_not_share_the_callers_props() -> None:
    props = {"a": "1"}
    cleaned = clean(visit(props=props))
    props["b"] = "2"
    assert cleaned.props == {"a": "1"}


def test_a_scroll_needs_its_depth() -> None:
    error = refused(IncomingEvent(action=Action.SCROLL, path="/"), "value")
    assert "depth" in error.message


@given(st.floats(min_value=0, max_value=100))
def test_scroll_depths_from_0_to_100_are_accepted_in_whole_percent(value: float) -> None:
    stored = clean(IncomingEvent(action=Action.SCROLL, path="/", value=value)).value
    assert stored is not None
    assert stored == int(stored)
    assert abs(stored - value) <= 0.5


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: not 0 <= v <= 100))
def test_scroll_depths_outside_0_to_100_are_clamped_into_it(value: float) -> None:
    """One rule for every sender: a tracker measures past the page's end (a page that
    shrank, an overscroll), and a batch must not be refused whole for it."""
    stored = clean(IncomingEvent(action=Action.SCROLL, path="/", value=value)).value
    assert stored == (0.0 if value < 0 else 100.0)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("action", list(Action))
def test_nan_and_infinity_are_refused_for_every_action(action: Action, value: float) -> None:
    name = "Signup" if action is Action.CUSTOM else None
    error = refused(IncomingEvent(action=action, path="/", value=value, name=name), "value")
    assert error.message == "must be a finite number"


def test_props_are_limited_in_number_and_size() -> None:
    assert clean(visit(props={f"k{n}": "v" for n in range(MAX_PROPS)})).props
    refused(visit(props={f"k{n}": "v" for n in range(MAX_PROPS + 1)}), "props")
    refused(visit(props={"": "v"}), "props")
    refused(visit(props={"k" * (MAX_PROP_KEY + 1): "v"}), "props")
    refused(visit(props={"k": "v" * (MAX_PROP_VALUE + 1)}), "props")
    assert clean(visit(props={"k" * MAX_PROP_KEY: "v" * MAX_PROP_VALUE})).props


@given(strategies.prop_dicts)
def test_props_within_the_limits_are_kept(props: dict[str, str]) -> None:
    assert clean(visit(props=props)).props == props


@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\t", "\x1b", "\x7f"])
def test_control_characters_are_refused_in_every_text_field(char: str) -> None:
    refused(visit(path=f"/a{char}"), "path")
    refused(visit(referrer=f"https://a.com/{char}"), "referrer")
    refused(visit(target=f"x{char}"), "target")
    refused(visit(props={f"k{char}": "v"}), "props")
    refused(visit(props={"k": f"v{char}"}), "props")
    refused(visit(user_agent=f"ua{char}"), "user_agent")


def test_target_and_user_agent_are_limited_in_length() -> None:
    refused(visit(target="t" * (MAX_TARGET + 1)), "target")
    refused(visit(user_agent="u" * (MAX_USER_AGENT + 1)), "user_agent")


def test_timestamps_are_bounded_by_the_skew_and_the_max_age() -> None:
    assert clean(visit(timestamp=NOW + FUTURE_SKEW)).timestamp == NOW + FUTURE_SKEW
    error = refused(visit(timestamp=NOW + FUTURE_SKEW + timedelta(seconds=1)), "timestamp")
    assert "future" in error.message
    assert clean(visit(timestamp=NOW - DEFAULT_MAX_AGE)).timestamp == NOW - DEFAULT_MAX_AGE
    error = refused(visit(timestamp=NOW - DEFAULT_MAX_AGE - timedelta(seconds=1)), "timestamp")
    assert error.message == "is older than the accepted 24 hours"


def test_the_age_limit_is_named_in_seconds_when_under_an_hour() -> None:
    with pytest.raises(InvalidInput, match="older than the accepted 90 seconds"):
        clean_event(visit(timestamp=NOW - timedelta(minutes=2)), NOW, timedelta(seconds=90))


def test_without_an_age_bound_only_the_future_is_refused() -> None:
    """A sender that does not know the receiver's age setting checks everything else."""
    ancient = NOW - timedelta(days=400)
    assert clean_event(visit(timestamp=ancient), NOW, None).timestamp == ancient
    with pytest.raises(InvalidInput, match="future"):
        clean_event(visit(timestamp=NOW + FUTURE_SKEW + timedelta(seconds=1)), NOW, None)


def test_typed_event_builds_an_event_from_python_values() -> None:
    moment = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    event = typed_event(
        {"action": "scroll", "path": "/a", "value": 40, "timestamp": moment, "referrer": None}
    )
    assert event == IncomingEvent(action=Action.SCROLL, path="/a", value=40.0, timestamp=moment)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", "scrol"),
        ("path", 7),
        ("referrer", b"https://ref.example/"),
        ("target", ["Buy"]),
        ("value", True),
        ("value", "80"),
        ("timestamp", "yesterday"),
        ("props", {"plan": [1]}),
        ("props", ["plan"]),
        ("visitor_ip", 3232235777),
        ("user_agent", 1.5),
    ],
)
def test_typed_event_names_the_field_of_the_wrong_type_without_its_value(
    field: str, value: object
) -> None:
    with pytest.raises(InvalidInput) as caught:
        typed_event({"action": "visit", "path": "/", field: value})
    assert caught.value.field == field
    assert caught.value.message.startswith("must be ")
    assert repr(value) not in str(caught.value)


def test_typed_event_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(InvalidInput) as unknown:
        typed_event({"action": "visit", "path": "/", "nonsense": 1})
    assert unknown.value.field == "nonsense"
    assert unknown.value.message == "is not a field of an event"
    with pytest.raises(InvalidInput) as missing:
        typed_event({"action": "visit"})
    assert (missing.value.field, missing.value.message) == ("path", "is required")
    with pytest.raises(InvalidInput) as none:
        typed_event({"action": None, "path": "/"})
    assert (none.value.field, none.value.message) == ("action", "is required")


def test_a_naive_timestamp_is_read_as_utc() -> None:
    naive = datetime(2026, 1, 1, 11, 30)
    cleaned = clean(visit(timestamp=naive))
    assert cleaned.timestamp == datetime(2026, 1, 1, 11, 30, tzinfo=UTC)
    assert cleaned.timestamp.utcoffset() == timedelta()


def test_an_aware_timestamp_is_converted_to_utc() -> None:
    east = datetime(2026, 1, 1, 16, 30, tzinfo=timezone(timedelta(hours=5)))
    cleaned = clean(visit(timestamp=east))
    assert cleaned.timestamp == datetime(2026, 1, 1, 11, 30, tzinfo=UTC)
    assert cleaned.timestamp.tzinfo is UTC


@given(strategies.accepted_ages)
def test_timestamps_within_the_accepted_age_are_kept(age: timedelta) -> None:
    assert clean(visit(timestamp=NOW + age)).timestamp == NOW + age


@given(
    st.datetimes(
        timezones=st.none()
        | st.timezones()
        | st.builds(
            timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
        )
    )
)
def test_any_timestamp_is_accepted_in_bounds_or_refused_with_invalid_input(
    moment: datetime,
) -> None:
    """Moments near datetime.min and .max included: never an OverflowError."""
    outcome: IncomingEvent | InvalidInput
    try:
        outcome = clean(visit(timestamp=moment))
    except InvalidInput as error:
        outcome = error
    if isinstance(outcome, InvalidInput):
        assert outcome.field == "timestamp"
    else:
        assert outcome.timestamp is not None
        assert NOW - DEFAULT_MAX_AGE <= outcome.timestamp <= NOW + FUTURE_SKEW
        assert outcome.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    "moment",
    [
        datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_timestamps_at_the_ends_of_the_calendar_are_refused_cleanly(moment: datetime) -> None:
    refused(visit(timestamp=moment), "timestamp")


# --- visitor IPs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ip"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("::FFFF:CB00:7109", "203.0.113.9"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ],
)
def test_visitor_ips_are_normalised(raw: str, ip: str) -> None:
    assert normalize_ip(raw) == ip
    assert clean(visit(visitor_ip=raw)).visitor_ip == ip


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_an_ipv4_address_in_canonical_text_is_kept_as_it_is(number: int) -> None:
    text = str(ipaddress.IPv4Address(number))
    assert normalize_ip(text) == text


@given(st.text(alphabet="0123456789. :fFx", max_size=24))
def test_the_ipv4_shortcut_agrees_with_ipaddress(raw: str) -> None:
    """Canonical IPv4 text skips ipaddress' parse; every answer is still the one
    ipaddress gives (leading zeros, parts over 255, too few or many parts, spaces)."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        with pytest.raises(InvalidInput):
            normalize_ip(raw)
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    assert normalize_ip(raw) == str(address)


@given(strategies.ipv4s)
def test_an_ipv4_mapped_address_is_the_ipv4_address(ip: str) -> None:
    assert normalize_ip(f"::ffff:{ip}") == ip


@given(strategies.any_text)
def test_a_non_ip_is_refused_without_repeating_it(raw: str) -> None:
    assume(not _is_ip(raw))
    with pytest.raises(InvalidInput) as caught:
        normalize_ip(raw)
    assert str(caught.value) == "visitor_ip: is not an IP address"


def _is_ip(raw: str) -> bool:
    try:
        ipaddress.ip_address(raw.strip())
    except ValueError:
        return False
    return True


def test_a_visitor_ip_refusal_names_the_event_not_the_address() -> None:
    error = refused(visit(visitor_ip="alice@example.com"), "visitor_ip")
    assert "alice" not in str(error)


# --- names, origins, rate limits ---------------------------------------------------------


def test_names_are_stripped_and_bounded() -> None:
    assert clean_name("  My site ") == "My site"
    assert clean_name("n" * MAX_NAME) == "n" * MAX_NAME
    for bad in ["", "   ", "n" * (MAX_NAME + 1), "a\x00b"]:
        with pytest.raises(InvalidInput) as caught:
            clean_name(bad)
        assert caught.value.field == "name"


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://example.com", "https://example.com"),
        ("  HTTPS://Example.COM/  ", "https://example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://example.com:443", "http://example.com:443"),
        ("https://example.com:", "https://example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_normalised_to_what_a_browser_sends(raw: str, origin: str) -> None:
    assert clean_origin(raw) == origin
    assert normalize_origin(raw) == origin


@pytest.mark.parametrize(
    "raw",
    [
        "example.com",
        "https://example.com/path",
        "https://example.com/?q=1",
        "https://example.com/#f",
        "https://user@example.com",
        "https://user:pw@example.com",
        "ftp://example.com",
        "javascript://example.com",
        "https://",
        "https://example.com:99999",
        "https://example.com:port",
        "https://exa mple.com",
        "https://a\x00b.com",
        "https://" + "\u00fc" * 64 + ".example",
        "null",
        "",
        "https://" + "a" * MAX_PATH + ".com",
    ],
)
def test_what_is_not_an_origin_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_origin(raw)
    assert caught.value.field == "allowed_origins"
    assert normalize_origin(raw) is None


@given(strategies.any_text)
def test_any_text_is_an_origin_or_invalid_input(raw: str) -> None:
    try:
        origin = clean_origin(raw)
    except InvalidInput:
        return
    assert origin.startswith(("http://", "https://"))
    assert clean_origin(origin) == origin


def test_origin_lists_are_deduplicated_in_order_and_bounded() -> None:
    assert clean_origins(["https://b.com", "https://a.com", "https://B.com/"]) == (
        "https://b.com",
        "https://a.com",
    )
    assert clean_origins(()) == ()
    assert len(clean_origins([f"https://s{n}.com" for n in range(MAX_ORIGINS)])) == MAX_ORIGINS
    with pytest.raises(InvalidInput, match=f"at most {MAX_ORIGINS}"):
        clean_origins([f"https://s{n}.com" for n in range(MAX_ORIGINS + 1)])


@pytest.mark.parametrize(
    "rate",
    [
        RateLimit(events=1, period_seconds=1),
        RateLimit(events=MAX_RATE_EVENTS, period_seconds=MAX_RATE_PERIOD),
    ],
)
def test_rate_limits_within_bounds_are_accepted(rate: RateLimit) -> None:
    assert check_rate_limit(rate) == rate


@pytest.mark.parametrize(
    "rate",
    [
        RateLimit(events=0, period_seconds=60),
        RateLimit(events=-5, period_seconds=60),
        RateLimit(events=MAX_RATE_EVENTS + 1, period_seconds=60),
        RateLimit(events=10, period_seconds=0),
        RateLimit(events=10, period_seconds=-60),
        RateLimit(events=10, period_seconds=MAX_RATE_PERIOD + 1),
        # More than one event per microsecond cannot be spaced by the limiter.
        RateLimit(events=MAX_RATE_EVENTS, period_seconds=1),
    ],
)
def test_rate_limits_the_limiter_cannot_run_are_refused(rate: RateLimit) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_rate_limit(rate)
    assert caught.value.field == "rate_limit"


def test_an_error_names_the_event_and_field_it_is_about() -> None:
    assert str(InvalidInput("bad", index=4)) == "event 4: bad"
    assert str(InvalidInput("bad", field="path")) == "path: bad"
    assert str(InvalidInput("bad", field="path", index=0)) == "event 0: path: bad"
    assert str(InvalidInput("bad")) == "bad"
