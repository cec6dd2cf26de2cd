"""Custom events: names, properties (limits, types, Umami's nested data), revenue; and
what they count for: the ``event`` and ``prop:KEY`` dimensions, filters, bounces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privalytics.domain import insight
from privalytics.domain.custom import (
    MAX_EVENT_NAME,
    MAX_PROP_KEY,
    MAX_PROP_VALUE,
    MAX_PROPS,
    clean_props,
    flatten,
    prop_text,
    revenue_amount,
)
from privalytics.domain.dimensions import dimension
from privalytics.domain.errors import InvalidInput
from privalytics.domain.filters import parse_filters
from privalytics.domain.models import Action, Event, IncomingEvent
from privalytics.domain.sessions import sessionize
from privalytics.domain.validation import DEFAULT_MAX_AGE, clean_event

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DAILY = timedelta(days=1)


def clean(**fields: object) -> IncomingEvent:
    event = IncomingEvent(**{"action": Action.CUSTOM, "path": "/", **fields})  # type: ignore[arg-type]
    return clean_event(event, NOW, DEFAULT_MAX_AGE, 2)


def refusal(**fields: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        clean(**fields)
    assert caught.value.index == 2
    return caught.value


def test_a_custom_event_keeps_its_cleaned_name() -> None:
    assert clean(name="  Signup ").name == "Signup"
    assert clean(name="注册").name == "注册"
    assert clean(name="s" * MAX_EVENT_NAME).name == "s" * MAX_EVENT_NAME


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("s" * (MAX_EVENT_NAME + 1), f"longer than {MAX_EVENT_NAME} characters"),
        ("Sign\nup", "a control character"),
        ("\ud800", "lone surrogate"),
    ],
)
def test_a_bad_name_is_refused_naming_the_rule(name: str, message: str) -> None:
    error = refusal(name=name)
    assert error.field == "name"
    assert message in error.message


def test_a_custom_event_needs_a_name_and_a_built_in_action_has_none() -> None:
    assert refusal().field == "name"
    with pytest.raises(InvalidInput, match="either an action or"):
        clean_event(
            IncomingEvent(action=Action.CLICK, path="/", name="Signup"), NOW, DEFAULT_MAX_AGE
        )


@pytest.mark.parametrize("name", ["visit", "Click", " SCROLL ", "download", "share"])
def test_a_built_in_name_keeps_its_meaning(name: str) -> None:
    value = 50.0 if name.strip().lower() == "scroll" else None
    cleaned = clean(name=name, value=value)
    assert cleaned.action.value == name.strip().lower()
    assert cleaned.name is None


def test_properties_are_kept_as_text() -> None:
    props = {"plan": "pro", "seats": 3, "yearly": True, "ratio": 0.5, "whole": 2.0, "no": False}
    assert clean(name="Signup", props=props).props == {
        "plan": "pro",
        "seats": "3",
        "yearly": "true",
        "ratio": "0.5",
        "whole": "2",
        "no": "false",
    }


def test_property_limits_are_named_in_the_refusal() -> None:
    most = {f"k{n}": "v" for n in range(MAX_PROPS)}
    assert len(clean_props(most)) == MAX_PROPS
    error = refusal(name="Signup", props={**most, "one more": "v"})
    assert error.field == "props"
    assert f"at most {MAX_PROPS} properties (got {MAX_PROPS + 1})" in error.message
    key = refusal(name="Signup", props={"k" * (MAX_PROP_KEY + 1): "v"})
    assert f"a property name is longer than {MAX_PROP_KEY} characters" in key.message
    value = refusal(name="Signup", props={"k": "v" * (MAX_PROP_VALUE + 1)})
    assert f"a property value is longer than {MAX_PROP_VALUE} characters" in value.message
    assert clean(name="Signup", props={"k" * MAX_PROP_KEY: "v" * MAX_PROP_VALUE}).props
    assert "must not be empty" in refusal(name="Signup", props={"": "v"}).message


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.integers() | st.booleans()))
def test_numbers_and_booleans_are_stored_as_json_writes_them(props: dict[str, object]) -> None:
    texts = {key: prop_text(value) for key, value in props.items()}
    assert all(isinstance(text, str) for text in texts.values())
    assert all(text in ("true", "false") or int(text) == props[key] for key, text in texts.items())  # type: ignore[arg-type]


def test_umami_data_is_flattened_to_dotted_keys() -> None:
    data = {"plan": "pro", "cart": {"items": 2, "coupon": {"code": "X"}}, "tags": ["a", "b"]}
    assert flatten(data) == {
        "plan": "pro",
        "cart.items": 2,
        "cart.coupon.code": "X",
        "tags.0": "a",
        "tags.1": "b",
    }
    assert flatten({"gone": None}) == {}
    with pytest.raises(InvalidInput, match="nest at most"):
        flatten({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}})
    with pytest.raises(InvalidInput, match=f"at most {MAX_PROPS} properties"):
        flatten({"many": list(range(MAX_PROPS + 1))})


def test_a_revenue_is_an_amount_and_an_iso_currency() -> None:
    cleaned = clean(name="Purchase", value=revenue_amount("10.29"), currency="eur")
    assert (cleaned.value, cleaned.currency) == (10.29, "EUR")
    assert revenue_amount(5) == 5.0
    for bad in ("ten", "1e5", True, None, "1" * 14, 1e13):
        with pytest.raises(InvalidInput, match="revenue amount"):
            revenue_amount(bad)
    assert refusal(name="Purchase", value=1.0, currency="EURO").field == "currency"
    assert refusal(name="Purchase", value=1.0, currency="XYZ").field == "currency"
    assert refusal(name="Purchase", value=1.0).field == "currency"
    assert refusal(name="Purchase", currency="EUR").field == "value"
    with pytest.raises(InvalidInput, match="only a custom event has a revenue"):
        clean_event(
            IncomingEvent(action=Action.CLICK, path="/", value=1.0, currency="EUR"),
            NOW,
            DEFAULT_MAX_AGE,
        )


# ---- what custom events count for ---------------------------------------------------------


def event(visitor: str, minute: int, action: Action, **fields: object) -> Event:
    return Event(
        project_id="p",
        visitor_hash=visitor,
        timestamp=NOW + timedelta(minutes=minute),
        action=action,
        path=str(fields.pop("path", "/")),
        **fields,  # type: ignore[arg-type]
    )


EVENTS = [
    # a: views a page and signs up (pro): not a bounce.
    event("a", 0, Action.VISIT),
    event("a", 1, Action.CUSTOM, name="Signup", props={"plan": "pro"}),
    # b: views two pages, signs up twice (free, then pro), buys.
    event("b", 0, Action.VISIT),
    event("b", 1, Action.VISIT, path="/pricing"),
    event("b", 2, Action.CUSTOM, name="Signup", props={"plan": "free"}),
    event("b", 3, Action.CUSTOM, name="Signup", props={"plan": "pro"}),
    event("b", 4, Action.CUSTOM, name="Purchase", value=9.5, currency="EUR"),
    # c: one page view only: a bounce.
    event("c", 0, Action.VISIT),
]


def rows(name: str, *filters: str) -> list[tuple[str | None, int, int | None, int]]:
    found = dimension(name)
    assert found is not None
    return [
        (row.value, row.figures.visitors, row.events, row.figures.totals.sessions)
        for row in insight.breakdown(EVENTS, found, parse_filters(filters), DAILY)
    ]


def test_custom_events_are_interactions_not_page_views() -> None:
    sessions = sessionize(EVENTS)
    assert [s.bounced for s in sessions] == [False, False, True]
    figures = insight.figures(EVENTS, (), DAILY)
    assert figures.totals.pageviews == 4
    assert figures.totals.bounces == 1


def test_the_event_breakdown_counts_visitors_and_events_per_name() -> None:
    assert rows("event") == [("Signup", 2, 3, 2), ("Purchase", 1, 1, 1)]


def test_a_property_breakdown_under_an_event_filter_counts_that_events_values() -> None:
    assert rows("prop:plan", "event==Signup") == [("pro", 2, 2, 2), ("free", 1, 1, 1)]
    # The purchase has no plan: a row without a value.
    assert rows("prop:plan") == [("pro", 2, 2, 2), ("free", 1, 1, 1), (None, 1, 1, 1)]


def test_event_and_property_filters_select_custom_events_and_their_sessions() -> None:
    purchase = insight.figures(EVENTS, parse_filters(["event==Purchase"]), DAILY)
    assert (purchase.visitors, purchase.totals.sessions, purchase.totals.pageviews) == (1, 1, 2)
    assert rows("event", "prop:plan==free") == [("Signup", 1, 1, 1)]
    assert rows("event", "event!=Signup") == [("Purchase", 1, 1, 1)]
    assert rows("event", "event~sign") == [("Signup", 2, 3, 2)]
    pages = [
        (row.value, row.figures.totals.pageviews)
        for row in insight.breakdown(
            EVENTS,
            dimension("page"),
            parse_filters(["event==Signup"]),
            DAILY,  # type: ignore[arg-type]
        )
    ]
    assert pages == [("/", 2), ("/pricing", 1)]
