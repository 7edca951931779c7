"""The "similar past incidents" message in a new incident's room. Pure: picks in, intents out.

Each pick shows what a responder needs to act on it: its number and title, the root cause its
postmortem recorded, the fix (``FixNotes.fix``: the resolve note, else the mitigation note,
else the last stakeholder update), and links to its page and its postmortem when
``SITREP_PUBLIC_URL`` is set. Text is stored as written; each platform's renderer escapes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.model import Incident
from bot.domain.snapshot import incident_snapshot, iso
from bot.notify import NotifyContext, home_platform, room_post
from bot.outbox_types import OutboxIntent
from bot.ports import ChatMessage
from bot.similar.model import FixNotes, Match

KIND = "similar_incidents"
# Characters of a root cause or fix carried in the message; the page has the rest.
MAX_NOTE = 500
# Shared labels named per pick ("same service=checkout-api, alertname=HighErrorRate").
MAX_SHARED = 3


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A past incident picked for the room, with what it shares and how it was fixed."""

    incident: Incident
    match: Match
    notes: FixNotes


def incident_url(base_url: str, number: int) -> str:
    """The web page of INC-``number`` ("" without a public URL)."""
    return f"{base_url.rstrip('/')}/incidents/{number}" if base_url else ""


def postmortem_url(base_url: str, number: int) -> str:
    """The web postmortem of INC-``number`` ("" without a public URL)."""
    return f"{base_url.rstrip('/')}/incidents/{number}/postmortem.html" if base_url else ""


def suggestion_json(s: Suggestion, base_url: str) -> dict[str, Any]:
    """One pick as the message carries it (JSON-safe)."""
    inc = s.incident
    return {
        "ref": inc.ref,
        "number": inc.number,
        "title": inc.title,
        "severity": inc.severity,
        "status": inc.status.value,
        "resolved_at": iso(inc.resolved_at or inc.closed_at),
        "root_cause": _cut(inc.root_cause),
        "fix": _cut(s.notes.fix),
        "url": incident_url(base_url, inc.number),
        "postmortem_url": postmortem_url(base_url, inc.number),
        "score": s.match.score,
        "shared": [list(pair) for pair in s.match.shared[:MAX_SHARED]],
    }


def plan_similar(
    incident: Incident, picks: Sequence[Suggestion], ctx: NotifyContext
) -> list[OutboxIntent]:
    """One post in ``incident``'s room listing ``picks``; nothing when there are none."""
    assert incident.id is not None
    home = home_platform(incident, ctx)
    if home is None or not picks:
        return []
    similar = [suggestion_json(s, ctx.base_url) for s in picks]
    refs = ", ".join(f"{s.incident.ref} ({s.incident.title})" for s in picks)
    text = f"Similar past incidents: {refs}"
    data = {
        "incident": incident_snapshot(incident, ctx.policy, ctx.base_url),
        "similar": similar,
    }
    message = ChatMessage(KIND, text, data)
    return [room_post(incident, home, message, f"similar:{incident.id}:{home}:0")]


def _cut(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= MAX_NOTE else text[: MAX_NOTE - 1].rstrip() + "…"
