"""Plans a publish: one outbox row per request, on the incident's lane for that service.

The payload names the incident only; the port renders the postmortem when it delivers, so a
retry after an outage publishes what the postmortem says then, and no text waits in the
outbox. A private incident is refused unless ``SITREP_PUBLISH_PRIVATE`` allows it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from bot.config import Settings
from bot.domain.errors import InvalidCommand
from bot.domain.model import Event, EventKind, Incident
from bot.outbox_types import OutboxIntent, outside_intent
from bot.publish.refs import CONFLUENCE, NAMES, NOTION, PUBLISH, lane, page_key
from bot.repository import Repo

PLANNED = {"state": "planned"}


def asked_for(events: Sequence[Event]) -> set[str]:
    """The services these events ask to publish to."""
    return {
        str(ev.data.get("service") or "") for ev in events if ev.kind is EventKind.PUBLISH_REQUESTED
    }


class PublishPlanner:
    """The outside planner of one publishing service."""

    def __init__(self, service: str, *, allow_private: bool = False) -> None:
        self.service = service
        self.allow_private = allow_private

    def handles(self, events: Sequence[Event]) -> bool:
        """A publish request names this service."""
        return self.service in asked_for(events)

    def plan(
        self,
        repo: Repo,
        before: Incident | None,
        after: Incident,
        events: Sequence[Event],
        now: datetime,
    ) -> Sequence[OutboxIntent]:
        """A publish row when asked; refused for a private incident unless allowed."""
        if not self.handles(events):
            return []
        assert after.id is not None
        if after.private and not self.allow_private:
            raise InvalidCommand(
                f"{after.ref} is private: publishing it to {NAMES[self.service]} is off"
                " (SITREP_PUBLISH_PRIVATE)."
            )
        ws = after.workspace
        if repo.get_chat_ref(ws, self.service, page_key(after.id)) is None:
            repo.put_chat_ref(
                ws, self.service, page_key(after.id), PLANNED, now=now, incident_id=after.id
            )
        return [
            outside_intent(
                ws,
                self.service,
                lane(after.id, self.service),
                PUBLISH,
                {"incident": after.ref, "number": after.number},
                # Unique per row: the command's intake key already stops a replay queuing twice.
                f"sitrep:{ws}:{after.ref}:{self.service}:publish:{uuid.uuid4().hex}",
            )
        ]


def publish_planners(settings: Settings) -> list[PublishPlanner]:
    """A planner per configured publishing service (none when neither block is set)."""
    allow = settings.publish_private
    return [PublishPlanner(s, allow_private=allow) for s in configured_targets(settings)]


def configured_targets(settings: Settings) -> list[str]:
    """The publishing services whose settings block is set, in display order."""
    out = []
    if settings.confluence_url:
        out.append(CONFLUENCE)
    if settings.notion_token is not None and settings.notion_parent_page_id:
        out.append(NOTION)
    return out
