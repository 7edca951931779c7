"""The incident state machine: ``decide`` turns a command into events, ``apply`` folds them in.

Both are pure: no clock, no storage, no chat. The service layer feeds them ``now`` and persists
what they return, so every rule here is testable as a table.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain import commands as c
from bot.domain.errors import EditConflict, InvalidCommand, InvalidTransition, PermissionDenied
from bot.domain.limits import check_time
from bot.domain.model import (
    EDITABLE_FIELDS,
    MITIGATED_STATUSES,
    POSTMORTEM_SECTIONS,
    TRANSITIONS,
    Event,
    EventKind,
    Incident,
    Role,
    Status,
    text_version,
)
from bot.domain.policy import Policy, UnknownSeverity

MAX_TITLE = 200
MAX_TEXT = 4000
# A postmortem section is a document, not a chat line.
MAX_SECTION = 20000
MAX_SERVICE = 100


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked. ``trusted`` marks local operators (CLI, API token holders)."""

    id: str
    display: str = ""
    trusted: bool = False
    # Where the action came from (bot.audit.Surface) when the id does not say it.
    surface: str = ""

    @property
    def name(self) -> str:
        """What the timeline shows."""
        return self.display or self.id


SYSTEM = Actor(id="sitrep", display="sitrep", trusted=True)


def declare(
    cmd: c.Declare, *, workspace: str, number: int, actor: Actor, now: datetime, policy: Policy
) -> tuple[Incident, list[Event]]:
    """Create a new incident and its first events."""
    title = _clean(cmd.title, "title", MAX_TITLE)
    sev = policy.severity(cmd.severity) if cmd.severity else policy.default
    summary = _clean(cmd.summary, "summary", MAX_TEXT, required=False)
    commander = cmd.commander or (actor.id if actor.id != SYSTEM.id else None)
    runbook = runbook_url(cmd.runbook_url)
    # One line, single spaces: it is a chart label and a filter value.
    service = " ".join(_clean(cmd.service, "service", MAX_SERVICE, required=False).split())
    incident = Incident(
        workspace=workspace,
        number=number,
        title=title,
        summary=summary,
        severity=sev.name,
        status=Status.INVESTIGATING,
        declared_at=now,
        declared_by=actor.id,
        private=cmd.private,
        origin=cmd.origin,
        runbook_url=runbook,
        service=service,
    )
    events = [
        Event(
            EventKind.DECLARED,
            now,
            actor.id,
            f"{sev.name} incident declared: {title}",
            {"severity": sev.name, "private": cmd.private, "title": title, "summary": summary}
            | ({"service": service} if service else {}),
        )
    ]
    if commander:
        events.append(_role_event(Role.COMMANDER, commander, None, actor, now))
    return apply(incident, events, policy), events


def decide(
    incident: Incident, cmd: c.Command, *, actor: Actor, now: datetime, policy: Policy
) -> list[Event]:
    """Validate ``cmd`` against ``incident`` and return the events it causes.

    An empty list means the command was a no-op (e.g. a double-clicked acknowledge).
    """
    match cmd:
        case c.Acknowledge():
            if incident.acknowledged_at is not None:
                return []
            return [Event(EventKind.ACKNOWLEDGED, now, actor.id, f"Acknowledged by {actor.name}")]
        case c.ChangeStatus(status=target, text=text):
            return _change_status(incident, target, text, actor, now, policy)
        case c.ChangeSeverity(severity=name):
            new = policy.severity(name)
            old = policy.severity(incident.severity)
            if new.name == old.name:
                raise InvalidCommand(f"{incident.ref} is already {old.name}")
            if new.rank > old.rank and old.restricted:
                _require_commander_or_admin(incident, actor, policy, f"downgrade a {old.name}")
            verb = "upgraded" if new.rank < old.rank else "downgraded"
            return [
                Event(
                    EventKind.SEVERITY_CHANGED,
                    now,
                    actor.id,
                    f"Severity {verb} from {old.name} to {new.name}",
                    {"from": old.name, "to": new.name},
                ),
                *_auto_ack(incident, actor, now),
            ]
        case c.AssignRole(role=role, user=user):
            user = _clean(user, "user", 200)
            previous = incident.role_holder(role)
            if previous == user:
                return []
            events = [_role_event(role, user, previous, actor, now)]
            if role is Role.COMMANDER:
                events += _auto_ack(incident, actor, now)
            return events
        case c.PostUpdate(text=text):
            text = _clean(text, "update", MAX_TEXT)
            return [
                Event(
                    EventKind.STATUS_UPDATE,
                    now,
                    actor.id,
                    text,
                    {"status": incident.status.value, "severity": incident.severity},
                )
            ]
        case c.PublishUpdate(text=text):
            if incident.private:
                raise InvalidCommand(
                    f"{incident.ref} is private: a private incident is never published to the"
                    " status page."
                )
            text = _clean(text, "public update", MAX_PUBLIC_TEXT)
            said = {"status": incident.status.value, "severity": incident.severity, "public": True}
            return [
                Event(EventKind.STATUS_UPDATE, now, actor.id, text, said),
                Event(
                    EventKind.PUBLIC_UPDATE_CONFIRMED,
                    now,
                    actor.id,
                    f"Public update confirmed for the status page by {actor.name}",
                    {"text": text},
                ),
            ]
        case c.AddNote(text=text):
            return [Event(EventKind.NOTE, now, actor.id, _clean(text, "note", MAX_TEXT))]
        case c.AddActionItem(text=text, owner=owner, due=due):
            text = _clean(text, "action item", 1000)
            if due is not None:
                check_time(due, "due")
            data: dict[str, Any] = {"owner": owner, "due": due.isoformat() if due else None}
            suffix = f" (owner {owner})" if owner else ""
            return [Event(EventKind.ACTION_ITEM_ADDED, now, actor.id, text + suffix, data)]
        case c.SetActionItemDone(item_id=item_id, done=done):
            kind = EventKind.ACTION_ITEM_DONE if done else EventKind.ACTION_ITEM_REOPENED
            verb = "completed" if done else "reopened"
            # A tracker's person has no id here: the entry names them (bot.tickets.sync).
            # Someone else's text, trimmed like a page acknowledger's name.
            by = actor.display.strip()[:MAX_TITLE] if actor.surface == "webhook" else ""
            text = f"Action item #{item_id} {verb}" + (f" by {by}" if by else "")
            item_data: dict[str, Any] = {"id": item_id} | ({"by": by} if by else {})
            return [Event(kind, now, actor.id, text, item_data)]
        case c.EditField(field=name, value=value, base=base):
            if name not in EDITABLE_FIELDS:
                raise InvalidCommand(
                    f"unknown field {name!r}; editable fields: {', '.join(EDITABLE_FIELDS)}"
                )
            limit = MAX_TITLE if name == "title" else MAX_TEXT
            if name in POSTMORTEM_SECTIONS:
                limit = MAX_SECTION
            value = _clean(value, name, limit, required=name == "title")
            if name == "runbook_url":
                value = runbook_url(value)
            current = getattr(incident, name)
            if current == value:
                return []
            # Checked under the incident's row lock (the service reads it for update), so of
            # two edits based on the same text exactly one wins and the other sees this.
            if base is not None and text_version(current) != base:
                raise EditConflict(incident.ref, name, current, text_version(current))
            label = name.replace("_", " ")
            return [
                Event(
                    EventKind.FIELD_CHANGED,
                    now,
                    actor.id,
                    f"{label.capitalize()} set",
                    {"field": name, "value": value, "previous": getattr(incident, name)},
                )
            ]
        case c.MarkPostmortemReviewed():
            if incident.is_open:
                raise InvalidCommand(
                    f"{incident.ref} is {incident.status}; review its postmortem once resolved"
                )
            if incident.postmortem_reviewed_at is not None and not incident.edited_since_review:
                return []
            return [
                Event(EventKind.POSTMORTEM_REVIEWED, now, actor.id, "Postmortem marked reviewed")
            ]
        case c.SetReminders(enabled=enabled, until=until):
            if not incident.is_open:
                raise InvalidCommand(f"{incident.ref} is {incident.status}; reminders are stopped")
            if not enabled:
                text = "Update reminders turned off"
            elif until is not None:
                text = f"Update reminders snoozed until {until:%Y-%m-%d %H:%M} UTC"
            else:
                text = "Update reminders turned on"
            until_s = until.isoformat() if until else None
            return [
                Event(
                    EventKind.REMINDERS_CHANGED,
                    now,
                    actor.id,
                    text,
                    {"enabled": enabled, "until": until_s},
                )
            ]
        case c.CaptureMessage(external_ref=ref, author=author, text=text, link=link, posted_at=at):
            return [
                Event(
                    EventKind.MESSAGE_CAPTURED,
                    at or now,
                    author,
                    _clean(text, "message", MAX_TEXT),
                    {"link": link, "captured_by": actor.id},
                    source="chat",
                    external_ref=ref,
                )
            ]
        case c.EditCapturedMessage(external_ref=ref, text=text):
            return [
                Event(EventKind.MESSAGE_EDITED, now, actor.id, text, {"ref": ref}, external_ref=ref)
            ]
        case c.DeleteCapturedMessage(external_ref=ref):
            return [
                Event(
                    EventKind.MESSAGE_DELETED,
                    now,
                    actor.id,
                    "Message deleted in chat",
                    {"ref": ref},
                    external_ref=ref,
                )
            ]
        case c.Page(target=target):
            return _page(incident, target, actor, now)
        case c.RecordPageAck(target=target, service=service, by=by, external_ref=ref):
            # Someone else's text: trimmed to fit, never a reason to refuse the report.
            who = by.strip()[:MAX_TITLE] or "someone"
            return [
                Event(
                    EventKind.PAGE_ACKNOWLEDGED,
                    now,
                    actor.id,
                    f"{who} acknowledged the page to {target} ({service})",
                    {"target": target, "service": service, "by": who},
                    source=service,
                    external_ref=ref,
                )
            ]
        case c.RequestTicket(service=service):
            where = f" in {service}" if service else ""
            return [
                Event(
                    EventKind.TICKET_REQUESTED,
                    now,
                    actor.id,
                    f"Ticket requested{where}",
                    {"service": service or ""},
                )
            ]
        case c.RecordTicketLink(
            service=service, label=label, key=key, id=ext_id, url=url, item_id=item_id
        ):
            # The service's own words, trimmed: never a reason to refuse the link.
            key, url = key.strip()[:100], url.strip()[:500]
            subject = f"Action item #{item_id} is" if item_id is not None else "Opened"
            return [
                Event(
                    EventKind.TICKET_LINKED,
                    now,
                    actor.id,
                    f"{subject} {label} {key}: {url}" if url else f"{subject} {label} {key}",
                    {"service": service, "key": key, "id": ext_id, "url": url, "item": item_id},
                    source=service,
                    external_ref=f"{service}:{ext_id}"[:200],
                )
            ]
        case c.RequestPublish(service=service):
            return [
                Event(
                    EventKind.PUBLISH_REQUESTED,
                    now,
                    actor.id,
                    f"Postmortem publishing to {service} requested",
                    {"service": service},
                )
            ]
        case c.RecordPublished(service=service, label=label, id=ext_id, url=url, version=version):
            url = url.strip()[:500]
            verb = "Published" if version <= 1 else f"Republished (version {version})"
            return [
                Event(
                    EventKind.POSTMORTEM_PUBLISHED,
                    now,
                    actor.id,
                    f"{verb} the postmortem as a {label}: {url}"
                    if url
                    else f"{verb} the postmortem as a {label}",
                    {"service": service, "id": ext_id, "url": url, "version": version},
                    source=service,
                    external_ref=f"{service}:{ext_id}:v{version}"[:200],
                )
            ]
        case c.RecordAlerts(source=source, group_key=group, firing=firing, resolved=resolved):
            out: list[Event] = []
            for kind, titles, verb in (
                (EventKind.ALERT_FIRING, firing, "firing"),
                (EventKind.ALERT_RESOLVED, resolved, "resolved"),
            ):
                if titles:
                    out.append(
                        Event(
                            kind,
                            now,
                            actor.id,
                            _alert_line(len(titles), verb, titles),
                            {
                                "source": source,
                                "group_key": group,
                                "count": len(titles),
                                "titles": list(titles[:ALERT_TITLES_KEPT]),
                            },
                            source=source,
                        )
                    )
            return out
    raise InvalidCommand(f"unsupported command {type(cmd).__name__}")  # pragma: no cover


ALERT_TITLES_KEPT = 20
# A public update fits a Slack button's value with room to spare (the confirm carries it).
MAX_PUBLIC_TEXT = 1800


def _page(incident: Incident, target: str, actor: Actor, now: datetime) -> list[Event]:
    """Paging is for incidents still open: a resolved page would be closed again at once."""
    name = target.strip()
    if not name:
        raise InvalidCommand("Page whom? Name a paging target, e.g. page payments")
    if not incident.status.is_open:
        raise InvalidCommand(f"{incident.ref} is {incident.status}; reopen it before paging.")
    return [Event(EventKind.PAGED, now, actor.id, f"Paged {name}", {"target": name})]


def _alert_line(count: int, verb: str, titles: tuple[str, ...]) -> str:
    shown = ", ".join(titles[:5])
    more = f" (+{count - 5} more)" if count > 5 else ""
    noun = "alert" if count == 1 else "alerts"
    return f"{count} {noun} {verb}: {shown}{more}"


def apply(incident: Incident, events: list[Event], policy: Policy) -> Incident:
    """Fold events into the incident state and recompute the update schedule."""
    inc = incident
    for ev in events:
        inc = dataclasses.replace(inc, **_changes_for(inc, ev))
    return dataclasses.replace(
        inc, next_update_due_at=next_update_due(inc, policy, events), version=inc.version + 1
    )


def next_update_due(incident: Incident, policy: Policy, events: list[Event]) -> datetime | None:
    """When the next stakeholder update is owed, given the severity cadence.

    ``incident`` has the events applied, but still carries the deadline from before them.
    """
    if not incident.is_open or not incident.reminders_enabled:
        return None
    for ev in events:
        if ev.kind is EventKind.REMINDERS_CHANGED and ev.data.get("until"):
            return datetime.fromisoformat(ev.data["until"])
    cadence = _cadence(policy, incident.severity)
    if cadence is None:
        return None
    current = incident.next_update_due_at
    base = incident.last_update_at or incident.declared_at
    fresh = [ev.at for ev in events if ev.kind is EventKind.REMINDERS_CHANGED or _reopened(ev)]
    if fresh:
        # A reopen or a re-enable starts a fresh interval: nobody owed an update while off.
        return max(base, *fresh) + cadence
    kinds = {ev.kind for ev in events}
    if kinds & {EventKind.DECLARED, EventKind.STATUS_UPDATE}:
        return base + cadence
    changed = [ev for ev in events if ev.kind is EventKind.SEVERITY_CHANGED]
    if not changed:
        # Status changes, notes, roles: the deadline (a snooze included) stands.
        return current
    if current is None:  # from a severity without updates: a fresh interval from now
        return max(base, changed[-1].at) + cadence
    before = _cadence(policy, str(changed[0].data.get("from", "")))
    candidate = base + cadence
    # A tighter cadence pulls the deadline in; a looser one never pulls a snooze back.
    if before is None or cadence < before:
        return min(current, candidate)
    return max(current, candidate)


def _cadence(policy: Policy, severity: str) -> timedelta | None:
    try:
        return policy.severity(severity).update_every
    except UnknownSeverity:
        return None


def _reopened(ev: Event) -> bool:
    return bool(ev.data.get("reopened"))


def _changes_for(inc: Incident, ev: Event) -> dict[str, Any]:
    d = ev.data
    match ev.kind:
        case EventKind.ACKNOWLEDGED:
            return {"acknowledged_at": inc.acknowledged_at or ev.at}
        case EventKind.STATUS_CHANGED:
            new = Status(d["to"])
            ch: dict[str, Any] = {"status": new}
            if d.get("reopened"):
                ch |= {"resolved_at": None, "closed_at": None, "mitigated_at": None}
                ch["reminders_enabled"] = True
                return ch
            if new in MITIGATED_STATUSES and inc.mitigated_at is None:
                ch["mitigated_at"] = ev.at
            if new is Status.RESOLVED:
                ch["resolved_at"] = ev.at
                if d.get("text"):
                    ch["summary"] = inc.summary or d["text"]
            if new is Status.CLOSED:
                ch["closed_at"] = ev.at
            return ch
        case EventKind.SEVERITY_CHANGED:
            return {"severity": d["to"]}
        case EventKind.ROLE_ASSIGNED:
            return {Role(d["role"]).value: d["user"]}
        case EventKind.STATUS_UPDATE:
            return {"last_update_at": ev.at}
        case EventKind.FIELD_CHANGED:
            if d["field"] in POSTMORTEM_SECTIONS:
                return {d["field"]: d["value"], "postmortem_edited_at": ev.at}
            return {d["field"]: d["value"]}
        case EventKind.POSTMORTEM_REVIEWED:
            return {"postmortem_reviewed_at": ev.at, "postmortem_reviewed_by": ev.actor}
        case EventKind.PRIVACY_CHANGED:
            return {"private": bool(d["private"])}
        case EventKind.REMINDERS_CHANGED:
            return {"reminders_enabled": bool(d["enabled"])}
    return {}


def _change_status(
    incident: Incident, target: Status, text: str, actor: Actor, now: datetime, policy: Policy
) -> list[Event]:
    current = incident.status
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition(incident.ref, current, target, allowed)
    if target is Status.CLOSED and policy.severity(incident.severity).restricted:
        _require_commander_or_admin(incident, actor, policy, f"close a {incident.severity}")
    text = _clean(text, "text", MAX_TEXT, required=False)
    reopened = not current.is_open and target.is_open
    if reopened:
        label = f"Reopened ({current} → {target})"
    elif target is Status.RESOLVED:
        label = "Resolved" + (f": {text}" if text else "")
    elif target is Status.CLOSED:
        label = "Closed"
    else:
        label = f"Status changed from {current} to {target}" + (f": {text}" if text else "")
    data: dict[str, Any] = {"from": current.value, "to": target.value, "text": text}
    if reopened:
        data["reopened"] = True
    return [
        Event(EventKind.STATUS_CHANGED, now, actor.id, label, data),
        *_auto_ack(incident, actor, now),
    ]


def _auto_ack(incident: Incident, actor: Actor, now: datetime) -> list[Event]:
    """The first hands-on move by a person counts as acknowledging the incident."""
    if incident.acknowledged_at is not None or actor.id == SYSTEM.id:
        return []
    return [Event(EventKind.ACKNOWLEDGED, now, actor.id, f"Acknowledged by {actor.name}")]


def _role_event(role: Role, user: str, previous: str | None, actor: Actor, now: datetime) -> Event:
    return Event(
        EventKind.ROLE_ASSIGNED,
        now,
        actor.id,
        f"{role.label} is now {user}",
        {"role": role.value, "user": user, "previous": previous},
    )


def _require_commander_or_admin(
    incident: Incident, actor: Actor, policy: Policy, what: str
) -> None:
    if actor.trusted or actor.id == incident.commander or actor.id in policy.admins:
        return
    raise PermissionDenied(
        f"only the commander or an admin may {what} ({incident.ref}'s commander: "
        f"{incident.commander or 'nobody'})"
    )


def runbook_url(value: str) -> str:
    """An http(s) link (or nothing); anything else is refused, it becomes a clickable link."""
    url = (value or "").strip()
    if url and (not _HTTP_URL.match(url) or len(url) > MAX_URL):
        raise InvalidCommand("runbook_url must be an http:// or https:// link")
    return url


_HTTP_URL = re.compile(r"^https?://[^\s<>|]+$", re.IGNORECASE)
MAX_URL = 2000


def _clean(value: str, name: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidCommand(f"{name} must not be empty")
    if len(text) > limit:
        raise InvalidCommand(f"{name} is {len(text)} characters; the limit is {limit}")
    return text
