"""The ticket ports' way back into sitrep: find a ticket's id, record a new ticket's link.

A port runs outside any transaction; it reads the stored id before an update and, right
after the service created a ticket, records it (the timeline entry and the stored ids in one
transaction, once however often it is retried), before anything else can fail. Right before
it sends a create it notes so in the stored ref (``sending``, the create journal of
``bot.journal``), so that any replica retrying it knows the service may already have one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bot.domain import commands as c
from bot.domain.decide import SYSTEM
from bot.journal import note_sending, note_unsent
from bot.repository import Repo
from bot.service import IncidentService
from bot.tickets.refs import LABELS, back_key, ticket_key

# Links are recorded by sitrep itself, on the service's answer.
TICKETS = SYSTEM


class TicketLinks(Protocol):
    """What a ticket port needs of sitrep."""

    async def find(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> dict[str, Any] | None:
        """The stored ref of INC-``number``'s ticket (or its item's), or None."""
        ...

    async def record(
        self,
        workspace: str,
        number: int,
        service: str,
        *,
        key: str,
        ext_id: str,
        url: str,
        item_id: int | None = None,
    ) -> None:
        """Keep a created ticket's ids and put it on the timeline (idempotent)."""
        ...

    async def sending(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> None:
        """Note in the stored ref that a create is being sent now (committed before it is)."""
        ...

    async def unsent(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> None:
        """Take the note back: the service refused the create, so it made nothing."""
        ...

    def now(self) -> datetime:
        """sitrep's clock, which dated the notes ``sending`` left."""
        ...


class ServiceTicketLinks:
    """``TicketLinks`` over the incident service."""

    def __init__(self, service: IncidentService) -> None:
        self.service = service

    async def find(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> dict[str, Any] | None:
        """The stored ref, read in its own short transaction."""

        def work(repo: Repo) -> dict[str, Any] | None:
            incident = repo.get_incident(workspace, number)
            if incident is None or incident.id is None:
                return None
            return repo.get_chat_ref(workspace, service, ticket_key(incident.id, item_id))

        return await self.service.read(work)

    async def record(
        self,
        workspace: str,
        number: int,
        service: str,
        *,
        key: str,
        ext_id: str,
        url: str,
        item_id: int | None = None,
    ) -> None:
        """Run ``RecordTicketLink``; the service stores the ids as its side effect."""
        cmd = c.RecordTicketLink(
            service=service,
            label=LABELS.get(service, service),
            key=key,
            id=ext_id,
            url=url,
            item_id=item_id,
        )
        await self.service.execute(workspace, number, cmd, TICKETS)

    async def sending(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> None:
        """``{"state": "sent", "at": now}`` in the ref, in its own short transaction."""
        await self._journal(workspace, number, service, item_id, sent=True)

    async def unsent(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> None:
        """The ref back to planned, unless it was answered meanwhile."""
        await self._journal(workspace, number, service, item_id, sent=False)

    def now(self) -> datetime:
        """The runtime's injected clock."""
        return self.service.clock.now()

    async def _journal(
        self, workspace: str, number: int, service: str, item_id: int | None, *, sent: bool
    ) -> None:
        now = self.now()

        def work(repo: Repo) -> None:
            incident = repo.get_incident(workspace, number)
            if incident is None or incident.id is None:
                return
            note = note_sending if sent else note_unsent
            note(repo, workspace, service, ticket_key(incident.id, item_id), incident.id, now)

        await self.service.uow.run(work)

    async def lookup(self, workspace: str, service: str, ext_id: str) -> dict[str, Any] | None:
        """``{"incident": number, "item": id or None}`` for a service's ticket id."""
        return await self.service.read(
            lambda repo: repo.get_chat_ref(workspace, service, back_key(ext_id))
        )
