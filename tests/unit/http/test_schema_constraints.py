"""The published OpenAPI schema states the domain's limits: the same numbers, and patterns
that accept what the domain accepts. A limit changed on one side only fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privalytics.adapters.http import constraints
from privalytics.domain.devices import MAX_SCREEN_WIDTH
from privalytics.domain.dimensions import DIMENSIONS
from privalytics.domain.errors import InvalidInput
from privalytics.domain.filters import MAX_FILTER_VALUE, MAX_FILTERS, parse_filter
from privalytics.domain.funnels import MAX_FUNNEL_NAME, MAX_STEPS, MIN_STEPS
from privalytics.domain.goals import MAX_GOAL_EVENT, MAX_GOAL_NAME, MAX_PATTERN
from privalytics.domain.ratelimit import RATE_UNITS, parse_rate_limit
from privalytics.domain.reporting import MAX_TOP, PERIODS
from privalytics.domain.validation import (
    MAX_BATCH,
    MAX_NAME,
    MAX_ORIGINS,
    MAX_PATH,
    MAX_PROP_KEY,
    MAX_PROP_VALUE,
    MAX_PROPS,
    MAX_TARGET,
    MAX_USER_AGENT,
    clean_name,
    clean_origin,
    reduce_path,
)
from tests.unit.http.conftest import Api


@pytest.fixture
def schema(api: Api) -> Any:
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def _body(schema: Any, path: str, method: str = "post") -> Any:
    return schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def _string(field: Any) -> Any:
    """The string member of ``T | None``."""
    for member in field.get("anyOf", [field]):
        if member.get("type") == "string":
            return member
    raise AssertionError(f"no string in {field}")


def _parameter(schema: Any, path: str, name: str) -> Any:
    (found,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found["schema"]


def test_an_event_states_the_domain_limits(schema: Any) -> None:
    event = _body(schema, "/api/v1/events")["properties"]
    assert (event["path"]["minLength"], event["path"]["maxLength"]) == (1, MAX_PATH)
    assert _string(event["referrer"])["maxLength"] == MAX_PATH
    assert _string(event["target"])["maxLength"] == MAX_TARGET
    assert _string(event["user_agent"])["maxLength"] == MAX_USER_AGENT
    props = event["props"]
    assert props["maxProperties"] == MAX_PROPS
    assert (props["propertyNames"]["minLength"], props["propertyNames"]["maxLength"]) == (
        1,
        MAX_PROP_KEY,
    )
    # A property's value: text of bounded length, or a number or a boolean (stored as text).
    values = props["additionalProperties"]["anyOf"]
    assert next(v for v in values if v.get("type") == "string")["maxLength"] == MAX_PROP_VALUE
    assert {v["type"] for v in values} == {"string", "integer", "number", "boolean"}
    width = event["screen_width"]["anyOf"][0]
    assert (width["minimum"], width["maximum"]) == (0, MAX_SCREEN_WIDTH)
    events = _body(schema, "/api/v1/events/batch")["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, MAX_BATCH)


def test_the_trackers_bodies_state_the_same_limits(schema: Any) -> None:
    plausible = _body(schema, "/api/event")["properties"]
    umami = _body(schema, "/api/send")["properties"]["payload"]["properties"]
    for page, referrer in ((plausible["u"], plausible["r"]), (umami["url"], umami["referrer"])):
        assert (page["maxLength"], page["pattern"]) == (MAX_PATH, constraints.PATH_PATTERN)
        assert _string(referrer)["maxLength"] == MAX_PATH


def test_a_project_states_the_domain_limits(schema: Any) -> None:
    for method, path in (("post", "/api/v1/projects"), ("patch", "/api/v1/projects/{project_id}")):
        project = _body(schema, path, method)["properties"]
        assert _string(project["name"])["maxLength"] == MAX_NAME
        origins = project["allowed_origins"]
        origins = next(m for m in origins.get("anyOf", [origins]) if m.get("type") == "array")
        assert origins["maxItems"] == MAX_ORIGINS
        assert origins["items"]["maxLength"] == MAX_PATH


def test_the_report_parameters_state_the_domain_choices(schema: Any) -> None:
    for path in (
        "/api/v1/projects/{project_id}/stats",
        "/api/v1/projects/{project_id}/breakdown/{dimension}",
    ):
        limit = _parameter(schema, path, "limit")
        assert (limit["minimum"], limit["maximum"]) == (1, MAX_TOP)
        assert _parameter(schema, path, "period")["enum"] == list(PERIODS)
        assert _parameter(schema, path, "range")["enum"] == list(PERIODS)
        assert _parameter(schema, path, "filter")["maxItems"] == MAX_FILTERS
        assert _parameter(schema, path, "project_id")["pattern"] == "^[0-9a-f]{16}$"
    dimension = _parameter(
        schema, "/api/v1/projects/{project_id}/breakdown/{dimension}", "dimension"
    )
    assert dimension["enum"] == list(DIMENSIONS)


def test_every_documented_error_has_the_error_body(schema: Any) -> None:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            statuses = {int(status) for status in operation["responses"]}
            if operation.get("security"):
                assert 401 in statuses, (method, path)
            for status in statuses - {200, 201, 202, 204}:
                if path == "/healthz":
                    continue
                body = operation["responses"][str(status)]["content"]["application/json"]
                assert body["schema"].get("$ref", "").endswith("/ErrorOut") or (
                    body["schema"].get("title") == "ErrorOut"
                ), (method, path, status)


# One character of any kind, surrogates aside (JSON text cannot carry a lone one).
_CHARACTERS = st.characters(exclude_categories=("Cs",))


def _accepts(check: Any, text: str) -> bool:
    try:
        check(text)
    except InvalidInput:
        return False
    return True


def _ecma_search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches ``text`` as JSON Schema reads it (ECMA-262): there, a
    final ``$`` is the end of the text, where Python's also matches before a last "\n"."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.search(pattern, text) is not None


@given(st.text(_CHARACTERS, max_size=8))
def test_the_path_pattern_accepts_what_the_domain_accepts(tail: str) -> None:
    # A bare tail is refused unless it starts with "/" (a tail that starts a URL aside:
    # "http://[" is a broken URL that no pattern of this length can tell).
    bare = () if tail[:4].lower() == "http" else (tail,)
    for path in ("/" + tail, "https://example.com/" + tail, *bare):
        assert _ecma_search(constraints.PATH_PATTERN, path) == _accepts(reduce_path, path)


@given(st.text(_CHARACTERS, min_size=1, max_size=8))
def test_the_name_pattern_accepts_what_the_domain_accepts(name: str) -> None:
    # The domain trims a name first: the pattern can refuse what trimming would drop.
    if name == name.strip():
        assert _ecma_search(constraints.NAME_PATTERN, name) == _accepts(clean_name, name)


@given(_CHARACTERS)
def test_a_character_the_schema_allows_in_text_is_one_the_domain_stores(char: str) -> None:
    assert _ecma_search(constraints.PLAIN_TEXT, f"a{char}b") == _accepts(reduce_path, f"/a{char}b")


@pytest.mark.parametrize("unit", RATE_UNITS)
def test_every_rate_unit_is_in_the_pattern(unit: str) -> None:
    for text in (f"5/{unit}", f" 5 / {unit.upper()} "):
        assert re.search(constraints.RATE_LIMIT_PATTERN, text)
        parse_rate_limit(text)
    assert not re.search(constraints.RATE_LIMIT_PATTERN, f"5/{unit}x")


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_every_dimension_can_be_filtered_as_the_pattern_says(dimension: str) -> None:
    for text in (f"{dimension}==x", f"{dimension}!=", f"{dimension}~x"):
        assert re.search(constraints.FILTER_PATTERN, text)
        parse_filter(text)
    for text in (f"{dimension}~", f"{dimension}=={'x' * (MAX_FILTER_VALUE + 1)}"):
        assert not re.search(constraints.FILTER_PATTERN, text)
        assert not _accepts(parse_filter, text)


@pytest.mark.parametrize(
    "origin", ["https://example.com", "http://localhost:8080", "https://[::1]:8443/", "HTTPS://A.B"]
)
def test_an_origin_the_pattern_accepts_is_one_the_domain_accepts(origin: str) -> None:
    assert re.search(constraints.ORIGIN_PATTERN, origin)
    clean_origin(origin)


def test_a_goal_states_the_domain_limits(schema: Any) -> None:
    goal = _body(schema, "/api/v1/projects/{project_id}/goals")["properties"]
    page = _string(goal["page"])
    assert (page["maxLength"], page["pattern"]) == (MAX_PATTERN, constraints.GOAL_PATTERN_PATTERN)
    assert _string(goal["event"])["maxLength"] == MAX_GOAL_EVENT
    assert _string(goal["name"])["maxLength"] == MAX_GOAL_NAME
    depth = next(
        m for m in goal["depth"].get("anyOf", [goal["depth"]]) if m.get("type") == "integer"
    )
    assert (depth["minimum"], depth["maximum"]) == (1, 100)


def test_a_funnel_states_the_domain_limits(schema: Any) -> None:
    funnel = _body(schema, "/api/v1/projects/{project_id}/funnels")
    if "$ref" in funnel:
        funnel = schema["components"]["schemas"][funnel["$ref"].rsplit("/", 1)[1]]
    steps = funnel["properties"]["steps"]
    assert (steps["minItems"], steps["maxItems"]) == (MIN_STEPS, MAX_STEPS)
    assert funnel["required"] == ["steps"]
    assert _string(funnel["properties"]["name"])["maxLength"] == MAX_FUNNEL_NAME
    step = steps["items"]
    if "$ref" in step:
        step = schema["components"]["schemas"][step["$ref"].rsplit("/", 1)[1]]
    assert _string(step["properties"]["page"])["maxLength"] == MAX_PATTERN
    assert _string(step["properties"]["event"])["maxLength"] == MAX_GOAL_EVENT
