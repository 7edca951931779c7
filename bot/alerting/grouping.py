"""Alert groups: their identity, and the one alerts-channel message each group keeps. Pure.

A group is (workspace, source, group key). Each group has a single message in the alerts
channel ("N alerts firing"), posted once and then edited in place through an outbox UPSERT
keyed by the group, so a storm of 10,000 alerts costs one message, not 10,000.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from bot.domain.snapshot import IncidentSnapshot
from bot.notify import NotifyContext
from bot.outbox_types import Action, OutboxIntent, Priority
from bot.ports import ChatMessage

SAMPLE_SIZE = 5
# Ordering key of the alerts channel's "N more group updates held back" notice.
OVERFLOW_KEY = "alerts:overflow"
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


class GroupRef(NamedTuple):
    """Which group an alert belongs to.

    A NamedTuple: intake hashes one per alert received, and a tuple hashes and compares in C
    where a frozen dataclass runs generated Python.
    """

    workspace: str
    source: str
    group_key: str


def message_key(source: str, group_key: str) -> str:
    """Logical key of a group's alerts-channel message.

    Group keys can be 500 characters (Alertmanager's are label sets), longer than a chat-ref
    key may be, so the key carries a digest of the group key rather than the key itself.
    """
    digest = hashlib.sha256(f"{source}\x00{group_key}".encode()).hexdigest()[:24]
    return f"alerts:{source}:{digest}"


def most_severe(severities: Sequence[str]) -> str:
    """The most urgent of critical/warning/info (unknown words rank last)."""
    if not severities:
        return "warning"
    return min(severities, key=lambda s: _SEVERITY_RANK.get(s, 9))


@dataclass(frozen=True, slots=True)
class SampleAlert:
    """An alert as the group message shows it."""

    title: str
    severity: str
    labels: dict[str, str]
    links: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupView:
    """What the group message shows."""

    firing: int
    resolved: int
    sample: tuple[SampleAlert, ...]
    incident_ref: str | None = None
    incident_url: str = ""
    incident: IncidentSnapshot | None = None  # the incident's snapshot, when there is one
    truncated: int = 0  # alerts of the group the sender left out of its latest delivery


def group_message(group: GroupRef, view: GroupView) -> ChatMessage:
    """The ``alert_group`` message: data only; each platform's renderer escapes it."""
    lead = view.sample[0] if view.sample else None
    title = lead.title if lead else group.group_key
    severity = most_severe([s.severity for s in view.sample])
    links: dict[str, Any] = dict(lead.links) if lead else {}
    if view.incident_url:
        links["incident"] = view.incident_url
    noun = "alert" if view.firing == 1 else "alerts"
    text = f"{view.firing} {noun} firing: {title}"
    if view.resolved:
        text += f" ({view.resolved} resolved)"
    if view.truncated:
        text += f" (+{view.truncated} the sender left out)"
    if view.incident_ref:
        text += f" — {view.incident_ref}"
    data: dict[str, Any] = {
        "group_key": group.group_key,
        "title": title,
        "source": group.source,
        "severity": severity,
        "firing": view.firing,
        "resolved": view.resolved,
        "sample": [{"title": s.title, "labels": dict(s.labels)} for s in view.sample],
        "incident_ref": view.incident_ref,
        "links": links,
        # What a "Declare incident" button should carry back (source|group_key).
        "group_ref": f"{group.source}|{group.group_key}",
        # The same facts in the shape the Teams card reads.
        "status": "firing" if view.firing else "resolved",
        "alerts": [{"title": s.title, "status": "firing"} for s in view.sample],
        "truncated": view.truncated,
    }
    if view.incident is not None:
        data["incident"] = dict(view.incident)
    return ChatMessage("alert_group", text, data)


def alert_platforms(ctx: NotifyContext) -> tuple[str, ...]:
    """Platforms whose alerts channel hears about groups: the first, or all when mirroring."""
    return ctx.platforms if ctx.mirror else ctx.platforms[:1]


def group_intents(ctx: NotifyContext, group: GroupRef, message: ChatMessage) -> list[OutboxIntent]:
    """The UPSERT of a group's message on each platform in use."""
    key = message_key(group.source, group.group_key)
    payload = {"room": "@alerts", "key": key, "message": message.to_json()}
    return [
        OutboxIntent(
            workspace=group.workspace,
            platform=platform,
            ordering_key=key,
            action=Action.UPSERT.value,
            payload=payload,
            # Unique per row; the storage layer folds a new upsert into a still-pending one.
            idempotency_key=f"{key}:{platform}:{uuid.uuid4().hex}",
            priority=Priority.ALERT_NOTICE,
        )
        for platform in alert_platforms(ctx)
    ]


def overflow_intent(workspace: str, platform: str, more: int, since: datetime) -> OutboxIntent:
    """The alerts channel's notice that ``more`` group updates were held back since ``since``.

    One message per backlog episode (its key carries the episode's start), edited in place as
    the count grows, so a storm adds one line to the channel, not thousands.
    """
    key = f"{OVERFLOW_KEY}:{since.strftime('%Y%m%dT%H%M%S')}"
    noun = "update" if more == 1 else "updates"
    text = (
        f"{more} more alert group {noun} held back since {since.strftime('%H:%M:%S')} UTC: "
        "the alerts channel is behind. Each group is posted when it next changes; "
        "`sitrep alerts list` shows them all."
    )
    data = {"more": more, "since": since.isoformat()}
    message = ChatMessage("notice", text, data)
    return OutboxIntent(
        workspace=workspace,
        platform=platform,
        ordering_key=OVERFLOW_KEY,
        action=Action.UPSERT.value,
        payload={
            "room": "@alerts",
            "key": key,
            "message": message.to_json(),
            # Read back by storage to keep counting within one episode.
            "more": more,
            "since": since.isoformat(),
        },
        idempotency_key=f"{key}:{platform}:{uuid.uuid4().hex}",
        priority=Priority.ALERT_SUMMARY,
    )


def sample_of(alerts: Sequence[Mapping[str, Any]]) -> tuple[SampleAlert, ...]:
    """Up to ``SAMPLE_SIZE`` alerts, most severe first, for the group message."""
    ordered = sorted(alerts, key=lambda a: _SEVERITY_RANK.get(str(a.get("severity")), 9))
    return tuple(
        SampleAlert(
            title=str(a.get("title", "")),
            severity=str(a.get("severity", "")),
            labels=dict(a.get("labels") or {}),
            links=dict(a.get("links") or {}),
        )
        for a in ordered[:SAMPLE_SIZE]
    )
