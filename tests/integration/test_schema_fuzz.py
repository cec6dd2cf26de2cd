"""The published OpenAPI schema, held against the real server by schemathesis.

Every operation is fuzzed with requests generated from the schema, valid ones (positive)
and invalid ones (negative), each mode a test of its own; then sequences of calls follow
the links schemathesis infers (create a project, read it, issue a token, revoke it, ...).
Every answer must be no server error, and exactly what the schema documents: its status,
content type, headers and body. Credentials come from the schema's security schemes, so
the authenticated routes are exercised, not only their 401.

Derandomized, so a run is the same run every time; the number of examples per operation
and mode (and of call sequences) is ``PRIVALYTICS_TEST_FUZZ_EXAMPLES`` (default 25;
docs/testing.md: how to run it longer).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from privalytics.adapters.http import HttpOptions, create_app
from privalytics.adapters.metrics import Metrics
from privalytics.testing import make_services
from tests.servers import Server, cli

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("PRIVALYTICS_TEST_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    # A loaded machine answers slowly now and then: speed is not what is tested here.
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# Methods that change a project: never sent to the one whose token fuzzes ingestion.
_CHANGING = {"DELETE", "PATCH", "POST"}


@dataclass(frozen=True)
class Fuzzed:
    server: Server
    admin_key: str
    token: str
    # The project whose token sends events, and one that changing calls may change.
    project_id: str
    spare_id: str

    def protect(self, case: schemathesis.Case) -> None:
        """Point a call that would change (delete, revoke every token of...) the ingestion
        project at the spare project instead: the ingestion routes keep a valid token."""
        params = case.path_parameters
        if (
            case.method.upper() in _CHANGING
            and params is not None
            and params.get("project_id") == self.project_id
        ):
            params["project_id"] = self.spare_id


# Credentials hashed at bcrypt's lowest cost: checking them is not what is tested here.
_FAST = {"PRIVALYTICS_BCRYPT_ROUNDS": "4"}


def _cli(url: str, *args: str) -> Any:
    done = cli(url, *args, "--json", **_FAST)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    where = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite+aiosqlite:///{where / 'fuzz.db'}"
    key = _cli(url, "admin", "key", "create")["key"]
    server = Server(url, where / "server.log", **_FAST, PRIVALYTICS_METRICS="on")
    try:
        server.wait_ready()
        admin = {"Authorization": f"Bearer {key}"}

        def project(**fields: Any) -> Any:
            answer = httpx.post(
                f"{server.url}/api/v1/projects", json=fields, headers=admin, timeout=30
            )
            assert answer.status_code == 201, answer.text
            return answer.json()

        # A rate limit that generated traffic never reaches: a 429 is documented, but a
        # run that only met 429s would fuzz nothing past the limiter.
        created = project(name="fuzzed", rate_limit="1000000/second")
        yield Fuzzed(
            server=server,
            admin_key=key,
            token=created["token"],
            project_id=created["project"]["id"],
            spare_id=project(name="spare")["project"]["id"],
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fuzz_schema(fuzzed: Fuzzed) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "auth": {
                "openapi": {
                    "adminKey": {"bearer": fuzzed.admin_key},
                    "projectToken": {"bearer": fuzzed.token},
                }
            }
        }
    )
    return schemathesis.openapi.from_url(
        f"{fuzzed.server.url}/schema/openapi.json", config=config, timeout=30
    )


# Operations are parametrized here rather than by schemathesis' lazy pytest loader
# (schemathesis.pytest.from_fixture), which fails under pytest 9: it reads a private
# attribute that pytest no longer has (Function._nodeid).
def _operations() -> list[Any]:
    """(method, path) of every documented operation, from the app built in this process:
    the same code as the server's, so the same schema (a path missing from the server's
    fails the test that asks for it)."""
    options = HttpOptions(metrics=Metrics())
    with TestClient(create_app(make_services(), options)) as client:
        paths = client.get("/schema/openapi.json").json()["paths"]
    return [
        pytest.param(mode, method.upper(), path, id=f"{mode}-{method.upper()} {path}")
        for path, item in paths.items()
        for method, operation in item.items()
        for mode in GenerationMode
        # An operation that reads nothing has no invalid request to make.
        if mode is GenerationMode.POSITIVE
        or operation.get("parameters", operation.get("requestBody"))
    ]


@pytest.mark.parametrize(("mode", "method", "path"), _operations())
def test_every_answer_is_the_documented_one(
    fuzz_schema: Any, fuzzed: Fuzzed, mode: GenerationMode, method: str, path: str
) -> None:
    """Valid requests (positive) and invalid ones (negative) of one operation."""
    operation = fuzz_schema[path][method]
    statuses: set[int] = set()

    @FUZZ
    @given(operation.as_strategy(mode))
    def answers(case: schemathesis.Case) -> None:
        fuzzed.protect(case)
        statuses.add(case.call_and_validate(checks=CHECKS, timeout=30).status_code)

    answers()
    if mode is GenerationMode.POSITIVE and operation.definition.raw.get("security"):
        # The credentials were sent: the route itself was fuzzed, not only its 401.
        assert statuses - {401}, statuses


def test_sequences_of_calls_answer_as_documented(fuzz_schema: Any, fuzzed: Fuzzed) -> None:
    class Calls(fuzz_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            fuzzed.protect(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"timeout": 30}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            kwargs.pop("additional_checks", None)
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Calls.run(settings=settings(FUZZ, stateful_step_count=10))
