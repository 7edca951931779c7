"""``GET /api/search?q=``: ranked incidents with snippets, as the pydantic models below.

Needs the ``incidents:read`` scope (handlers.api.required_scope) like the other incident
reads; private incidents appear only for their members' tokens and admins (the shared token).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from bot.domain.errors import InvalidCommand
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot
from bot.runtime import Runtime
from bot.search.filters import parse_filters
from bot.search.model import SearchPage, Snippet
from bot.search.service import MAX_LIMIT
from handlers.appkeys import RUNTIME
from handlers.body import page_params
from handlers.middleware import json_error
from handlers.principal import api_reader


class SnippetPart(BaseModel):
    """A piece of snippet text; ``hit`` marks a matched word. Plain text, not HTML."""

    text: str
    hit: bool


class SnippetOut(BaseModel):
    """Where the words were found (``kind``: title, timeline, root_cause, ...) and the text
    around them, whole (``text``) and in marked parts (``parts``)."""

    kind: str
    label: str
    text: str
    parts: list[SnippetPart]


class IncidentOut(BaseModel):
    """The matching incident, briefly (``GET /api/incidents/{ref}`` has the rest)."""

    ref: str
    number: int
    title: str
    severity: str
    status: str
    private: bool
    declared_at: str | None
    url: str


class SearchHitOut(BaseModel):
    """One matching incident; ``matches``: how many of its documents matched. (No raw score:
    document frequencies are counted over the whole database, so scores would hint at how
    common a word is in other workspaces.)"""

    incident: IncidentOut
    matches: int
    snippets: list[SnippetOut]


class SearchResponse(BaseModel):
    """A page of results, best first; ``next_offset`` is set when there are more."""

    query: str
    offset: int
    limit: int
    next_offset: int | None
    capped: bool
    results: list[SearchHitOut]


def register(app: web.Application) -> None:
    """Mount ``GET /api/search``."""
    app.router.add_get("/api/search", search)


async def search(request: web.Request) -> web.Response:
    """GET /api/search?q=&status=&severity=&since=&limit=&offset="""
    runtime: Runtime = request.app[RUNTIME]
    q = request.query
    text = q.get("q", "")
    if not text.strip():
        return json_error(400, "q: give the words to search for", field="q")
    limit, offset = page_params(request, MAX_LIMIT)
    try:
        filters = parse_filters(
            runtime.service.policy,
            status=q.get("status", ""),
            severity=q.get("severity", ""),
            since=q.get("since", ""),
        )
    except InvalidCommand as exc:
        field = str(exc).partition(":")[0] if ":" in str(exc) else "severity"
        return json_error(400, str(exc), field=field)
    found = await runtime.search.search(
        runtime.settings.workspace,
        text,
        reader=api_reader(request),
        filters=filters,
        limit=limit,
        offset=offset,
    )
    if found.problem:
        return json_error(400, f"q: {found.problem}", field="q")
    return web.json_response(response(runtime, found, limit).model_dump(mode="json"))


def response(runtime: Runtime, found: SearchPage, limit: int) -> SearchResponse:
    """The API's representation of a page of results."""
    policy, base = runtime.service.policy, runtime.settings.public_url
    return SearchResponse(
        query=found.query,
        offset=found.offset,
        limit=limit,
        next_offset=found.offset + limit if found.more else None,
        capped=found.capped,
        results=[
            SearchHitOut(
                incident=_incident(incident_snapshot(r.incident, policy, base)),
                matches=r.matches,
                snippets=[_snippet(s) for s in r.snippets],
            )
            for r in found.results
        ],
    )


def _incident(snap: IncidentSnapshot) -> IncidentOut:
    return IncidentOut(
        ref=snap.get("ref", ""),
        number=snap.get("number", 0),
        title=snap.get("title", ""),
        severity=snap.get("severity", ""),
        status=snap.get("status", ""),
        private=snap.get("private", False),
        declared_at=snap.get("declared_at"),
        url=snap.get("url", ""),
    )


def _snippet(s: Snippet) -> SnippetOut:
    return SnippetOut(
        kind=s.kind.value,
        label=s.kind.label,
        text=s.plain,
        parts=[SnippetPart(text=p.text, hit=p.hit) for p in s.segments],
    )
