"""Scheduled stakeholder posts: the open-incident digest and overdue action-item DMs. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import ActionItem, Incident
from bot.domain.policy import UnknownSeverity
from bot.domain.snapshot import incident_snapshot, iso
from bot.notify import NotifyContext, broadcast_platforms, home_platform
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage

MAX_DIGEST_LINES = 50


def plan_digest(
    incidents: Sequence[Incident],
    ctx: NotifyContext,
    now: datetime,
    zone: ZoneInfo,
    *,
    job_key: str,
) -> list[OutboxIntent]:
    """One digest per workspace and broadcast platform, listing the open incidents it may see.

    Private incidents, and severities that do not notify stakeholders, never appear: the
    digest goes where ``broadcast_platforms`` would send the incident's own announcement.
    """
    groups: dict[tuple[str, str], list[Incident]] = defaultdict(list)
    for incident in incidents:
        if not incident.is_open:
            continue
        try:
            platforms = broadcast_platforms(incident, ctx)
        except UnknownSeverity:
            continue
        for platform in platforms:
            groups[(incident.workspace, platform)].append(incident)
    out: list[OutboxIntent] = []
    local = now.astimezone(zone)
    for (workspace, platform), members in sorted(groups.items()):
        members.sort(key=lambda i: (_rank(i, ctx), i.declared_at, i.number))
        snapshots = [incident_snapshot(i, ctx.policy, ctx.base_url) for i in members]
        noun = "incident" if len(members) == 1 else "incidents"
        lines = [f"{len(members)} open {noun} as of {local:%a %d %b %H:%M} {local.tzname()}:"]
        for snap in snapshots[:MAX_DIGEST_LINES]:
            commander = snap["commander"] or "unassigned"
            lines.append(
                f"• {snap['ref']} {snap['severity']} {snap['status']}: {snap['title']} "
                f"(commander: {commander})"
            )
        if len(snapshots) > MAX_DIGEST_LINES:
            lines.append(f"…and {len(snapshots) - MAX_DIGEST_LINES} more")
        data: dict[str, Any] = {
            "incidents": snapshots,
            "generated_at": iso(now),
            "timezone": zone.key,
        }
        message = ChatMessage("digest", "\n".join(lines), data).to_json()
        out.append(
            OutboxIntent(
                workspace=workspace,
                platform=platform,
                ordering_key=f"sched:digest:{workspace}",
                action=Action.POST.value,
                payload={"room": "@broadcast", "message": message},
                idempotency_key=f"sched:{job_key}:{workspace}:{platform}",
            )
        )
    return out


def plan_action_items(
    items: Sequence[tuple[ActionItem, Incident]], ctx: NotifyContext, *, job_key: str
) -> list[OutboxIntent]:
    """One direct message per owner listing their overdue action items."""
    groups: dict[tuple[str, str, str], list[tuple[ActionItem, Incident]]] = defaultdict(list)
    for item, incident in items:
        if item.owner is None or item.done:
            continue
        platform = home_platform(incident, ctx)
        if platform is None:
            continue
        groups[(incident.workspace, platform, item.owner)].append((item, incident))
    out: list[OutboxIntent] = []
    for (workspace, platform, owner), owned in sorted(groups.items()):
        rows = [
            {"id": item.id, "text": item.text, "incident_ref": inc.ref, "due": iso(item.due)}
            for item, inc in owned
        ]
        noun = "action item is" if len(rows) == 1 else "action items are"
        lines = [f"{len(rows)} of your incident {noun} overdue:"]
        lines += [f"• {r['incident_ref']} #{r['id']}: {r['text']} (due {r['due']})" for r in rows]
        message = ChatMessage("action_items_due", "\n".join(lines), {"items": rows}).to_json()
        out.append(
            OutboxIntent(
                workspace=workspace,
                platform=platform,
                ordering_key=f"sched:dm:{owner}",
                action=Action.DIRECT.value,
                payload={"user": owner, "message": message},
                idempotency_key=f"sched:{job_key}:{workspace}:{platform}:{owner}",
            )
        )
    return out


def _rank(incident: Incident, ctx: NotifyContext) -> int:
    try:
        return ctx.policy.severity(incident.severity).rank
    except UnknownSeverity:
        return len(ctx.policy.severities) + 1
