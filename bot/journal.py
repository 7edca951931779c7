"""The create journal: a planned ref that says a create was sent, until its answer is kept.

Creates to outside services are delivered at least once, and an answer can be lost after the
service acted (a dropped connection, a 5xx, a timeout, the process dying before it records
the id). So right before a port sends a create it notes ``{"state": "sent", "at": <UTC>}`` in
the incident's stored ref, in a transaction of its own; the ref becomes ``{"id": …}`` only
when the answer is recorded (``linked``/``published`` still mean exactly that). Every replica
retrying the create reads the note from the database: only a create that may have reached
the service is looked for there (and a lagging search waited for while the note is young),
and a first create never looks, so it cannot take over something it did not make. A create
the service certainly refused or throttled goes back to ``{"state": "planned"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from bot.repository import Repo

SENT: Final = "sent"
PLANNED: Final = {"state": "planned"}
LONG_AGO: Final = datetime(2000, 1, 1, tzinfo=UTC)


def sent_at(ref: dict[str, Any] | None) -> datetime | None:
    """When the create this ref notes was sent, or None (never sent, or already answered)."""
    if not ref or ref.get("id") or ref.get("state") != SENT:
        return None
    try:
        at = datetime.fromisoformat(str(ref.get("at") or ""))
    except ValueError:
        # A note we cannot read still says "sent": treat it as long ago (look, do not wait).
        return LONG_AGO
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def note_sending(
    repo: Repo, workspace: str, service: str, key: str, incident_id: int, now: datetime
) -> None:
    """Mark ``key``'s ref as sent now, unless it already names the created thing."""
    ref = repo.get_chat_ref(workspace, service, key)
    if ref and ref.get("id"):
        return
    note = {"state": SENT, "at": now.isoformat()}
    repo.put_chat_ref(workspace, service, key, note, now=now, incident_id=incident_id)


def note_unsent(
    repo: Repo, workspace: str, service: str, key: str, incident_id: int, now: datetime
) -> None:
    """Back to planned: the service refused the create, so nothing of it can be found."""
    ref = repo.get_chat_ref(workspace, service, key)
    if ref is None or ref.get("id") or ref.get("state") != SENT:
        return
    repo.put_chat_ref(workspace, service, key, dict(PLANNED), now=now, incident_id=incident_id)
