"""Postmortem assembly: read everything the document needs in one transaction.

Which format it becomes is the caller's choice: the renderer is handed in (the exporters live in
``integrations/export``) and runs inside the same transaction, so a long timeline streams from
the database into the output without being held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TypeVar

from bot.domain.alert import StoredAlert
from bot.domain.errors import NotFound
from bot.domain.metrics import METRIC_KINDS, Metrics, compute_metrics
from bot.domain.model import ActionItem, EventKind, Incident, StatusUpdate, TimelineEntry
from bot.domain.policy import Policy
from bot.people import NAMED_KINDS, ids_to_name
from bot.repository import Repo
from bot.security.membership import EVERYONE, Reader, role_members
from bot.service import IncidentService, require_visible

T = TypeVar("T")

# The timeline entries the postmortem's picture draws (integrations.export.timeline_svg).
PICTURE_KINDS: frozenset[EventKind] = frozenset(
    {
        EventKind.DECLARED,
        EventKind.STATUS_CHANGED,
        EventKind.STATUS_UPDATE,
        EventKind.ALERT_FIRING,
        EventKind.ALERT_RESOLVED,
    }
)
# More entries than a picture can show apart; it draws these and says how many it left out.
PICTURE_ENTRIES_READ = 2000


@dataclass(frozen=True, slots=True)
class PostmortemFacts:
    """Everything a postmortem says, gathered; ``timeline`` may be read only once."""

    incident: Incident
    timeline: Iterable[TimelineEntry]
    updates: list[StatusUpdate]
    alerts: list[StoredAlert]
    action_items: list[ActionItem]
    metrics: Metrics
    policy: Policy
    generated_at: datetime
    base_url: str
    # Display names by actor id for the timeline and the roles (bot.people).
    names: dict[str, str] = field(default_factory=dict)
    # The entries the timeline picture draws, read apart from ``timeline`` (which streams).
    picture_entries: list[TimelineEntry] = field(default_factory=list)


async def render_postmortem(
    service: IncidentService,
    workspace: str,
    number: int,
    render: Callable[[PostmortemFacts], T],
    *,
    reader: Reader = EVERYONE,
) -> T:
    """Gather INC-``number``'s postmortem and hand it to ``render`` inside the transaction
    (NotFound when ``reader`` may not see it)."""
    now = service.clock.now()
    policy = service.policy
    base_url = service.notify.base_url
    names = await _names(service, workspace, number)

    def work(repo: Repo) -> T:
        incident = repo.get_incident(workspace, number)
        if incident is None or incident.id is None:
            raise NotFound(f"INC-{number} not found")
        require_visible(repo, incident, reader)
        # Metrics need only a few kinds of entry; computing them first lets the full timeline
        # stream through the renderer once instead of being held in memory.
        metrics = compute_metrics(
            incident.declared_at, repo.timeline(incident.id, kinds=METRIC_KINDS)
        )
        facts = PostmortemFacts(
            incident=incident,
            timeline=repo.timeline(incident.id),
            updates=repo.status_updates(incident.id),
            alerts=repo.alerts_for_incident(incident.id),
            action_items=repo.action_items(incident.id),
            metrics=metrics,
            policy=policy,
            generated_at=now,
            base_url=base_url,
            names=names,
            picture_entries=picture_entries(repo, incident.id),
        )
        return render(facts)

    return await service.uow.run(work)


def picture_entries(repo: Repo, incident_id: int) -> list[TimelineEntry]:
    """The first entries of the kinds the timeline picture draws, in time order."""
    return list(islice(repo.timeline(incident_id, kinds=PICTURE_KINDS), PICTURE_ENTRIES_READ))


async def _names(service: IncidentService, workspace: str, number: int) -> dict[str, str]:
    """Names of everyone the postmortem mentions, looked up before its transaction opens (a
    platform lookup must not hold a database transaction open)."""

    def mentioned(repo: Repo) -> set[str]:
        incident = repo.get_incident(workspace, number)
        if incident is None or incident.id is None:
            raise NotFound(f"INC-{number} not found")
        wanted = set(repo.timeline_actors(incident.id)) | role_members(incident)
        # Ids the core wrote into texts (role handovers, action-item owners), read by kind so
        # a long timeline is not loaded for them.
        wanted |= ids_to_name(repo.timeline(incident.id, kinds=NAMED_KINDS))
        wanted |= {u.author for u in repo.status_updates(incident.id) if u.author}
        for item in repo.action_items(incident.id):
            wanted |= {who for who in (item.owner, item.created_by, item.done_by) if who}
        return wanted

    wanted = await service.uow.run(mentioned)
    if service.people is not None:
        return await service.people.names(workspace, wanted)
    return await service.uow.run(lambda repo: repo.person_names(workspace, wanted))
