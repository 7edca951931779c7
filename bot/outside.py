"""Outside services planned from incident changes: paging now, tickets and status pages next.

A planner sees every committed change (the incident before and after, the events) inside the
command's transaction and returns outbox rows for its service (``outside_intent``); the
outbox worker delivers them through the service's ``ServicePort`` with the same retries,
``Retry-After`` and parking as chat messages. So a page, like a chat message, is written with
the state change that caused it, and the service being down delays it but never loses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.model import Event, Incident
from bot.outbox_types import OutboxIntent
from bot.repository import Repo


class OutsidePlanner(Protocol):
    """Turns an incident change into deliveries to one outside service."""

    def plan(
        self,
        repo: Repo,
        before: Incident | None,
        after: Incident,
        events: Sequence[Event],
        now: datetime,
    ) -> Sequence[OutboxIntent]:
        """The rows to queue with this change; may raise ``InvalidCommand`` to refuse it."""
        ...

    def handles(self, events: Sequence[Event]) -> bool:
        """Whether these events ask something of this service (paging refuses when none do)."""
        ...
