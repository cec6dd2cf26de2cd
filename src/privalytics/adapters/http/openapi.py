"""OpenAPI for the routes that decode their own body.

The ingestion routes, and the admin routes with a body, read raw bytes (see
:mod:`.ingest`), so Litestar cannot see their body's type; this gives their operations
the JSON Schema msgspec derives from the wire Structs, inlined, under the media types
they read (for ingestion, both that a tracker sends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


def operation_with_body(
    struct: type[msgspec.Struct],
    description: str,
    media_types: tuple[str, ...] = ("application/json", "text/plain"),
) -> type[Operation]:
    """An Operation class whose request body is ``struct`` as JSON."""
    (schema,), defs = msgspec.json.schema_components([struct])
    media = OpenAPIMediaType(schema=cast("Schema", _inline(schema, defs)))
    body = RequestBody(
        content=dict.fromkeys(media_types, media),
        description=description,
        required=True,
    )

    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            if self.request_body is None:
                self.request_body = body

    return WithBody
