"""What similar-incident suggestions need from storage (``storage.similar_repo`` implements it)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from bot.scheduling.store import JobState
from bot.similar.model import FixNotes, Profile

# The most recent resolved incidents a declaration is compared with: years of history for
# most teams, and a bound on the work one declaration costs (bench/similar.py).
MAX_CANDIDATES = 5000
# Alerts read per incident: enough to see its labels (alerts of a group share most of them)
# without reading a storm's thousands.
ALERTS_PER_INCIDENT = 20


class SimilarStore(Protocol):
    """Reads for the scorer and the job's finish, over one transaction."""

    def profile(self, incident_id: int, *, alerts: int = ALERTS_PER_INCIDENT) -> Profile | None:
        """An incident's words and the labels, titles and annotations of (up to ``alerts``
        of) its alerts; None when there is no such incident."""
        ...

    def candidate_keys(
        self, workspace: str, *, exclude: int, limit: int = MAX_CANDIDATES
    ) -> list[tuple[int, int]]:
        """(id, version) of the workspace's ``limit`` most recently declared incidents that are
        resolved or closed and not private, ``exclude`` left out, newest first."""
        ...

    def candidates(
        self,
        workspace: str,
        incident_ids: Collection[int],
        *,
        alerts: int = ALERTS_PER_INCIDENT,
    ) -> list[Profile]:
        """Profiles of those of ``incident_ids`` that are of ``workspace``, resolved or closed
        and not private, with their first alerts' labels and titles."""
        ...

    def fix_notes(self, incident_ids: Collection[int]) -> dict[int, FixNotes]:
        """What the responders wrote about resolving each incident, by id (incidents with no
        such note are left out)."""
        ...

    def finish_job(
        self, job_id: int, now: datetime, *, state: JobState, payload: dict[str, Any]
    ) -> bool:
        """Mark a pending job done (or skipped); False when it was no longer pending, i.e.
        another worker finished it first."""
        ...
