"""The publishing ports' way back into sitrep: render the postmortem, find and record its page.

A port runs outside any transaction. It renders inside a short read transaction (the
renderer is pure), makes its calls, and records the page right after the service created or
updated it (timeline entry and stored id in one transaction, once per version). Right before
a first create it notes so in the stored ref (``sending``, the create journal of
``bot.journal``): only then may a retry look for a page the lost answer would have named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from bot.domain import commands as c
from bot.domain.decide import SYSTEM
from bot.journal import note_sending, note_unsent
from bot.postmortem import PostmortemFacts, render_postmortem
from bot.publish.refs import LABELS, page_key
from bot.repository import Repo
from bot.service import IncidentService

T = TypeVar("T")


class PublishLinks(Protocol):
    """What a publishing port needs of sitrep."""

    async def render(self, workspace: str, number: int, fn: Callable[[PostmortemFacts], T]) -> T:
        """Gather INC-``number``'s postmortem and hand it to ``fn`` (in the read transaction)."""
        ...

    async def find(self, workspace: str, number: int, service: str) -> dict[str, Any] | None:
        """The stored ref of INC-``number``'s page in ``service``, or None."""
        ...

    async def record(
        self, workspace: str, number: int, service: str, *, ext_id: str, url: str, version: int
    ) -> None:
        """Keep the page's id and version and put the link on the timeline (idempotent)."""
        ...

    async def sending(self, workspace: str, number: int, service: str) -> None:
        """Note in the stored ref that a first create is being sent now (committed first)."""
        ...

    async def unsent(self, workspace: str, number: int, service: str) -> None:
        """Take the note back: the service refused the create, so it made nothing."""
        ...


class ServicePublishLinks:
    """``PublishLinks`` over the incident service."""

    def __init__(self, service: IncidentService) -> None:
        self.service = service

    async def render(self, workspace: str, number: int, fn: Callable[[PostmortemFacts], T]) -> T:
        """The whole postmortem, as the CLI export sees it (sitrep itself reads it)."""
        return await render_postmortem(self.service, workspace, number, fn)

    async def find(self, workspace: str, number: int, service: str) -> dict[str, Any] | None:
        """The stored ref, read in its own short transaction."""

        def work(repo: Repo) -> dict[str, Any] | None:
            incident = repo.get_incident(workspace, number)
            if incident is None or incident.id is None:
                return None
            return repo.get_chat_ref(workspace, service, page_key(incident.id))

        return await self.service.read(work)

    async def record(
        self, workspace: str, number: int, service: str, *, ext_id: str, url: str, version: int
    ) -> None:
        """Run ``RecordPublished``; the service stores the ref as its side effect."""
        cmd = c.RecordPublished(
            service=service, label=LABELS.get(service, service), id=ext_id, url=url, version=version
        )
        await self.service.execute(workspace, number, cmd, SYSTEM)

    async def sending(self, workspace: str, number: int, service: str) -> None:
        """``{"state": "sent", "at": now}`` in the ref, in its own short transaction."""
        await self._journal(workspace, number, service, sent=True)

    async def unsent(self, workspace: str, number: int, service: str) -> None:
        """The ref back to planned, unless it was answered meanwhile."""
        await self._journal(workspace, number, service, sent=False)

    async def _journal(self, workspace: str, number: int, service: str, *, sent: bool) -> None:
        now = self.service.clock.now()

        def work(repo: Repo) -> None:
            incident = repo.get_incident(workspace, number)
            if incident is None or incident.id is None:
                return
            note = note_sending if sent else note_unsent
            note(repo, workspace, service, page_key(incident.id), incident.id, now)

        await self.service.uow.run(work)
