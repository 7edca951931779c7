"""Which chat deliveries a change causes. Pure: events in, outbox intents out.

Logical keys name things on every platform: ``inc:{id}:room`` (the incident room),
``inc:{id}:summary`` (the pinned summary message), ``inc:{id}:broadcast`` (the one message per
incident in the broadcast channel, whose thread holds stakeholder updates). Well-known rooms
are written ``@broadcast`` and ``@alerts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.model import POSTMORTEM_SECTIONS, Event, EventKind, Incident
from bot.domain.policy import Policy
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage, RoomSpec

# Events that change what the summary, topic and broadcast show.
_VISIBLE = frozenset(
    {
        EventKind.ACKNOWLEDGED,
        EventKind.STATUS_CHANGED,
        EventKind.SEVERITY_CHANGED,
        EventKind.ROLE_ASSIGNED,
        EventKind.FIELD_CHANGED,
        EventKind.STATUS_UPDATE,
        EventKind.PRIVACY_CHANGED,
    }
)
# Postmortem sections the chat summary does not show: editing them posts nothing to chat.
_UNSHOWN_FIELDS = frozenset(POSTMORTEM_SECTIONS) - {"impact"}
# Events worth a line in the room when they did not come from the room itself.
_ROOM_NOTICE = frozenset(
    {
        EventKind.STATUS_CHANGED,
        EventKind.SEVERITY_CHANGED,
        EventKind.ROLE_ASSIGNED,
        EventKind.ACTION_ITEM_DONE,
        EventKind.ACTION_ITEM_REOPENED,
    }
)
# Answers of outside services (who took the page, the ticket's key, the published page): the
# room hears of them, since nobody there asked at that moment. Their text names no actor.
_SERVICE_NOTICE = frozenset(
    {EventKind.PAGE_ACKNOWLEDGED, EventKind.TICKET_LINKED, EventKind.POSTMORTEM_PUBLISHED}
)


def _people(ev: Event) -> list[str]:
    """The user ids an event's notice names: who acted, and whom a role went to or from."""
    ids = [ev.actor, ev.data.get("user"), ev.data.get("previous")]
    return [str(i) for i in dict.fromkeys(ids) if i]


def _is_service_notice(ev: Event) -> bool:
    """An outside service's answer worth a line; an action item's own ticket is not (each
    item would add one, and the item's line in the summary links it)."""
    if ev.kind is EventKind.TICKET_LINKED:
        return ev.data.get("item") is None
    return ev.kind in _SERVICE_NOTICE


@dataclass(frozen=True, slots=True)
class NotifyContext:
    """Where deliveries go: the chat platforms in use and how they relate."""

    platforms: tuple[str, ...]
    policy: Policy
    base_url: str = ""
    mirror: bool = False


def room_key(incident_id: int) -> str:
    """Logical key of an incident's room."""
    return f"inc:{incident_id}:room"


def room_post(
    incident: Incident, platform: str, message: ChatMessage, idempotency_key: str
) -> OutboxIntent:
    """A post of ``message`` into ``incident``'s room on ``platform``, ordered with the
    incident's other messages (so the room exists before it lands)."""
    assert incident.id is not None
    return OutboxIntent(
        workspace=incident.workspace,
        platform=platform,
        ordering_key=f"inc:{incident.id}",
        action=Action.POST.value,
        payload={"room": room_key(incident.id), "message": message.to_json()},
        idempotency_key=idempotency_key,
    )


def summary_key(incident_id: int) -> str:
    """Logical key of the pinned summary message."""
    return f"inc:{incident_id}:summary"


def broadcast_key(incident_id: int) -> str:
    """Logical key of the incident's broadcast-channel message."""
    return f"inc:{incident_id}:broadcast"


def home_platform(incident: Incident, ctx: NotifyContext) -> str | None:
    """The platform holding the incident room: where it was declared, else the first one."""
    if incident.origin in ctx.platforms:
        return incident.origin
    return ctx.platforms[0] if ctx.platforms else None


def broadcast_platforms(incident: Incident, ctx: NotifyContext) -> tuple[str, ...]:
    """Platforms whose broadcast channel hears about this incident (none when private)."""
    if incident.private or not ctx.policy.severity(incident.severity).notify_stakeholders:
        return ()
    home = home_platform(incident, ctx)
    if ctx.mirror:
        return ctx.platforms
    return (home,) if home else ()


def topic_for(incident: Incident) -> str:
    """The room topic line."""
    commander = incident.commander or "unassigned"
    return (
        f"{incident.severity} · {incident.status.value} · Commander: {commander} · {incident.title}"
    )


def _topic(room: str, incident: Incident) -> dict[str, Any]:
    """A SET_TOPIC payload: the line, and (as notices do) the ids in it for platforms that
    show names instead."""
    people = [incident.commander] if incident.commander else []
    return {"room": room, "topic": topic_for(incident), "people": people}


def plan(
    before: Incident | None,
    after: Incident,
    events: Sequence[Event],
    ctx: NotifyContext,
    *,
    from_room: bool = False,
) -> list[OutboxIntent]:
    """Deliveries for one committed change. ``from_room`` skips echoing a room command back."""
    assert after.id is not None
    iid = after.id
    kinds = {
        ev.kind
        for ev in events
        if ev.kind is not EventKind.FIELD_CHANGED or ev.data.get("field") not in _UNSHOWN_FIELDS
    }
    snapshot = incident_snapshot(after, ctx.policy, ctx.base_url)
    out: list[_Draft] = []
    home = home_platform(after, ctx)
    announce_on = broadcast_platforms(after, ctx)

    if home is not None:
        room = room_key(iid)
        if EventKind.DECLARED in kinds:
            members = _unique([after.declared_by, after.commander or ""])
            # Members ride along with the room: a Teams group chat must be created with them.
            spec = RoomSpec(after.workspace, after.number, after.title, after.private, members)
            out.append(_Draft(home, Action.OPEN_ROOM, {"key": room, "spec": _spec_json(spec)}))
            out.append(_Draft(home, Action.INVITE, {"room": room, "users": list(members)}))
            out.append(_Draft(home, Action.SET_TOPIC, _topic(room, after)))
            out.append(
                _Draft(
                    home,
                    Action.UPSERT,
                    _message(room, summary_key(iid), "incident_summary", snapshot),
                )
            )
            out.append(_Draft(home, Action.PIN, {"key": summary_key(iid)}))
            if snapshot["url"]:
                out.append(
                    _Draft(
                        home,
                        Action.BOOKMARK,
                        {
                            "room": room,
                            "title": f"{after.ref} incident page",
                            "url": snapshot["url"],
                        },
                    )
                )
            if after.runbook_url:
                out.append(
                    _Draft(
                        home,
                        Action.BOOKMARK,
                        {"room": room, "title": "Runbook", "url": after.runbook_url},
                    )
                )
        else:
            if kinds & _VISIBLE:
                if before is None or topic_for(before) != topic_for(after):
                    out.append(_Draft(home, Action.SET_TOPIC, _topic(room, after)))
                out.append(
                    _Draft(
                        home,
                        Action.UPSERT,
                        _message(room, summary_key(iid), "incident_summary", snapshot),
                    )
                )
            for ev in events:
                if ev.kind is EventKind.ROLE_ASSIGNED:
                    out.append(
                        _Draft(home, Action.INVITE, {"room": room, "users": [ev.data["user"]]})
                    )
                if ev.kind in _ROOM_NOTICE and not from_room:
                    # "people": the ids in the text, for platforms that show names instead.
                    # An outside person (a Jira user) is named in the text already.
                    said = ev.text if ev.data.get("by") else f"{ev.text} (by {ev.actor})"
                    notice = ChatMessage("notice", said, {"people": _people(ev)})
                    out.append(
                        _Draft(home, Action.POST, {"room": room, "message": notice.to_json()})
                    )
                if _is_service_notice(ev):
                    notice = ChatMessage("notice", ev.text, {"people": []})
                    out.append(
                        _Draft(home, Action.POST, {"room": room, "message": notice.to_json()})
                    )
                if ev.kind is EventKind.STATUS_UPDATE:
                    upd = _update_message(snapshot, ev)
                    out.append(_Draft(home, Action.POST, {"room": room, "message": upd}))
            if EventKind.FIELD_CHANGED in kinds and any(
                ev.data.get("field") == "runbook_url" and ev.data.get("value") for ev in events
            ):
                out.append(
                    _Draft(
                        home,
                        Action.BOOKMARK,
                        {"room": room, "title": "Runbook", "url": after.runbook_url},
                    )
                )

    for platform in announce_on:
        bkey = broadcast_key(iid)
        if EventKind.DECLARED in kinds or kinds & _VISIBLE:
            out.append(
                _Draft(platform, Action.UPSERT, _message("@broadcast", bkey, "broadcast", snapshot))
            )
        for ev in events:
            if ev.kind is EventKind.STATUS_UPDATE:
                payload = {
                    "room": "@broadcast",
                    "thread": bkey,
                    "message": _update_message(snapshot, ev),
                }
                out.append(_Draft(platform, Action.POST, payload))

    return [
        OutboxIntent(
            workspace=after.workspace,
            platform=d.platform,
            ordering_key=f"inc:{iid}",
            action=d.action.value,
            payload=d.payload,
            idempotency_key=f"inc:{iid}:v{after.version}:{d.platform}:{n}",
        )
        for n, d in enumerate(out)
    ]


@dataclass(frozen=True, slots=True)
class _Draft:
    platform: str
    action: Action
    payload: dict[str, Any]


def _message(room: str, key: str, kind: str, snapshot: IncidentSnapshot) -> dict[str, Any]:
    text = f"{snapshot['ref']}: {snapshot['title']} ({snapshot['severity']}, {snapshot['status']})"
    return {
        "room": room,
        "key": key,
        "message": ChatMessage(kind, text, {"incident": snapshot}).to_json(),
    }


def _update_message(snapshot: IncidentSnapshot, ev: Event) -> dict[str, Any]:
    update = {"text": ev.text, "author": ev.actor, "at": ev.at.isoformat()}
    text = f"Update on {snapshot['ref']} ({snapshot['status']}): {ev.text}"
    return ChatMessage("status_update", text, {"incident": snapshot, "update": update}).to_json()


def _spec_json(spec: RoomSpec) -> dict[str, Any]:
    return {
        "workspace": spec.workspace,
        "incident_number": spec.incident_number,
        "title": spec.title,
        "private": spec.private,
        "members": list(spec.members),
    }


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))
