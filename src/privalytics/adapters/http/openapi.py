"""OpenAPI for the routes that decode their own body, or that Litestar cannot see at all.

The ingestion routes are raw ASGI routes (see :mod:`.ingest`), which Litestar leaves out
of the schema: :func:`post_path_item` describes them by hand and :func:`add_paths` puts
them in the app's schema. The admin routes with a body read raw bytes, so Litestar cannot
see their body's type: :func:`operation_with_body` gives their operations the JSON Schema
msgspec derives from the wire Structs, inlined, under the media types they read (for
ingestion, both that a tracker sends).

Every error a route can answer is documented in its operation with the one error body
(:class:`~.schemas.ErrorOut`): :func:`error_specs` for Litestar's routes,
:func:`error_responses` for the path items made here, and :func:`add_paths` gives every
documented error the headers it always carries (``WWW-Authenticate`` on 401, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    RequestBody,
    Schema,
    SecurityRequirement,
)

from privalytics.adapters.http.constraints import ID
from privalytics.adapters.http.ids import PATH_IDS
from privalytics.adapters.http.schemas import ErrorOut

JSON_OR_TEXT = ("application/json", "text/plain")

# What each error status means, for every route that can answer it.
ERRORS: dict[int, str] = {
    400: "The request is not valid: `error` is `invalid_json` or `invalid_input`, `field` "
    "(and `index`, in a batch) name what is wrong.",
    401: "No credential, or not a valid one.",
    403: "The request's origin may not send events to this project (`origin_not_allowed`), "
    "or an event names its visitor (`visitor_ip`, `user_agent`) with a browser token "
    "(`server_token_required`).",
    404: "No such project, token or dimension.",
    413: "The body is larger than this route accepts.",
    429: "Over the rate limit, or too many failed token checks from this address; "
    "`Retry-After` says when to try again (absent when the batch can never pass).",
    503: "The storage does not answer; try again after `Retry-After` seconds.",
}
# The headers an error of each status carries: (name, always there, what it says).
_HEADERS: dict[int, tuple[tuple[str, bool, str], ...]] = {
    401: (("WWW-Authenticate", True, "Bearer"),),
    429: (
        ("RateLimit-Limit", True, "Events per period."),
        ("RateLimit-Remaining", True, "Events left now."),
        ("RateLimit-Reset", True, "Whole seconds until the limit is full again."),
        ("Retry-After", False, "Whole seconds to wait before this request can pass."),
    ),
    503: (("Retry-After", True, "Whole seconds to wait."),),
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


def _schema(struct: type[msgspec.Struct]) -> Schema:
    (schema,), defs = msgspec.json.schema_components([struct])
    return cast("Schema", _inline(schema, defs))


def _request_body(
    struct: type[msgspec.Struct], description: str, media_types: Sequence[str]
) -> RequestBody:
    media = OpenAPIMediaType(schema=_schema(struct))
    return RequestBody(
        content=dict.fromkeys(media_types, media), description=description, required=True
    )


def operation_with_body(
    struct: type[msgspec.Struct],
    description: str,
    media_types: tuple[str, ...] = JSON_OR_TEXT,
) -> type[Operation]:
    """An Operation class whose request body is ``struct`` as JSON."""
    body = _request_body(struct, description, media_types)

    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            if self.request_body is None:
                self.request_body = body

    return WithBody


def operation_with_stream(
    description: str, media_types: Sequence[str], status: int = 200
) -> type[Operation]:
    """An Operation class whose success answer is text in one of ``media_types`` (a
    streamed file: CSV, JSON Lines), which Litestar cannot see from the handler."""
    answer = OpenAPIResponse(
        description=description,
        content={
            media: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)) for media in media_types
        },
    )

    @dataclass
    class WithStream(Operation):
        def __post_init__(self) -> None:
            self.responses = {**(self.responses or {}), str(status): answer}

    return WithStream


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A documented answer: its status, what it means and its JSON body's Struct."""

    status: int
    description: str
    body: type[msgspec.Struct]


def error_specs(*statuses: int) -> dict[int, ResponseSpec]:
    """The documented errors of a Litestar route (``responses=``)."""
    return {
        status: ResponseSpec(ErrorOut, description=ERRORS[status], generate_examples=False)
        for status in statuses
    }


def error_responses(*statuses: int) -> dict[str, OpenAPIResponse]:
    """The documented errors of an operation made here."""
    return {
        str(status): OpenAPIResponse(
            description=ERRORS[status],
            content={"application/json": OpenAPIMediaType(schema=_schema(ErrorOut))},
        )
        for status in statuses
    }


def _headers(status: int) -> dict[str, OpenAPIHeader]:
    return {
        name: OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING), required=required, description=description
        )
        for name, required, description in _HEADERS.get(status, ())
    }


def post_path_item(
    *,
    operation_id: str,
    summary: str,
    description: str,
    tags: Sequence[str],
    security: Sequence[SecurityRequirement],
    body: type[msgspec.Struct],
    body_description: str,
    answer: Answer,
    errors: Sequence[int],
    media_types: Sequence[str] = JSON_OR_TEXT,
) -> PathItem:
    """The path item of a route that only answers POST (and its CORS preflight)."""
    return PathItem(
        post=Operation(
            operation_id=operation_id,
            summary=summary,
            description=description,
            tags=list(tags),
            security=list(security),
            request_body=_request_body(body, body_description, media_types),
            responses={
                str(answer.status): OpenAPIResponse(
                    description=answer.description,
                    content={"application/json": OpenAPIMediaType(schema=_schema(answer.body))},
                ),
                **error_responses(*errors),
            },
        )
    )


def _complete(operation: Operation) -> None:
    """Give ``operation`` what holds for every route: the headers of its documented
    errors, and the form of the ids in its path (:func:`.ids.known_ids` checks it)."""
    for status, response in (operation.responses or {}).items():
        if isinstance(response, OpenAPIResponse) and int(status) in _HEADERS:
            response.headers = {**(response.headers or {}), **_headers(int(status))}
    for parameter in operation.parameters or ():
        if (
            isinstance(parameter, Parameter)
            and parameter.param_in == "path"
            and parameter.name in PATH_IDS
            and isinstance(parameter.schema, Schema)
        ):
            parameter.schema.pattern = ID


def add_paths(paths: Mapping[str, PathItem]) -> Callable[[Litestar], None]:
    """A startup hook that adds ``paths`` to the app's schema (once every route, hence
    every path Litestar documents itself, is registered), and the headers of every
    documented error."""

    def on_startup(app: Litestar) -> None:
        schema = app.openapi_schema
        schema.paths = {**(schema.paths or {}), **paths}
        for item in schema.paths.values():
            for operation in (item.get, item.post, item.patch, item.put, item.delete):
                if operation is not None:
                    _complete(operation)

    return on_startup
