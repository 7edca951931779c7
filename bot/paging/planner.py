"""Plans pages: a ``page`` queues a trigger, resolving the incident queues a resolve per page.

Both are outbox rows written in the command's transaction (``bot.outside``), one lane per
incident and target, so a resolve never overtakes its trigger. Payloads name the target and
carry the dedup key, never a credential: the service's port looks the key up at delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.errors import InvalidCommand
from bot.domain.model import Event, EventKind, Incident, Status
from bot.domain.policy import Policy
from bot.domain.snapshot import incident_snapshot
from bot.outbox_types import OutboxIntent, outside_intent
from bot.paging.targets import RESOLVE, TRIGGER, PageTarget, PagingTargets, dedup_key
from bot.repository import Repo

# Where the page's "source" says it came from (PagerDuty requires one).
SOURCE = "sitrep"


class PagingPlanner:
    """The outside planner for PagerDuty and Opsgenie pages."""

    def __init__(self, targets: PagingTargets, policy: Policy, base_url: str = "") -> None:
        self.targets = targets
        self.policy = policy
        self.base_url = base_url

    def handles(self, events: Sequence[Event]) -> bool:
        """Pages are this planner's (it refuses unknown targets itself)."""
        return any(ev.kind is EventKind.PAGED for ev in events)

    def plan(
        self,
        repo: Repo,
        before: Incident | None,
        after: Incident,
        events: Sequence[Event],
        now: datetime,
    ) -> Sequence[OutboxIntent]:
        """A trigger per new page; a resolve per paged target when the incident resolves."""
        out: list[OutboxIntent] = []
        for ev in events:
            if ev.kind is EventKind.PAGED:
                target = self._target(str(ev.data.get("target", "")))
                out.append(self._intent(after, target, TRIGGER, self._trigger(after)))
        if before is not None and before.status.is_open and not after.status.is_open:
            resolve = {"incident": after.ref}
            for target in self._paged(repo, after):
                out.append(self._intent(after, target, RESOLVE, resolve))
        return out

    def _target(self, name: str) -> PageTarget:
        target = self.targets.find(name)
        if target is not None:
            return target
        if not self.targets:
            raise InvalidCommand(
                "Paging is not configured: set SITREP_PAGERDUTY_ROUTING_KEYS or"
                " SITREP_OPSGENIE_API_KEY and SITREP_OPSGENIE_TARGETS."
            )
        shown = name[:40]
        raise InvalidCommand(f"No paging target {shown!r}; try: {', '.join(self.targets.names())}.")

    def _paged(self, repo: Repo, incident: Incident) -> list[PageTarget]:
        """Every configured target this incident paged, once each, in the order paged."""
        assert incident.id is not None
        seen: dict[str, PageTarget] = {}
        for entry in repo.timeline(incident.id, kinds=[EventKind.PAGED]):
            target = self.targets.find(str(entry.data.get("target", "")))
            if target is not None:
                seen.setdefault(target.name.lower(), target)
        return list(seen.values())

    def _trigger(self, incident: Incident) -> dict[str, Any]:
        sev = self.policy.severity(incident.severity)
        # A private incident's title stays in sitrep: whoever is paged follows the link.
        title = "private incident" if incident.private else incident.title
        return {
            "summary": f"{incident.ref} {sev.name}: {title}"[:1024],
            "severity": sev.name,
            "rank": sev.rank,
            "incident": incident.ref,
            "url": incident_snapshot(incident, self.policy, self.base_url)["url"],
            "status": Status(incident.status).value,
            "source": SOURCE,
        }

    @staticmethod
    def _intent(
        incident: Incident, target: PageTarget, action: str, extra: dict[str, Any]
    ) -> OutboxIntent:
        assert incident.id is not None
        key = dedup_key(incident.workspace, incident.number, target.name)
        return outside_intent(
            incident.workspace,
            target.service,
            f"inc:{incident.id}:page:{target.name.lower()}",
            action,
            {"target": target.name, "dedup_key": key, **extra},
            # Unique per row: the command's intake key already stops a replay from queuing
            # twice, and a second page of a target reaches the same dedup key anyway.
            f"{key}:{action}:{uuid.uuid4().hex}",
        )
