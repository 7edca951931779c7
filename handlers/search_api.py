"""``GET /api/search?q=``: ranked incidents with snippets, as the pydantic models below.

Needs the ``incidents:read`` scope (handlers.api.required_scope) like the other incident
reads; private incidents appear only for their members' tokens and admins (the shared token).
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from bot.domain.errors import InvalidCommand
from bot.domain.limits import MAX_OFFSET
from bot.domain.model import Status
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot
from bot.runtime import Runtime
from bot.search.filters import parse_filters
from bot.search.model import SearchPage, Snippet
from bot.search.service import MAX_LIMIT
from handlers.appkeys import RUNTIME
from handlers.body import page_params
from handlers.middleware import json_error
from handlers.openapi_models import Out
from handlers.openapi_routes import Param, Reply, Route, mount
from handlers.principal import api_reader


class SnippetPart(Out):
    """A piece of snippet text; ``hit`` marks a matched word. Plain text, not HTML."""

    text: str
    hit: bool


class SnippetOut(Out):
    """Where the words were found (``kind``: title, timeline, root_cause, ...) and the text
    around them, whole (``text``) and in marked parts (``parts``)."""

    kind: str
    label: str
    text: str
    parts: list[SnippetPart]


class SearchIncidentOut(Out):
    """The matching incident, briefly (``GET /api/incidents/{ref}`` has the rest)."""

    ref: str
    number: int
    title: str
    severity: str
    status: str
    private: bool
    declared_at: str | None
    url: str


class SearchHitOut(Out):
    """One matching incident; ``matches``: how many of its documents matched. (No raw score:
    document frequencies are counted over the whole database, so scores would hint at how
    common a word is in other workspaces.)"""

    incident: SearchIncidentOut
    matches: int
    snippets: list[SnippetOut]


class SearchResponse(Out):
    """A page of results, best first; ``next_offset`` is set when there are more."""

    query: str
    offset: int
    limit: int
    next_offset: int | None
    capped: bool
    results: list[SearchHitOut]


def register(app: web.Application) -> None:
    """Mount ``GET /api/search``."""
    mount(app, ROUTES)


async def search(request: web.Request) -> Reply[SearchResponse] | web.Response:
    """Incidents matching the words, best first, with highlighted snippets."""
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
    return Reply(response(runtime, found, limit))


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


def _incident(snap: IncidentSnapshot) -> SearchIncidentOut:
    return SearchIncidentOut(
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


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/search",
        search,
        "searchIncidents",
        "Search incidents",
        responses={200: SearchResponse},
        params=(
            Param(
                "q",
                "query",
                Annotated[str, Field(min_length=1, max_length=500, examples=["checkout 500"])],
                'words, "quoted phrases" and prefix* terms; all must match',
                required=True,
            ),
            Param(
                "status",
                "query",
                list[Literal["open"] | Status],
                "statuses, comma-separated; ``open`` means every open status",
                explode=False,
            ),
            Param("severity", "query", str, "a configured severity, e.g. SEV1"),
            Param(
                "since",
                "query",
                Annotated[str, Field(examples=["2026-11-01"])],
                "declared on or after (YYYY-MM-DD or ISO time)",
            ),
            Param("limit", "query", Annotated[int, Field(ge=1, le=MAX_LIMIT)], "page size (100)"),
            Param("offset", "query", Annotated[int, Field(ge=0, le=MAX_OFFSET)], "rows to skip"),
        ),
        tag="search",
    ),
)
