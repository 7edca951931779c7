"""Chat commands that reach alert intake: maintenance windows and "Declare incident" buttons.

Shared by the Slack and Teams handlers so both answer the same way.
"""

from __future__ import annotations

from bot.chatops.grammar import Maintenance
from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand
from bot.runtime import Runtime
from handlers.webhooks import intake_for


async def create_maintenance_from_chat(
    rt: Runtime, parsed: Maintenance, actor: Actor, *, dedup_key: str | None = None
) -> str:
    """Open a maintenance window from ``/incident maintenance 2h service=api reason``.

    ``dedup_key`` identifies the chat request: a replay of it opens no second window.
    """
    window = await intake_for(rt).maintenance.create(
        rt.settings.workspace,
        starts_at=None,
        duration=parsed.duration,
        matchers=list(parsed.matchers),
        reason=parsed.reason,
        actor=actor,
        dedup_key=dedup_key,
    )
    matchers = ", ".join(f"{m.name}{m.op}{m.value}" for m in window.matchers)
    return (
        f"Maintenance window #{window.id} until {window.ends_at:%Y-%m-%d %H:%M} UTC for "
        f"{matchers}: matching alerts are recorded but will not page or declare."
    )


async def declare_from_alert_group(rt: Runtime, value: str, actor: Actor) -> str:
    """Declare (or find) the incident for an alert group; ``value`` is ``source|group_key``."""
    source, sep, group_key = value.partition("|")
    if not sep or not source or not group_key:
        raise InvalidCommand("this button does not name an alert group")
    incident, created = await intake_for(rt).declare_for_group(
        rt.settings.workspace, source, group_key, actor
    )
    if created:
        return f"{incident.ref} declared ({incident.severity}): {incident.title}."
    return f"{incident.ref} is already open for these alerts."
