"""Acknowledgements of our own pages, reported by the paging service's webhook.

PagerDuty and Opsgenie tell sitrep about the incidents/alerts its pages created through the
same webhooks that bring alerts in. Those are not new alerts (feeding them to alert intake
would declare an incident about our own page): an acknowledgement lands on the paged
incident's timeline once, whatever the number of replays, and everything else about a page
is taken note of and dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import commands as c
from bot.domain.decide import SYSTEM
from bot.domain.errors import NotFound
from bot.domain.model import EventKind
from bot.paging.targets import SERVICE_LABELS, parse_dedup_key
from bot.repository import Repo
from bot.service import IncidentService

# Reports arrive through a verified webhook; the service's person is named in the entry.
WEBHOOK = dataclasses.replace(SYSTEM, surface="webhook")


@dataclass(frozen=True, slots=True)
class PageReport:
    """What a paging service said about one of sitrep's pages."""

    service: str  # pagerduty or opsgenie
    dedup_key: str
    acknowledged: bool
    by: str = ""
    external_ref: str = ""


class Recorded(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # not an acknowledgement
    UNKNOWN = "unknown"  # no such page in this workspace


def is_our_page(key: str | None) -> bool:
    """Whether a dedup key / alias is one sitrep's pages carry."""
    return parse_dedup_key(key) is not None


class PageAcks:
    """Records acknowledgements of pages on their incident's timeline."""

    def __init__(self, service: IncidentService, workspace: str) -> None:
        self.service = service
        self.workspace = workspace

    async def record(self, report: PageReport) -> Recorded:
        """Put an acknowledgement on the timeline, once per report."""
        parsed = parse_dedup_key(report.dedup_key)
        # Another workspace's page (several may share a database) is not ours to record.
        if parsed is None or parsed[0] != self.workspace:
            return Recorded.UNKNOWN
        _, number, target = parsed
        paged = await self._paged_target(number, target)
        if paged is None:
            return Recorded.UNKNOWN
        if not report.acknowledged:
            return Recorded.IGNORED
        cmd = c.RecordPageAck(
            target=paged,
            service=SERVICE_LABELS.get(report.service, report.service),
            by=report.by,
            external_ref=f"{report.service}:{report.external_ref or report.dedup_key}"[:200],
        )
        outcome = await self.service.execute(self.workspace, number, cmd, WEBHOOK)
        return Recorded.RECORDED if outcome.changed else Recorded.DUPLICATE

    async def _paged_target(self, number: int, target: str) -> str | None:
        """The target as paged on INC-``number`` (its spelling), or None if never paged."""
        ws = self.workspace

        def work(repo: Repo) -> str | None:
            incident = repo.get_incident(ws, number)
            if incident is None or incident.id is None:
                return None
            for entry in repo.timeline(incident.id, kinds=[EventKind.PAGED]):
                name = str(entry.data.get("target", ""))
                if name.lower() == target.lower():
                    return name
            return None

        try:
            return await self.service.read(work)
        except NotFound:
            return None
