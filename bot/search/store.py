"""What search needs from storage. ``storage.search_repo.SearchRepo`` implements it: SQLite
FTS5 or PostgreSQL full-text search behind the same two calls.

The index itself is kept by storage: every write of an indexed thing (incident fields,
timeline entries, status updates, action items, alerts on an incident) updates it in the
same transaction, so the core never calls an indexer.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from bot.domain.model import Incident
from bot.search.model import DocHit, SearchFilters
from bot.search.query import Query


class SearchStore(Protocol):
    """Search over one transaction."""

    def match(
        self,
        workspace: str,
        query: Query,
        filters: SearchFilters,
        *,
        private_for: Collection[str] | None,
        window: int,
    ) -> tuple[list[DocHit], bool]:
        """Documents of the workspace's incidents that match every term, that pass the
        filters and, with ``private_for``, belong to a public incident or a private one one of
        those ids is a member of: the newest ``window`` of them, each scored (higher is
        better); and True when more matched than the window held."""
        ...

    def incidents(self, ids: Collection[int]) -> dict[int, Incident]:
        """These incidents by id."""
        ...

    def bodies(self, doc_ids: Collection[int]) -> dict[int, str]:
        """The text of these documents."""
        ...
