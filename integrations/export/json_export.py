"""The postmortem as schema-versioned JSON (``sitrep.postmortem/v1``), streamed.

Keys are written in a fixed order; timestamps are ISO-8601 UTC with a ``Z`` suffix; durations
are seconds (an int when whole), null when unknown. The timeline array is written one entry
per line as it is read, and ``timeline_count`` follows it, so memory stays flat.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from bot.domain.model import TimelineEntry
from integrations.export.document import (
    SCHEMA,
    Postmortem,
    entry_link,
    iso_z,
    seconds,
)


def _dumps(value: Any) -> str:
    # default=str: timeline ``data`` is whatever the core stored; never fail an export on it.
    return json.dumps(value, ensure_ascii=False, default=str)


def _pretty(value: Any) -> str:
    """Indented JSON for a top-level member, shifted to sit inside the outer object."""
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return text.replace("\n", "\n  ")


def timeline_entry_json(entry: TimelineEntry, who: str | None = None) -> dict[str, Any]:
    """One timeline entry as the schema has it."""
    return {
        "id": entry.id,
        "at": iso_z(entry.at),
        "kind": entry.kind.value,
        "actor": entry.actor,
        "actor_name": entry.actor if who is None else who,
        "source": entry.source,
        "text": entry.text,
        "link": entry_link(entry) or None,
        "edited": bool(entry.data.get("edited")),
        "deleted": bool(entry.data.get("deleted")),
        "pinned": entry.pinned,
        "external_ref": entry.external_ref,
        "data": entry.data,
    }


def header_json(doc: Postmortem) -> dict[str, Any]:
    """Everything but the timeline, in schema order."""
    inc = doc.incident
    return {
        "schema": SCHEMA,
        "generated_at": iso_z(doc.generated_at),
        "confidential": doc.confidential,
        "incident": {
            "ref": inc.ref,
            "number": inc.number,
            "workspace": inc.workspace,
            "title": inc.title,
            "url": doc.url or None,
            "severity": inc.severity,
            "severity_description": doc.severity_description,
            "status": inc.status.value,
            "ongoing": doc.ongoing,
            "private": inc.private,
            "origin": inc.origin,
            "declared_at": iso_z(inc.declared_at),
            "resolved_at": iso_z(doc.ended_at),
            "closed_at": iso_z(inc.closed_at),
            "duration_seconds": seconds(doc.duration),
            "runbook_url": inc.runbook_url or None,
        },
        "roles": {r.key: r.holder for r in doc.roles},
        "role_names": {r.key: r.name or None for r in doc.roles},
        "metrics": {
            **{f"{m.key}_seconds": seconds(m.duration) for m in doc.metric_lines},
            "acknowledged_at": iso_z(doc.metrics.acknowledged_at),
            "mitigated_at": iso_z(doc.metrics.mitigated_at),
            "resolved_at": iso_z(doc.metrics.resolved_at),
        },
        "sections": {
            s.key: {
                "heading": s.heading,
                "text": s.text if s.written else None,
                "prompt": None if s.written else s.prompt,
            }
            for s in doc.sections
        },
        "review": {
            "reviewed_at": iso_z(inc.postmortem_reviewed_at),
            "reviewed_by": inc.postmortem_reviewed_by,
            "reviewed_by_name": doc.names.get(inc.postmortem_reviewed_by or "")
            or inc.postmortem_reviewed_by,
            "edited_at": iso_z(inc.postmortem_edited_at),
            "edited_since_review": inc.edited_since_review,
        },
        "action_items": [
            {
                "id": item.id,
                "text": item.text,
                "owner": item.owner,
                "due": iso_z(item.due),
                "done": item.done,
                "done_at": iso_z(item.done_at),
                "done_by": item.done_by,
                "created_at": iso_z(item.created_at),
                "created_by": item.created_by,
            }
            for item in doc.action_items
        ],
        "status_updates": [
            {
                "id": u.id,
                "at": iso_z(u.at),
                "author": u.author,
                "status": u.status.value,
                "severity": u.severity,
                "text": u.text,
            }
            for u in doc.updates
        ],
        "alerts": [
            {
                "source": a.source,
                "title": a.title,
                "severity": a.severity,
                "status": a.status,
                "fingerprint": a.fingerprint,
                "starts_at": iso_z(a.starts_at),
                "ends_at": iso_z(a.ends_at),
                "labels": dict(sorted(a.labels.items())),
            }
            for a in doc.alerts
        ],
    }


def render_json(doc: Postmortem, out: TextIO) -> None:
    """Write the postmortem as JSON to ``out``, the timeline one entry at a time."""
    out.write("{\n")
    for key, value in header_json(doc).items():
        out.write(f"  {_dumps(key)}: {_pretty(value)},\n")
    out.write('  "timeline": [')
    count = 0
    for entry in doc.entries():
        out.write(",\n    " if count else "\n    ")
        out.write(_dumps(timeline_entry_json(entry, doc.who(entry))))
        count += 1
    out.write("\n  ],\n" if count else "],\n")
    out.write(f'  "timeline_count": {count}\n}}\n')
