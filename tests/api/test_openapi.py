"""The OpenAPI document: complete (every /api route on the router), valid OpenAPI 3.1, public,
honest about scopes and path parameters, and generated from the models handlers answer with."""

from __future__ import annotations

import re
from typing import Any, get_type_hints

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from pydantic import TypeAdapter, ValidationError

from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.snapshot import IncidentSnapshot
from bot.identity.tokens import NewToken, Scope, TokenKind, has_scope
from bot.runtime import Runtime
from bot.service import parse_ref
from handlers import api
from handlers.openapi import DOCS_PATH, OPENAPI_PATH, document
from handlers.openapi_models import IncidentList, IncidentOut, Timeline
from handlers.openapi_routes import Reply, Route, mount

Client = TestClient[Any, Any]
# On the router under /api but not part of the JSON API: the Teams Bot Framework endpoint.
NOT_THE_API = {"/api/messages"}
_PARAM = re.compile(r"\{(\w+)\}")
SAMPLE = {"ref": "INC-1", "item": "1", "id": "1"}
# What the document says an incident reference looks like (the schema of ``{ref}``).
REF_PATTERN: str = TypeAdapter(api.REF.type).json_schema()["pattern"]


def api_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every /api route the router serves (HEAD comes with GET)."""
    found = set()
    for route in app.router.routes():
        resource = route.resource
        path = resource.canonical if resource is not None else ""
        if path.startswith("/api/") and path not in NOT_THE_API and route.method != "HEAD":
            found.add((route.method, path))
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, item in doc["paths"].items() for m in item}


def test_every_api_route_on_the_router_is_in_the_document(app: web.Application) -> None:
    doc = document(app)
    assert api_routes(app) == documented(doc)
    assert len(documented(doc)) >= 22


def test_a_route_added_without_the_table_is_caught(app: web.Application) -> None:
    async def search(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/api/undocumented", search)
    assert ("GET", "/api/undocumented") in api_routes(app) - documented(document(app))


def test_the_document_is_valid_openapi_3_1(app: web.Application) -> None:
    doc = document(app)
    assert doc["openapi"].startswith("3.1")
    validate(doc, cls=OpenAPIV31SpecValidator)


def test_every_operation_is_described_and_every_id_is_unique(app: web.Application) -> None:
    doc = document(app)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for item in doc["paths"].values():
        for op in item.values():
            assert op["summary"] and op["description"], op["operationId"]
            assert "200" in op["responses"] or "201" in op["responses"]


def test_incidents_in_the_document_are_the_snapshot_the_handlers_serialize() -> None:
    # A key added to the snapshot without a field in IncidentOut (or the other way round)
    # fails here, before any client sees an undocumented key.
    assert set(get_type_hints(IncidentSnapshot)) == set(IncidentOut.model_fields)
    with pytest.raises(ValidationError):
        IncidentOut.model_validate({**_snapshot(), "surprise": 1})


def _snapshot() -> dict[str, Any]:
    return {name: None for name in IncidentOut.model_fields}


async def test_the_document_and_docs_need_no_token_and_the_api_still_does(client: Client) -> None:
    resp = await client.get(OPENAPI_PATH)
    assert resp.status == 200 and (await resp.json())["info"]["title"] == "sitrep API"
    page = await client.get(DOCS_PATH)
    assert page.status == 200 and page.content_type == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    text = await page.text()
    assert 'id="op-declareIncident"' in text and 'id="schema-IncidentOut"' in text
    for path in ("/api/incidents", "/api/tokens", "/api/docsx", "/api/openapi.json/x"):
        assert (await client.get(path)).status == 401, path
    # Only reads are public: anything else on those paths still meets the token check.
    assert (await client.post(OPENAPI_PATH)).status == 401


async def test_a_token_with_the_documented_scope_passes_and_one_without_it_is_refused(
    client: Client, runtime: Runtime
) -> None:
    doc = document(client.app)
    secrets: dict[frozenset[Scope], str] = {}

    async def token_for(scopes: frozenset[Scope]) -> str:
        if scopes not in secrets:
            new = NewToken("default", "U9", "U9", TokenKind.SERVICE, "t", scopes, None)
            secrets[scopes] = (await runtime.tokens.create(new, Actor("api", "api"))).secret
        return secrets[scopes]

    checked = 0
    for path, item in doc["paths"].items():
        url = _PARAM.sub(lambda m: SAMPLE[m.group(1)], path)
        for method, op in item.items():
            if not op["security"]:
                continue
            scope = Scope(op["x-sitrep-scope"])
            assert op["security"] == [{"bearerAuth": [scope.value]}]
            enough = await token_for(frozenset({scope}))
            resp = await client.request(
                method, url, headers={"Authorization": f"Bearer {enough}"}, json={}
            )
            assert resp.status != 403, (method, path, await resp.text())
            weaker = frozenset(s for s in Scope if not has_scope([s], scope))
            refused = await client.request(
                method, url, headers={"Authorization": f"Bearer {await token_for(weaker)}"}
            )
            assert refused.status == 403, (method, path)
            assert (await refused.json())["scope"] == scope.value
            checked += 1
    assert checked >= 22


@settings(max_examples=200, derandomize=True, database=None)
@given(st.data())
def test_every_ref_the_document_allows_is_one_the_handlers_parse(data: st.DataObject) -> None:
    ref = data.draw(st.from_regex(REF_PATTERN, fullmatch=True))
    try:
        assert parse_ref(ref) >= 1
    except NotFound:
        pass  # a number beyond any incident's: 404, as documented
    except InvalidCommand as exc:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"{ref!r} matches the documented pattern but is refused: {exc}")


@pytest.mark.parametrize("ref", ["INC-42", "inc-42", "INC42", "42", "INC-2147483647"])
def test_the_refs_people_write_match_the_documented_pattern(ref: str) -> None:
    assert re.fullmatch(REF_PATTERN, ref)


async def test_an_answer_the_route_does_not_declare_is_a_programming_error() -> None:
    async def wrong(request: web.Request) -> Reply[Timeline]:
        return Reply(Timeline(timeline=[]))

    app = web.Application()
    mount(app, (Route("GET", "/api/x", wrong, "x", "x", responses={200: IncidentList}),))
    handler = next(r for r in app.router.routes() if r.method == "GET").handler
    with pytest.raises(TypeError, match="declaration says"):
        await handler(make_mocked_request("GET", "/api/x", app=app))


@pytest.mark.parametrize("after", ["2147483648", "21167757198"])
async def test_an_audit_page_after_a_seq_no_entry_can_have_is_a_400(
    client: Client, auth: dict[str, str], after: str
) -> None:
    # Found by schemathesis on Postgres: the bound was 2**62 and seq is a 32-bit integer.
    resp = await client.get("/api/audit", params={"after": after}, headers=auth)
    assert resp.status == 400
    assert (await resp.json())["field"] == "after"
