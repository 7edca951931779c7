"""Plans Statuspage calls: a confirmed public update creates or updates the page's incident;
resolving a published incident resolves it there.

Rows are written in the command's transaction (``bot.outside``) on one lane per incident, so
an update never overtakes the create. The incident's ref is marked ``planned`` at the first
publication, so a second update is planned as an update even before the create was answered
(the port reads the created id when it sends it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.errors import InvalidCommand
from bot.domain.model import Event, EventKind, Incident
from bot.domain.policy import Policy
from bot.outbox_types import OutboxIntent, outside_intent
from bot.repository import Repo
from bot.statuspage.rules import (
    CREATE,
    RESOLVE,
    RESOLVED_BODY,
    STATUSPAGE,
    UPDATE,
    StatuspageRules,
    lane,
    publication,
    ref_key,
)

PLANNED = {"state": "planned"}


def published_text(events: Sequence[Event]) -> str | None:
    """The confirmed public text among a command's events, if any."""
    for ev in events:
        if ev.kind is EventKind.STATUS_UPDATE and ev.data.get("public"):
            return ev.text
    return None


class StatuspagePlanner:
    """The outside planner of the status page."""

    service = STATUSPAGE

    def __init__(self, rules: StatuspageRules, policy: Policy) -> None:
        self.rules = rules
        self.policy = policy

    def handles(self, events: Sequence[Event]) -> bool:
        """A confirmed public update is for us."""
        return published_text(events) is not None

    def plan(
        self,
        repo: Repo,
        before: Incident | None,
        after: Incident,
        events: Sequence[Event],
        now: datetime,
    ) -> Sequence[OutboxIntent]:
        """A create or update per public update; a resolve when a published incident ends."""
        assert after.id is not None
        ws = after.workspace
        stored = repo.get_chat_ref(ws, STATUSPAGE, ref_key(after.id))
        text = published_text(events)
        if text is not None:
            pub = publication(self.rules, self.policy, after, text, creates=stored is None)
            if stored is None:
                repo.put_chat_ref(
                    ws, STATUSPAGE, ref_key(after.id), PLANNED, now=now, incident_id=after.id
                )
            return [self._intent(after, CREATE if pub.creates else UPDATE, pub.to_json())]
        if stored is None or before is None:
            return []
        if before.private != after.private and after.private:
            # Made private after publishing: nothing more goes out, and people should know.
            raise InvalidCommand(
                f"{after.ref} is on the public status page; resolve it there before making it"
                " private."
            )
        if before.status.is_open and not after.status.is_open:
            pub = publication(self.rules, self.policy, after, RESOLVED_BODY, creates=False)
            return [self._intent(after, RESOLVE, pub.to_json())]
        return []

    def _intent(self, incident: Incident, action: str, payload: dict[str, Any]) -> OutboxIntent:
        assert incident.id is not None
        return outside_intent(
            incident.workspace,
            STATUSPAGE,
            lane(incident.id),
            action,
            {"incident": incident.ref, "number": incident.number, **payload},
            # Unique per row: the command's intake key already stops a replay queuing twice.
            f"sitrep:{incident.workspace}:{incident.ref}:{STATUSPAGE}:{action}:{uuid.uuid4().hex}",
        )


def statuspage_planners(rules: StatuspageRules | None, policy: Policy) -> list[StatuspagePlanner]:
    """The planner when the status page is configured."""
    return [StatuspagePlanner(rules, policy)] if rules is not None else []
