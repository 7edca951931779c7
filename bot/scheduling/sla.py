"""SLA breach warnings: which incidents are about to miss a target, and what the room hears.

Pure: policy, incident and time in, intents out. Each severity may set a time to acknowledge
and a time to resolve, measured from declaration. Once ``percent`` of a target has passed
without the acknowledgement (or resolution), the incident room gets one warning, naming the
commander. The warning is a ``due_job`` keyed by incident, target and severity, so any number
of ticks and replicas post it once; an incident acknowledged (or resolved) before the warning
time is never a candidate, which is how a warning is cancelled. A warning whose target has
already passed (the bot was down) is not sent: it would warn about the past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.model import Incident
from bot.domain.policy import Policy, SeverityPolicy, UnknownSeverity
from bot.domain.snapshot import incident_snapshot, iso
from bot.notify import NotifyContext, home_platform, room_post
from bot.outbox_types import OutboxIntent
from bot.ports import ChatMessage
from bot.scheduling.store import JobKind


class Target(StrEnum):
    """The two SLA targets a severity may set."""

    ACK = "ack"
    RESOLVE = "resolve"

    @property
    def job_kind(self) -> JobKind:
        """The due-job kind that records this target's warnings."""
        return JobKind.SLA_ACK if self is Target.ACK else JobKind.SLA_RESOLVE

    @property
    def verb(self) -> str:
        """What has to happen before the target passes."""
        return "acknowledge" if self is Target.ACK else "resolve"


@dataclass(frozen=True, slots=True)
class Window:
    """When to warn (``warn_after``) and when the target passes (``target``), from declaration."""

    warn_after: timedelta
    target: timedelta


@dataclass(frozen=True, slots=True)
class SlaPlan:
    """One warning, ready to record and enqueue."""

    dedup_key: str
    due_at: datetime
    anchor_at: datetime
    intents: list[OutboxIntent]


def target_of(sev: SeverityPolicy, target: Target) -> timedelta | None:
    """A severity's target time for ``target``, or None when it sets none."""
    return sev.ack_within if target is Target.ACK else sev.resolve_within


def windows(policy: Policy, target: Target, percent: int) -> dict[str, Window]:
    """Severity name → its warning window for ``target`` (severities without one left out)."""
    if percent <= 0:
        return {}
    out: dict[str, Window] = {}
    for sev in policy.severities:
        within = target_of(sev, target)
        if within is not None:
            out[sev.name] = Window(warn_after=within * percent / 100, target=within)
    return out


def dedup_key(incident_id: int, target: Target, severity: str) -> str:
    """One warning per incident, target and severity: a new severity brings a new target."""
    return f"{target.job_kind.value}:{incident_id}:{severity}"


def plan_sla_warning(
    incident: Incident, target: Target, ctx: NotifyContext, now: datetime, percent: int
) -> SlaPlan | None:
    """The room warning for ``incident`` (None when it owes none at ``now``)."""
    assert incident.id is not None
    try:
        sev = ctx.policy.severity(incident.severity)
    except UnknownSeverity:
        return None
    window = windows(Policy((sev,)), target, percent).get(sev.name)
    if window is None or not incident.is_open:
        return None
    if target is Target.ACK and incident.acknowledged_at is not None:
        return None
    breach_at = incident.declared_at + window.target
    warn_at = incident.declared_at + window.warn_after
    if not warn_at <= now < breach_at:
        return None
    left = _duration(breach_at - now)
    text = (
        f"{incident.ref} ({sev.name}) “{incident.title}”: {left} left to {target.verb} it; "
        f"the {sev.name} target is {_duration(window.target)} from declaration "
        f"({breach_at:%H:%M} UTC)."
    )
    data = {
        "incident": incident_snapshot(incident, ctx.policy, ctx.base_url),
        "mention": incident.commander,
        "sla": {
            "target": target.value,
            "severity": sev.name,
            "within_seconds": int(window.target.total_seconds()),
            "breach_at": iso(breach_at),
        },
    }
    key = dedup_key(incident.id, target, sev.name)
    intents: list[OutboxIntent] = []
    home = home_platform(incident, ctx)
    if home is not None:
        message = ChatMessage("notice", text, data)
        intents.append(room_post(incident, home, message, f"sched:{key}:{home}:0"))
    return SlaPlan(dedup_key=key, due_at=warn_at, anchor_at=breach_at, intents=intents)


def _duration(delta: timedelta) -> str:
    """``4 min``, ``2 h 5 min``, ``3 d 4 h``: coarse, read at a glance."""
    minutes = max(int(-(-delta.total_seconds() // 60)), 0)  # round up: never understate
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
