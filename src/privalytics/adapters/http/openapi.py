"""OpenAPI for the routes that decode their own body, or that Litestar cannot see at all.

The ingestion routes are raw ASGI routes (see :mod:`.ingest`), which Litestar leaves out
of the schema: :func:`post_path_item` describes them by hand and :func:`add_paths` puts
them in the app's schema. The admin routes with a body read raw bytes, so Litestar cannot
see their body's type: :func:`operation_with_body` gives their operations the JSON Schema
msgspec derives from the wire Structs, inlined, under the media types they read (for
ingestion, both that a tracker sends).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    PathItem,
    RequestBody,
    Schema,
    SecurityRequirement,
)

JSON_OR_TEXT = ("application/json", "text/plain")


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


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A documented answer: its status, what it means and its JSON body's Struct."""

    status: int
    description: str
    body: type[msgspec.Struct]


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
                )
            },
        )
    )


def add_paths(paths: Mapping[str, PathItem]) -> Callable[[Litestar], None]:
    """A startup hook that adds ``paths`` to the app's schema (once every route, hence
    every path Litestar documents itself, is registered)."""

    def on_startup(app: Litestar) -> None:
        schema = app.openapi_schema
        schema.paths = {**(schema.paths or {}), **paths}

    return on_startup
