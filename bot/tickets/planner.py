"""Plans tickets: open one when asked or severe enough, then keep it in step with the incident.

Rows are written in the command's transaction (``bot.outside``) on one lane per incident and
service, so an update or an action item's sub-task never overtakes the ticket's create, nor an
item done (or reopened) in sitrep its sub-task's create. The incident's ref is marked
``planned`` at once, so a second ``ticket`` or a severity bump never queues a second create.
Payloads carry no credential and, for a private incident, no title or free text: whoever
follows the link to sitrep sees it there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.domain.errors import InvalidCommand
from bot.domain.model import ActionItem, Event, EventKind, Incident, Status
from bot.domain.policy import Policy
from bot.domain.snapshot import incident_snapshot
from bot.outbox_types import OutboxIntent, outside_intent
from bot.repository import Repo
from bot.tickets.refs import (
    CREATE,
    CREATE_ITEM,
    ITEM_STATE,
    JIRA,
    JIRA_WEBHOOK_ACTOR,
    SERVICENOW,
    UPDATE,
    described,
    lane,
    ticket_key,
)

PLANNED = {"state": "planned"}
ITEM_STATES = {EventKind.ACTION_ITEM_DONE: True, EventKind.ACTION_ITEM_REOPENED: False}


@dataclass(frozen=True, slots=True)
class TicketRules:
    """One ticket service's settings, as the planner needs them."""

    service: str
    # Open a ticket on its own at this severity rank or more severe (1 = SEV1); None: on ask.
    min_rank: int | None = None
    # Action items become tickets of their own (Jira sub-tasks or issues).
    action_items: bool = False


def dedup_key(workspace: str, number: int) -> str:
    """``sitrep:<workspace>:INC-<n>``: the ticket's correlation id in the service."""
    return f"sitrep:{workspace}:INC-{number}"


class TicketPlanner:
    """The outside planner of one ticket service."""

    def __init__(self, rules: TicketRules, policy: Policy, base_url: str = "") -> None:
        self.rules = rules
        self.policy = policy
        self.base_url = base_url

    @property
    def service(self) -> str:
        """The service this planner writes rows for."""
        return self.rules.service

    def handles(self, events: Sequence[Event]) -> bool:
        """A ticket request names this service or none."""
        return any(self._asked(ev) is not None for ev in events)

    def _asked(self, ev: Event) -> bool | None:
        """None: not a request for us; True: for us by name; False: for every service."""
        if ev.kind is not EventKind.TICKET_REQUESTED:
            return None
        named = str(ev.data.get("service") or "")
        if not named:
            return False
        return True if named == self.service else None

    def plan(
        self,
        repo: Repo,
        before: Incident | None,
        after: Incident,
        events: Sequence[Event],
        now: datetime,
    ) -> Sequence[OutboxIntent]:
        """A create when asked or severe enough; afterwards updates and action items."""
        assert after.id is not None
        ws, svc = after.workspace, self.service
        asked = [a for a in (self._asked(ev) for ev in events) if a is not None]
        stored = repo.get_chat_ref(ws, svc, ticket_key(after.id))
        if stored is None:
            if not (asked or self._severe_enough(before, after)):
                return []
            repo.put_chat_ref(ws, svc, ticket_key(after.id), PLANNED, now=now, incident_id=after.id)
            return [
                self._intent(after, CREATE, self._snapshot(after, events)),
                *self._items(repo, after, now),
            ]
        if any(asked):
            raise InvalidCommand(f"{after.ref} already has {described(svc, stored)}.")
        out: list[OutboxIntent] = []
        changes = self._changes(before, after)
        if changes:
            out.append(
                self._intent(after, UPDATE, self._snapshot(after, events) | {"changes": changes})
            )
        if any(ev.kind is EventKind.ACTION_ITEM_ADDED for ev in events):
            out.extend(self._items(repo, after, now))
        out.extend(self._item_states(repo, after, events))
        return out

    def _severe_enough(self, before: Incident | None, after: Incident) -> bool:
        """Declared at, or raised to, the configured severity or worse."""
        if self.rules.min_rank is None:
            return False
        if before is not None and before.severity == after.severity:
            return False
        return self.policy.severity(after.severity).rank <= self.rules.min_rank

    @staticmethod
    def _changes(before: Incident | None, after: Incident) -> list[str]:
        if before is None:
            return []
        changes = []
        if before.status != after.status:
            changes.append("status")
        if before.severity != after.severity:
            changes.append("severity")
        if before.title != after.title or before.private != after.private:
            changes.append("title")
        return changes

    def _snapshot(self, incident: Incident, events: Sequence[Event]) -> dict[str, Any]:
        sev = self.policy.severity(incident.severity)
        private = incident.private
        resolution = ""
        if incident.status is Status.RESOLVED and not private:
            said = [
                str(ev.data.get("text") or "")
                for ev in events
                if ev.kind is EventKind.STATUS_CHANGED
            ]
            resolution = next((t for t in said if t), "") or incident.summary
        return {
            "incident": incident.ref,
            "number": incident.number,
            "title": "private incident" if private else incident.title,
            "summary": "" if private else incident.summary,
            "severity": sev.name,
            "rank": sev.rank,
            "status": Status(incident.status).value,
            "url": incident_snapshot(incident, self.policy, self.base_url)["url"],
            "dedup_key": dedup_key(incident.workspace, incident.number),
            "declared_at": incident.declared_at.isoformat(),
            "private": private,
            "resolution": resolution[:4000],
        }

    def _items(self, repo: Repo, incident: Incident, now: datetime) -> list[OutboxIntent]:
        """A create per open action item without a ticket yet."""
        if not self.rules.action_items:
            return []
        assert incident.id is not None
        ws, svc, out = incident.workspace, self.service, []
        items = [i for i in repo.action_items(incident.id) if not i.done]
        names = repo.person_names(ws, [i.owner for i in items if i.owner])
        for item in items:
            key = ticket_key(incident.id, item.id)
            if repo.get_chat_ref(ws, svc, key) is not None:
                continue
            repo.put_chat_ref(ws, svc, key, PLANNED, now=now, incident_id=incident.id)
            out.append(self._intent(incident, CREATE_ITEM, self._item(incident, item, names)))
        return out

    def _item_states(
        self, repo: Repo, incident: Incident, events: Sequence[Event]
    ) -> list[OutboxIntent]:
        """Done or reopened in sitrep: the item's ticket follows, if it has one (even planned:
        the row waits behind the create on the lane)."""
        if not self.rules.action_items:
            return []
        assert incident.id is not None
        out = []
        for ev in events:
            done = ITEM_STATES.get(ev.kind)
            # What Jira's webhook reported is already so in Jira: an echo could only loop.
            if done is None or ev.actor == JIRA_WEBHOOK_ACTOR:
                continue
            item = int(ev.data["id"])
            key = ticket_key(incident.id, item)
            if repo.get_chat_ref(incident.workspace, self.service, key) is None:
                continue
            # No text, private or not: the port needs only which item and which way.
            payload = {
                "incident": incident.ref,
                "number": incident.number,
                "item": item,
                "done": done,
                "dedup_key": dedup_key(incident.workspace, incident.number),
            }
            out.append(self._intent(incident, ITEM_STATE, payload))
        return out

    def _item(self, incident: Incident, item: ActionItem, names: dict[str, str]) -> dict[str, Any]:
        text = f"Action item #{item.id} of a private incident" if incident.private else item.text
        return {
            "incident": incident.ref,
            "number": incident.number,
            "item": item.id,
            "text": text,
            "owner": item.owner or "",
            "owner_name": names.get(item.owner or "", item.owner or ""),
            "due": item.due.date().isoformat() if item.due else "",
            "url": incident_snapshot(incident, self.policy, self.base_url)["url"],
            "dedup_key": dedup_key(incident.workspace, incident.number),
        }

    def _intent(self, incident: Incident, action: str, payload: dict[str, Any]) -> OutboxIntent:
        assert incident.id is not None
        key = dedup_key(incident.workspace, incident.number)
        return outside_intent(
            incident.workspace,
            self.service,
            lane(incident.id, self.service),
            action,
            payload,
            # Unique per row: the command's intake key already stops a replay queuing twice.
            f"{key}:{self.service}:{action}:{uuid.uuid4().hex}",
        )


def ticket_planners(settings: Settings) -> list[TicketPlanner]:
    """A planner per configured ticket service (none when neither block is set)."""
    policy = settings.policy()

    def rank(name: str | None) -> int | None:
        return policy.severity(name).rank if name else None

    rules = []
    if settings.jira_url:
        rules.append(TicketRules(JIRA, rank(settings.jira_min_severity), action_items=True))
    if settings.servicenow_url:
        rules.append(TicketRules(SERVICENOW, rank(settings.servicenow_min_severity)))
    return [TicketPlanner(r, policy, settings.public_url) for r in rules]
