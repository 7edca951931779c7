"""Which reminders an incident owes and what they say. Pure: incident and time in, intents out.

The deadline is ``Incident.next_update_due_at``, which the core moves whenever a stakeholder
update is actually posted (and on snooze, severity change, reopen). Each deadline earns at
most two messages: a reminder when it passes, and an escalation one cadence later. Both are
keyed by the deadline, so a tick after hours of downtime sends one message, not one per
missed tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.domain.model import Incident
from bot.domain.policy import Policy, UnknownSeverity
from bot.domain.snapshot import incident_snapshot, iso
from bot.notify import NotifyContext, broadcast_key, broadcast_platforms, home_platform, room_key
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage
from bot.scheduling.store import JobKind


class Stage(StrEnum):
    """How late an incident's stakeholder update is."""

    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """One reminder (or escalation) for one incident deadline, ready to record and enqueue."""

    kind: JobKind
    dedup_key: str
    due_at: datetime
    anchor_at: datetime
    intents: list[OutboxIntent]


def cadence(incident: Incident, policy: Policy) -> timedelta | None:
    """The severity's update interval; None when it has none (or is no longer configured)."""
    try:
        return policy.severity(incident.severity).update_every
    except UnknownSeverity:
        return None


def escalate_after(policy: Policy) -> dict[str, timedelta]:
    """Severity name → the extra interval after which a missed update escalates."""
    return {s.name: s.update_every for s in policy.severities if s.update_every is not None}


def reminder_stage(incident: Incident, policy: Policy, now: datetime) -> Stage | None:
    """DUE once the deadline passes, OVERDUE one more cadence later, else None."""
    due = incident.next_update_due_at
    if due is None or not incident.is_open or not incident.reminders_enabled or now < due:
        return None
    every = cadence(incident, policy)
    if every is not None and now >= due + every:
        return Stage.OVERDUE
    return Stage.DUE


def plan_reminder(
    incident: Incident,
    stage: Stage,
    ctx: NotifyContext,
    now: datetime,
    *,
    escalation_group: str = "",
) -> ReminderPlan:
    """The room reminder (plus, when overdue, the escalation and the broadcast-thread mark)."""
    assert incident.id is not None and incident.next_update_due_at is not None
    iid = incident.id
    due = incident.next_update_due_at
    overdue = stage is Stage.OVERDUE
    kind = JobKind.ESCALATION if overdue else JobKind.REMINDER
    every = cadence(incident, ctx.policy)
    due_at = due + every if overdue and every is not None else due
    snapshot = incident_snapshot(incident, ctx.policy, ctx.base_url)
    mention = incident.comms_lead or incident.commander
    group = escalation_group.strip() or None
    late = _minutes(now - due)
    if overdue:
        text = f"{incident.ref}: the stakeholder update is overdue by {late}."
        if group:
            text += f" Escalating to {group}."
    elif late == "0 min":
        text = f"{incident.ref}: a stakeholder update is due now."
    else:
        text = f"{incident.ref}: a stakeholder update was due {late} ago."
    data: dict[str, Any] = {
        "incident": snapshot,
        "mention": mention,
        "overdue": overdue,
        "escalate_to": group if overdue else None,
        "due_at": iso(due),
    }
    drafts: list[tuple[str, Action, dict[str, Any]]] = []
    home = home_platform(incident, ctx)
    if home is not None:
        message = ChatMessage("reminder", text, data).to_json()
        drafts.append((home, Action.POST, {"room": room_key(iid), "message": message}))
    if overdue:
        # Stakeholders following the broadcast thread see that the update is late.
        notice = ChatMessage(
            "notice",
            f"Update overdue: the next update on {incident.ref} was due at "
            f"{due:%H:%M} UTC. The team has been reminded.",
            {"incident": snapshot, "overdue": True},
        ).to_json()
        # The incident's broadcast message shows it too, until the next update replaces it.
        flagged = ChatMessage(
            "broadcast",
            f"{incident.ref}: {incident.title} (update overdue)",
            {"incident": snapshot, "update_overdue": True},
        ).to_json()
        for platform in broadcast_platforms(incident, ctx):
            payload = {"room": "@broadcast", "thread": broadcast_key(iid), "message": notice}
            drafts.append((platform, Action.POST, payload))
            card = {"room": "@broadcast", "key": broadcast_key(iid), "message": flagged}
            drafts.append((platform, Action.UPSERT, card))
    dedup = f"{kind.value}:{iid}:{iso(due)}"
    return ReminderPlan(
        kind=kind,
        dedup_key=dedup,
        due_at=due_at,
        anchor_at=due,
        intents=_intents(incident, dedup, drafts),
    )


def plan_postmortem(incident: Incident, ctx: NotifyContext, days: int) -> list[OutboxIntent]:
    """The "time to write the postmortem" nudge in the incident room."""
    assert incident.id is not None
    home = home_platform(incident, ctx)
    if home is None:
        return []
    snapshot = incident_snapshot(incident, ctx.policy, ctx.base_url)
    ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    text = f"{incident.ref} was resolved {ago}. Time to write the postmortem while it is fresh."
    message = ChatMessage(
        "postmortem_reminder", text, {"incident": snapshot, "mention": incident.commander}
    ).to_json()
    drafts = [(home, Action.POST, {"room": room_key(incident.id), "message": message})]
    return _intents(incident, f"postmortem:{incident.id}", drafts)


def _intents(
    incident: Incident, dedup: str, drafts: list[tuple[str, Action, dict[str, Any]]]
) -> list[OutboxIntent]:
    # Same ordering key as the incident's other messages: the room exists before we post.
    return [
        OutboxIntent(
            workspace=incident.workspace,
            platform=platform,
            ordering_key=f"inc:{incident.id}",
            action=action.value,
            payload=payload,
            idempotency_key=f"sched:{dedup}:{platform}:{n}",
        )
        for n, (platform, action, payload) in enumerate(drafts)
    ]


def _minutes(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
