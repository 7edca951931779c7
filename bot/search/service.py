"""Search as the surfaces call it: parse, match, rank incidents, build snippets."""

from __future__ import annotations

from dataclasses import replace

from bot.repository import Repo, UnitOfWork
from bot.search.model import DocHit, SearchFilters, SearchPage, SearchResult
from bot.search.query import parse
from bot.search.snippet import snippet
from bot.security.membership import EVERYONE, Reader

MAX_LIMIT = 100
# Documents ranked per query. Rare words rank every match; a word in millions of timeline
# entries ranks the newest WINDOW matches (bm25 / ts_rank over all of them would take seconds
# on a large install, and recent incidents are usually the ones sought).
WINDOW = 500


class SearchService:
    """Ranked, paged, visibility-checked search over one workspace's incidents."""

    def __init__(self, uow: UnitOfWork, *, window: int = WINDOW) -> None:
        self.uow = uow
        self.window = window

    async def search(
        self,
        workspace: str,
        text: str,
        *,
        reader: Reader = EVERYONE,
        filters: SearchFilters | None = None,
        limit: int = 20,
        offset: int = 0,
        snippets: int = 2,
    ) -> SearchPage:
        """One page of incidents matching ``text``, best first; private incidents only where
        ``reader`` is a member or an admin."""
        query = parse(text)
        limit = max(1, min(limit, MAX_LIMIT))
        offset = max(0, offset)
        page = SearchPage(query=query.text, offset=offset, limit=limit)
        if query.empty:
            return replace(page, problem="Type a word to search for.")
        wanted = filters or SearchFilters()

        def work(repo: Repo) -> SearchPage:
            hits, capped = repo.search.match(
                workspace,
                query,
                wanted,
                private_for=None if reader.admin else reader.ids,
                window=self.window,
            )
            ranked = rank(hits)
            chosen = ranked[offset : offset + limit]
            best = {iid: docs[:snippets] for iid, docs in chosen}
            bodies = repo.search.bodies([d.doc_id for docs in best.values() for d in docs])
            incidents = repo.search.incidents(list(best))
            results = []
            for incident_id, docs in chosen:
                incident = incidents.get(incident_id)
                if incident is None or incident.workspace != workspace:
                    continue
                shown = tuple(
                    snippet(d.kind, bodies[d.doc_id], query)
                    for d in best[incident_id]
                    if d.doc_id in bodies
                )
                results.append(SearchResult(incident, docs[0].score, shown, len(docs)))
            return replace(page, results=results, more=len(ranked) > offset + limit, capped=capped)

        return await self.uow.run(work)


def rank(hits: list[DocHit]) -> list[tuple[int, list[DocHit]]]:
    """Incidents by their best document's score (ties: the newer document), each with its
    documents best first."""
    by_incident: dict[int, list[DocHit]] = {}
    for hit in sorted(hits, key=lambda d: (-d.score, -d.doc_id)):
        docs = by_incident.get(hit.incident_id)
        if docs is None:
            by_incident[hit.incident_id] = [hit]
        else:
            docs.append(hit)
    return list(by_incident.items())
