"""Who may see a private incident: its members and admins — the one rule every surface uses.

Public incidents are visible to anyone the surface already let read; a private one only to an
admin or a member. Members are derived from data that already exists (no membership table):
the declarer, the holders of its roles, and anyone who acted on it (its timeline's actors).
Every surface (web, API, CLI, exports, and search when it exists) must ask this module rather
than test ``incident.private`` itself.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.model import Incident


@dataclass(frozen=True, slots=True)
class Reader:
    """Someone reading incidents: every id they are known by, and whether they are an admin.

    A person has several ids (an OIDC person who signed in with Slack is also their Slack
    user id; an API token acts as its owner's id), so a match on any one makes them a member.
    """

    ids: frozenset[str]
    admin: bool = False

    @classmethod
    def of(cls, *ids: str | None, admin: bool = False) -> Reader:
        """A reader known by these ids (empty and missing ones dropped)."""
        return cls(frozenset(i for i in ids if i), admin)


# The holder of the database or of the shared API token: sees everything.
EVERYONE = Reader(frozenset(), admin=True)


def role_members(incident: Incident) -> frozenset[str]:
    """Members by the incident row alone: the declarer and the current role holders."""
    held = (incident.declared_by, incident.commander, incident.comms_lead, incident.scribe)
    return frozenset(i for i in held if i)


def can_see(incident: Incident, reader: Reader, actors: Collection[str] = ()) -> bool:
    """Whether ``reader`` may see ``incident``; ``actors`` are the ids on its timeline.

    A refusal must look exactly like a missing incident to the caller (404, absent from
    lists), so nobody can probe which private incidents exist.
    """
    if not incident.private or reader.admin:
        return True
    if reader.ids & role_members(incident):
        return True
    return any(actor in reader.ids for actor in actors)


def needs_timeline(incident: Incident, reader: Reader) -> bool:
    """True when only the timeline's actors can decide (saves the query otherwise)."""
    return incident.private and not reader.admin and not (reader.ids & role_members(incident))
