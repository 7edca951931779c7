"""The audit log's rules: who did what from where, sealed into one hash chain per workspace.

Pure: the repository stores what ``seal`` returns and hands back what it stored, and
``verify_chain`` recomputes every link. Editing, deleting or reordering a stored entry breaks
the chain at that entry, so tampering shows even to a reader who trusts nothing but the rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.domain.decide import Actor
from bot.domain.model import Incident

# The first entry of a workspace's chain links to this.
GENESIS = "0" * 64


class Surface(StrEnum):
    """Where an action came from."""

    CHAT = "chat"  # Slack
    TEAMS = "teams"
    WEB = "web"
    API = "api"
    CLI = "cli"
    WEBHOOK = "webhook"
    SCHEDULER = "scheduler"


_PREFIXES = {
    "api:": Surface.API,
    "web:": Surface.WEB,
    "cli:": Surface.CLI,
    "29:": Surface.TEAMS,
}


def surface_of(actor: Actor) -> Surface:
    """The surface an actor acts through: its own if set, else read from its id's prefix."""
    if actor.surface:
        return Surface(actor.surface)
    if actor.id == "sitrep":
        return Surface.SCHEDULER
    for prefix, surface in _PREFIXES.items():
        if actor.id.startswith(prefix):
            return surface
    return Surface.CHAT


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """An entry before it is chained."""

    workspace: str
    at: datetime
    actor: str
    action: str
    surface: str = ""
    target: str = ""
    incident: str = ""
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A stored, chained entry."""

    workspace: str
    seq: int
    at: datetime
    actor: str
    action: str
    surface: str
    target: str
    incident: str
    detail: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """One page of a filtered log, by keyset: entries after ``after_seq`` (oldest first) or
    before ``before_seq`` (newest first when ``newest_first``). Empty filters match all."""

    actor: str = ""
    incident: str = ""
    surface: str = ""
    since: datetime | None = None  # at >= since
    until: datetime | None = None  # at < until
    after_seq: int = 0
    before_seq: int | None = None
    newest_first: bool = True
    limit: int = 50


def jsonable(value: Any) -> Any:
    """``value`` as the JSON a column stores and returns unchanged (times as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def _canonical(entry: AuditEntry) -> bytes:
    fields = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if f.name != "hash"}
    # Microseconds are the finest both databases keep, so the time hashes the same after a
    # round trip through either.
    fields["at"] = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(
        jsonable(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the entry's canonical serialization, its ``prev_hash`` included."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def seal(draft: AuditDraft, *, seq: int, prev_hash: str) -> AuditEntry:
    """Chain ``draft`` after the entry whose hash is ``prev_hash`` (``GENESIS`` for the first)."""
    entry = AuditEntry(
        workspace=draft.workspace,
        seq=seq,
        at=draft.at,
        actor=draft.actor,
        action=draft.action,
        surface=draft.surface,
        target=draft.target,
        incident=draft.incident,
        detail=jsonable(draft.detail),
        before=jsonable(draft.before) if draft.before is not None else None,
        after=jsonable(draft.after) if draft.after is not None else None,
        prev_hash=prev_hash,
        hash="",
    )
    return dataclasses.replace(entry, hash=entry_hash(entry))


def verify_chain(entries: Sequence[AuditEntry], *, after: AuditEntry | None = None) -> int | None:
    """The index of the first entry that breaks the chain, or None if all of it holds.

    ``entries`` is one workspace's log in ``seq`` order: from its first entry, or from the
    entry following ``after`` (an entry already verified), so a long log is checked in pages.
    """
    prev = after.hash if after is not None else GENESIS
    seq = after.seq if after is not None else 0
    for i, entry in enumerate(entries):
        if entry.seq != seq + i + 1 or entry.prev_hash != prev or entry.hash != entry_hash(entry):
            return i
        prev = entry.hash
    return None


def incident_changes(before: Incident, after: Incident) -> tuple[dict[str, Any], dict[str, Any]]:
    """The incident fields a command changed: their old and new values."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for f in dataclasses.fields(Incident):
        if f.name == "version":
            continue
        a, b = getattr(before, f.name), getattr(after, f.name)
        if a != b:
            old[f.name], new[f.name] = jsonable(a), jsonable(b)
    return old, new


def incident_fields(incident: Incident) -> dict[str, Any]:
    """Every field of a new incident, as the audit log records it."""
    return {
        f.name: jsonable(getattr(incident, f.name))
        for f in dataclasses.fields(Incident)
        if f.name != "version"
    }


def action_name(command: object) -> str:
    """``ChangeStatus()`` → ``change_status``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(command).__name__).lower()
