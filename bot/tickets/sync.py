"""Jira's word on an action item's issue: done there marks it done in sitrep (and reopened,
open again), once per webhook delivery however often Jira retries it."""

from __future__ import annotations

from enum import StrEnum

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import NotFound
from bot.service import IncidentService
from bot.tickets.links import ServiceTicketLinks
from bot.tickets.refs import JIRA


class Synced(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"  # the item already was in that state
    UNKNOWN = "unknown"  # not an action item's issue in this workspace


class ItemSync:
    """Applies issue states reported by Jira's webhook to the action items they track."""

    def __init__(self, service: IncidentService, workspace: str) -> None:
        self.service = service
        self.workspace = workspace
        self.links = ServiceTicketLinks(service)

    async def apply(self, key: str, done: bool, by: str, delivery: str) -> Synced:
        """Mark the item behind issue ``key`` done (or open); ``delivery`` dedups replays."""
        back = await self.links.lookup(self.workspace, JIRA, key)
        if not back or back.get("item") is None:
            return Synced.UNKNOWN
        number, item = int(back["incident"]), int(back["item"])
        who = by.strip() or "someone"
        actor = Actor(id="jira", display=f"{who} (Jira)", trusted=True, surface="webhook")
        try:
            outcome = await self.service.execute(
                self.workspace,
                number,
                c.SetActionItemDone(item, done),
                actor,
                dedup_key=f"jira-webhook:{delivery}",
            )
        except NotFound:
            return Synced.UNKNOWN
        if outcome.replayed:
            return Synced.DUPLICATE
        return Synced.RECORDED if outcome.changed else Synced.UNCHANGED
