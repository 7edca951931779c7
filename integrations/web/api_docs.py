"""The API reference page, rendered from an OpenAPI document (plain data in, HTML out).

No script: every part is a link or text, so a keyboard reaches everything with Tab and the
page reads top to bottom on a phone. Every string from the document is escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from integrations.web.layout import esc, page

DOCS_CSS = """\
.api code{overflow-wrap:anywhere;font-size:.92em}
.api .op{border-top:1px solid var(--line);padding:.75rem 0}
.api .method{display:inline-block;min-width:4.2rem;font-weight:700;font-family:monospace}
.api dl{margin:.25rem 0 .75rem}.api dt{font-weight:600;margin-top:.4rem;overflow-wrap:anywhere}
.api dd{margin:0 0 0 1rem;overflow-wrap:anywhere}
.api ul.toc{list-style:none;padding:0}.api ul.toc li{margin:.2rem 0;overflow-wrap:anywhere}
.api .muted{color:var(--muted)}
"""

_TICKS = re.compile(r"``(.+?)``")
_REF_PREFIX = "#/components/schemas/"


def render_docs(doc: Mapping[str, Any]) -> str:
    """The whole page for ``doc``."""
    info = doc.get("info", {})
    ops = list(_operations(doc))
    tags = list(dict.fromkeys(op["tags"][0] for _, _, op in ops))
    toc = "".join(
        f"<li><h3>{esc(tag.capitalize())}</h3><ul class=toc>"
        + "".join(
            f'<li><a href="#op-{esc(op["operationId"])}"><span class=method>{esc(m.upper())}'
            f"</span> <code>{esc(path)}</code></a> {esc(op.get('summary', ''))}</li>"
            for path, m, op in ops
            if op["tags"][0] == tag
        )
        + "</ul></li>"
        for tag in tags
    )
    schemas = doc.get("components", {}).get("schemas", {})
    body = (
        f"<style>{DOCS_CSS}</style><div class=api>"
        f"<h1>{esc(info.get('title', 'API'))} <span class=muted>{esc(info.get('version', ''))}"
        "</span></h1>"
        f'<p class="lead">{_text(info.get("description", ""))}</p>'
        '<p>Machine-readable: <a href="/api/openapi.json">the OpenAPI 3.1 document</a>. '
        '<a href="#schemas">Schemas</a></p>'
        f'<nav aria-label="Operations"><h2>Operations</h2><ul class=toc>{toc}</ul></nav>'
        + "<h2>Reference</h2>"
        + "".join(_operation(path, method, op) for path, method, op in ops)
        + '<h2 id="schemas">Schemas</h2>'
        + "".join(_schema(name, schema) for name, schema in schemas.items())
        + '<p><a href="#main">Back to top</a></p></div>'
    )
    return page("API reference", body)


def _operations(doc: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
    ]


def _operation(path: str, method: str, op: Mapping[str, Any]) -> str:
    op_id = esc(op["operationId"])
    parts = [
        f'<section class=op id="op-{op_id}" aria-labelledby="h-{op_id}">'
        f'<h3 id="h-{op_id}"><span class=method>{esc(method.upper())}</span> '
        f"<code>{esc(path)}</code></h3><p><strong>{esc(op.get('summary', ''))}</strong></p>"
    ]
    if op.get("description"):
        parts.append(f'<p class="pre">{_text(op["description"])}</p>')
    scope = op.get("x-sitrep-scope")
    parts.append(
        f"<p>Token scope: <code>{esc(scope)}</code></p>" if scope else "<p>No token needed.</p>"
    )
    params = op.get("parameters", [])
    if params:
        parts.append("<h4>Parameters</h4><dl>")
        for p in params:
            need = "required" if p.get("required") else "optional"
            parts.append(
                f"<dt><code>{esc(p['name'])}</code> <span class=muted>({esc(p['in'])}, {need})"
                f"</span></dt><dd>{_type(p.get('schema', {}))}. {_text(p.get('description', ''))}"
                "</dd>"
            )
        parts.append("</dl>")
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        parts.append(f"<h4>Body</h4><p>JSON: {_type(schema)}</p>")
    parts.append("<h4>Responses</h4><dl>")
    for status, answer in op.get("responses", {}).items():
        content = answer.get("content", {})
        kinds = ", ".join(
            f"{esc(media)} {_type(c.get('schema', {}))}" for media, c in content.items()
        )
        parts.append(
            f"<dt>{esc(status)}</dt><dd>{_text(answer.get('description', ''))}"
            f"{'<br>' + kinds if kinds else ''}</dd>"
        )
    parts.append('</dl><p><a href="#main">Back to top</a></p></section>')
    return "".join(parts)


def _schema(name: str, schema: Mapping[str, Any]) -> str:
    out = [f'<section class=op id="schema-{esc(name)}"><h3>{esc(name)}</h3>']
    if schema.get("description"):
        out.append(f'<p class="pre">{_text(schema["description"])}</p>')
    props = schema.get("properties")
    if props:
        required = set(schema.get("required", []))
        out.append("<dl>")
        for prop, sub in props.items():
            need = "required" if prop in required else "optional"
            described = f" {_text(sub['description'])}" if sub.get("description") else ""
            out.append(
                f"<dt><code>{esc(prop)}</code> <span class=muted>({need})</span></dt>"
                f"<dd>{_type(sub)}.{described}</dd>"
            )
        out.append("</dl>")
    else:
        out.append(f"<p>{_type(schema)}</p>")
    out.append("</section>")
    return "".join(out)


def _type(schema: Mapping[str, Any]) -> str:
    """A schema in words, with links to named schemas."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(_REF_PREFIX)
        return f'<a href="#schema-{esc(name)}">{esc(name)}</a>'
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{esc(v)}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{esc(schema['const'])}</code>"
    kind = schema.get("type")
    if kind == "array":
        return "list of " + _type(schema.get("items", {}))
    if kind == "object" or kind is None:
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            return "object of " + _type(extra)
        return "object" if kind else "any JSON"
    words = [esc(kind)]
    if "format" in schema:
        words.append(f"({esc(schema['format'])})")
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        words.append(f"from {esc(low if low is not None else '…')} to {esc(high or '…')}")
    if "maxLength" in schema:
        low_len = schema.get("minLength", 0)
        words.append(f"of {esc(low_len)} to {esc(schema['maxLength'])} characters")
    elif "minLength" in schema:
        words.append(f"of at least {esc(schema['minLength'])} characters")
    if "pattern" in schema:
        words.append(f"matching <code>{esc(schema['pattern'])}</code>")
    if "default" in schema:
        words.append(f"(default <code>{esc(json.dumps(schema['default']))}</code>)")
    return " ".join(words)


def _text(value: object) -> str:
    """Escaped prose with ``code`` spans."""
    return _TICKS.sub(r"<code>\1</code>", esc(value))
