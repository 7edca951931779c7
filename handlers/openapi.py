"""The OpenAPI 3.1 document of /api, built from the route table (``handlers.openapi_routes``)
and the pydantic models the handlers validate requests and serialize answers with, served at
/api/openapi.json, and rendered for people at /api/docs (server-side HTML, no script needed).

Both are public: the API's shape is no secret, and a browser has no bearer token to send.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot.identity.tokens import Scope
from handlers.openapi_models import ErrorBody
from handlers.openapi_routes import API_ROUTES, Param, Route, Text, mount
from integrations.web.api_docs import DOCS_CSS, render_docs

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
PUBLIC_PATHS = frozenset({OPENAPI_PATH, DOCS_PATH})
SCHEME = "bearerAuth"
_REF = "#/components/schemas/{model}"

ScopeOf = Callable[[str, str], Scope]


@dataclass(slots=True)
class _Docs:
    """Per app: how to tell a route's scope, and the document once built."""

    scope_of: ScopeOf
    built: dict[str, Any] | None = None


_DOCS = web.AppKey("openapi_docs", _Docs)

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    400: "Bad request: a parameter or body field is invalid (``field`` names it)",
    401: "Missing, unknown, revoked or expired bearer token",
    403: "The token lacks the scope (``scope`` names it), or the API is disabled",
    404: "No such incident, item or window here (private incidents read as absent)",
    409: "Conflicts with the current state (e.g. a status move the lifecycle forbids)",
    412: "``If-Match`` is stale: the fields changed since; nothing was changed",
    413: "The body is too large",
    415: "The body is not application/json",
    429: "Too many wrong credentials from this client; see ``Retry-After``",
}


def register(app: web.Application, *, scope_of: ScopeOf) -> None:
    """Serve the document and the docs page; ``scope_of`` says which scope a route needs."""
    app[_DOCS] = _Docs(scope_of)
    mount(app, ROUTES)


def build_document(routes: Iterable[Route], scope_of: ScopeOf) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``routes``."""
    routes = list(routes)
    defs: dict[str, Any] = {}
    refs = _model_refs(routes, defs)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, refs, defs, scope_of
        )
    scopes = ", ".join(f"``{s.value}``" for s in Scope)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sitrep API",
            "version": _version(),
            "description": (
                "Declare and run incidents, read alerts and manage maintenance windows, tokens "
                "and the audit log. Every operation needs a bearer token: the shared "
                "``SITREP_API_TOKEN`` (every scope; name yourself in ``X-Sitrep-Actor``) or a "
                f"personal or service token carrying the operation's scope ({scopes}; "
                "``admin`` includes all, a write scope its read). Errors are JSON: "
                '``{"error": "…"}``.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(defs.items())),
            "securitySchemes": {
                SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "``Authorization: Bearer <token>``",
                }
            },
        },
        "security": [{SCHEME: []}],
        "tags": [{"name": t} for t in dict.fromkeys(r.tag for r in routes)],
    }


def error_statuses(route: Route) -> list[int]:
    """The error answers ``route`` may give: auth, validation, and what its shape implies."""
    # Any URL with a NUL in it is a 400, whatever the route (handlers.middleware).
    codes = {400, 401, 403, 429} if not route.public else {400}
    if route.path_names:
        codes.add(404)
    if route.method != "GET" and not route.public:
        codes.add(409)
    if route.body is not None:
        codes |= {413, 415}
    return sorted(codes | route.errors)


def _model_refs(routes: list[Route], defs: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for route in routes:
        if route.body is not None:
            wanted.append((route.body, "validation"))
        for answer in route.responses.values():
            model = answer.json_model if isinstance(answer, Text) else answer
            if model is not None:
                wanted.append((model, "serialization"))
    refs, schema = models_json_schema(list(dict.fromkeys(wanted)), ref_template=_REF)
    defs.update(schema.get("$defs", {}))
    return dict(refs)


def _operation(
    route: Route, refs: dict[Any, dict[str, Any]], defs: dict[str, Any], scope_of: ScopeOf
) -> dict[str, Any]:
    declared = {p.name for p in route.params if p.where == "path"}
    missing = set(route.path_names) - declared
    if missing:
        raise ValueError(f"{route.operation_id}: declare the path parameter(s) {sorted(missing)}")
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
    }
    if route.description:
        op["description"] = route.description
    if route.public:
        op["security"] = []
    else:
        scope = scope_of(route.method, route.path).value
        op["security"] = [{SCHEME: [scope]}]
        op["x-sitrep-scope"] = scope
    if route.params:
        op["parameters"] = [_parameter(p, defs) for p in route.params]
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    responses: dict[str, Any] = {}
    for status, answer in sorted(route.responses.items()):
        responses[str(status)] = _response(status, answer, refs, route)
    error = {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}
    for status in error_statuses(route):
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": error,
        }
        if status == 429:
            responses[str(status)]["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}
            }
    op["responses"] = responses
    return op


def _response(
    status: int, answer: type[BaseModel] | Text, refs: dict[Any, dict[str, Any]], route: Route
) -> dict[str, Any]:
    if isinstance(answer, Text):
        content = {}
        for media in answer.media_types:
            if media == "application/json":
                model = answer.json_model
                schema = refs[(model, "serialization")] if model else {"type": "object"}
            else:
                schema = {"type": "string"}
            content[media] = {"schema": schema}
        out: dict[str, Any] = {"description": answer.description, "content": content}
    else:
        out = {
            "description": _STATUS_TEXT.get(status, "OK"),
            "content": {"application/json": {"schema": refs[(answer, "serialization")]}},
        }
    if route.response_headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in route.response_headers.items()
        }
    return out


def _parameter(param: Param, defs: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(param.type).json_schema(ref_template=_REF)
    for name, sub in schema.pop("$defs", {}).items():
        if defs.setdefault(name, sub) != sub:
            raise ValueError(f"two different schemas are both called {name}")
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required or param.where == "path",
        "description": param.description,
        "schema": schema,
    }
    if param.explode is not None:
        out["style"] = "form"
        out["explode"] = param.explode
    return out


def _version() -> str:
    try:
        return metadata.version("sitrep-bot")
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        return "0"


def document(app: web.Application) -> dict[str, Any]:
    """``app``'s document, built once from the routes it mounted."""
    docs = app[_DOCS]
    if docs.built is None:
        routes: list[Route] = app[API_ROUTES]
        docs.built = build_document(routes, docs.scope_of)
    return docs.built


# -- routes --------------------------------------------------------------------------------

# The page's one inline stylesheet is allowed by its hash; nothing else inline runs.
_CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(DOCS_CSS.encode()).digest()).decode()
_DOCS_CSP = (
    f"default-src 'none'; style-src 'self' '{_CSS_HASH}'; script-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


async def get_openapi(request: web.Request) -> web.Response:
    """This document."""
    return web.Response(
        text=json.dumps(document(request.app), indent=1),
        content_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


async def get_docs(request: web.Request) -> web.Response:
    """The API reference as a web page, generated from this document."""
    resp = web.Response(
        text=render_docs(document(request.app)), content_type="text/html", charset="utf-8"
    )
    resp.headers["Content-Security-Policy"] = _DOCS_CSP
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        OPENAPI_PATH,
        get_openapi,
        "getOpenApi",
        "The OpenAPI document",
        responses={200: Text(("application/json",), "the OpenAPI 3.1 document")},
        tag="docs",
        public=True,
    ),
    Route(
        "GET",
        DOCS_PATH,
        get_docs,
        "getApiDocs",
        "The API reference page",
        responses={200: Text(("text/html",), "the reference as HTML")},
        tag="docs",
        public=True,
    ),
)
