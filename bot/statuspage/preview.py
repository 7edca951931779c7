"""The preview of a public update: exactly what the status page would show, nothing sent."""

from __future__ import annotations

from bot.domain.decide import MAX_PUBLIC_TEXT
from bot.domain.errors import InvalidCommand, NotFound
from bot.repository import Repo
from bot.security.membership import EVERYONE, Reader
from bot.service import IncidentService, require_visible
from bot.statuspage.rules import (
    STATUSPAGE,
    Publication,
    StatuspageRules,
    publication,
    ref_key,
)

NOT_CONFIGURED = "The status page is not configured: set the SITREP_STATUSPAGE_ settings."


async def preview_public(
    service: IncidentService,
    rules: StatuspageRules | None,
    workspace: str,
    number: int,
    text: str,
    *,
    reader: Reader = EVERYONE,
) -> Publication:
    """What confirming ``text`` on INC-``number`` would publish; refuses what never could."""
    if rules is None:
        raise InvalidCommand(NOT_CONFIGURED)
    if len(text.strip()) > MAX_PUBLIC_TEXT:
        raise InvalidCommand(f"A public update is at most {MAX_PUBLIC_TEXT} characters.")

    def work(repo: Repo) -> Publication:
        incident = repo.get_incident(workspace, number)
        if incident is None or incident.id is None:
            raise NotFound(f"INC-{number} not found")
        require_visible(repo, incident, reader)
        stored = repo.get_chat_ref(workspace, STATUSPAGE, ref_key(incident.id))
        return publication(rules, service.policy, incident, text, creates=stored is None)

    return await service.read(work)
