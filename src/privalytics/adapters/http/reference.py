"""The API reference at ``/schema``: one HTML page made here from the OpenAPI schema.

Litestar's viewers (Redoc, Swagger UI, RapiDoc, Elements) load their scripts, styles and
fonts from third-party CDNs, which a privacy-first server must not make its readers do.
:class:`ReferencePage` renders every operation of the schema as plain HTML with its own
inline style, and a Content-Security-Policy that lets the browser load nothing at all;
the schema itself stays at ``/schema/openapi.json`` and ``/schema/openapi.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from html import escape
from typing import Any

from litestar import Request
from litestar.enums import MediaType
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    YamlRenderPlugin,
)

METHODS = ("get", "post", "put", "patch", "delete")
# Nothing may be fetched: no script, no style sheet, no font, no image, no frame.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem;
       padding: 1rem 1.5rem 4rem; color: #1d2330; background: #fff; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #d5d9e0; margin-top: 2.5rem; }
h3 { font-size: 1rem; margin: 1.5rem 0 .25rem; }
code { font-family: ui-monospace, monospace; }
.method { display: inline-block; min-width: 4.5rem; text-transform: uppercase; }
table { border-collapse: collapse; margin: .25rem 0 .75rem; }
th, td { border: 1px solid #d5d9e0; padding: .2rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; }
nav ul { columns: 2; }
@media (prefers-color-scheme: dark) {
  body { color: #e4e7ec; background: #14171c; } th { background: #1f242c; }
  th, td, h2 { border-color: #343b46; } a { color: #8ab4f8; }
}
"""


def _text(value: object) -> str:
    return escape(str(value or ""))


def _paragraph(value: object, *, strong: bool = False) -> str:
    if not value:
        return ""
    return f"<p><strong>{_text(value)}</strong></p>" if strong else f"<p>{_text(value)}</p>"


def _type(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " | ".join(_type(option) for option in schema[key])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(str(k) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"array of {_type(schema['items'])}"
    if "enum" in schema:
        return f"{kind}: " + ", ".join(str(v) for v in schema["enum"])
    return str(kind)


def _table(head: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    if not rows:
        return ""
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{header}</tr>{body}</table>"


def _parameters(operation: Mapping[str, Any]) -> str:
    rows = [
        (
            f"<code>{_text(p.get('name'))}</code>",
            _text(p.get("in")),
            "yes" if p.get("required") else "no",
            _text(_type(p.get("schema", {}))),
            _text(p.get("description")),
        )
        for p in operation.get("parameters", [])
    ]
    return _table(("Parameter", "In", "Required", "Type", "Description"), rows)


def _body(operation: Mapping[str, Any]) -> str:
    body = operation.get("requestBody")
    if not isinstance(body, Mapping) or not body.get("content"):
        return ""
    content: Mapping[str, Any] = body["content"]
    media = ", ".join(f"<code>{_text(m)}</code>" for m in content)
    schema: Mapping[str, Any] = next(iter(content.values())).get("schema", {})
    required = set(schema.get("required", []))
    rows = [
        (
            f"<code>{_text(name)}</code>",
            "yes" if name in required else "no",
            _text(_type(prop)),
            _text(prop.get("description")),
        )
        for name, prop in schema.get("properties", {}).items()
    ]
    fields = _table(("Field", "Required", "Type", "Description"), rows)
    return f"<p>Body ({media}): {_text(body.get('description'))}</p>{fields}"


def _operation(path: str, method: str, operation: Mapping[str, Any]) -> str:
    anchor = _text(operation.get("operationId") or f"{method}-{path}")
    security = sorted({name for req in operation.get("security", []) for name in req})
    auth = f"<p>Credential: {_text(', '.join(security))}</p>" if security else ""
    responses = [
        (f"<code>{_text(status)}</code>", _text(answer.get("description")))
        for status, answer in operation.get("responses", {}).items()
    ]
    return (
        f'<article id="{anchor}"><h3><code class="method">{_text(method)}</code> '
        f"<code>{_text(path)}</code></h3>"
        f"{_paragraph(operation.get('summary'), strong=True)}"
        f"{_paragraph(operation.get('description'))}{auth}"
        f"{_parameters(operation)}{_body(operation)}"
        f"{_table(('Status', 'Meaning'), responses)}</article>"
    )


def _operations(schema: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    """(tag, path, method, operation) for every operation, in the schema's order."""
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            if isinstance(operation := item.get(method), Mapping):
                yield (operation.get("tags") or ["other"])[0], path, method, operation


def render_reference(schema: Mapping[str, Any], json_url: str, yaml_url: str) -> str:
    """The reference page of ``schema``, linking to its JSON and YAML at these URLs."""
    info: Mapping[str, Any] = schema.get("info", {})
    by_tag: dict[str, list[str]] = {}
    for tag, path, method, operation in _operations(schema):
        by_tag.setdefault(tag, []).append(_operation(path, method, operation))
    toc = "".join(f'<li><a href="#tag-{_text(tag)}">{_text(tag)}</a></li>' for tag in by_tag)
    sections = "".join(
        f'<section><h2 id="tag-{_text(tag)}">{_text(tag)}</h2>{"".join(items)}</section>'
        for tag, items in by_tag.items()
    )
    title = f"{_text(info.get('title'))} API reference"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{title}</title><style>{STYLE}</style>'
        f"</head><body><main><h1>{title}</h1>"
        f"<p>Version {_text(info.get('version'))}. {_text(info.get('description'))}</p>"
        f'<p>The machine-readable description: <a href="{_text(json_url)}">OpenAPI JSON</a>, '
        f'<a href="{_text(yaml_url)}">OpenAPI YAML</a>.</p>'
        f"<nav><ul>{toc}</ul></nav>{sections}</main></body></html>"
    )


class ReferencePage(OpenAPIRenderPlugin):
    """Litestar's render plugin for :func:`render_reference`, at the schema's root."""

    def __init__(self) -> None:
        super().__init__(path="/", media_type=MediaType.HTML, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        json_url = self.get_openapi_json_route(request)
        yaml_url = json_url.rsplit("/", 1)[0] + "/openapi.yaml"
        return render_reference(openapi_schema, json_url, yaml_url).encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """The pages under ``/schema``: the reference, the JSON and the YAML; nothing else."""
    return [ReferencePage(), JsonRenderPlugin(), YamlRenderPlugin()]
