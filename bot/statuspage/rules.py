"""What a public update becomes on the status page: status, component status, impact.

The preview shows exactly what ``publication`` returns; the planner sends the same thing, so
what a person confirmed is what goes out. Only the confirmed text and the incident's title
(shown in the preview of the first publication) ever leave sitrep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from bot.config import Settings
from bot.domain.errors import InvalidCommand
from bot.domain.model import Incident, Status
from bot.domain.policy import Policy

STATUSPAGE: Final = "statuspage"
LABEL: Final = "Statuspage incident"
# Outbox actions of the Statuspage port.
CREATE: Final = "create"
UPDATE: Final = "update"
RESOLVE: Final = "resolve"

# sitrep status → Statuspage incident status (a closed incident stays resolved there).
INCIDENT_STATUS: Final = {
    Status.INVESTIGATING: "investigating",
    Status.IDENTIFIED: "identified",
    Status.MONITORING: "monitoring",
    Status.RESOLVED: "resolved",
    Status.CLOSED: "resolved",
}
DEFAULT_COMPONENT_STATUS: Final = "partial_outage"
DEFAULT_IMPACT: Final = "minor"
RESOLVED_BODY: Final = "This incident has been resolved."


@dataclass(frozen=True, slots=True)
class StatuspageRules:
    """The status page's settings, as the core needs them (no credential)."""

    page_id: str
    components: tuple[str, ...] = ()
    component_status: dict[str, str] = field(default_factory=dict)  # severity name → status
    impact: dict[str, str] = field(default_factory=dict)  # severity name → impact

    @classmethod
    def from_settings(cls, settings: Settings) -> StatuspageRules | None:
        """None when the status page is not configured."""
        if not settings.statuspage_page_id:
            return None
        policy = settings.policy()
        return cls(
            page_id=settings.statuspage_page_id,
            components=tuple(settings.statuspage_components),
            component_status={
                policy.severity(k).name: v for k, v in settings.statuspage_component_status.items()
            },
            impact={policy.severity(k).name: v for k, v in settings.statuspage_impact.items()},
        )


@dataclass(frozen=True, slots=True)
class Publication:
    """One call's public content; ``name`` and ``impact`` only matter when it creates."""

    name: str
    status: str
    body: str
    component_status: str
    components: tuple[str, ...]
    impact: str
    creates: bool

    def to_json(self) -> dict[str, Any]:
        """For the outbox payload and the API's preview."""
        return {
            "name": self.name,
            "status": self.status,
            "body": self.body,
            "component_status": self.component_status,
            "components": list(self.components),
            "impact": self.impact,
            "creates": self.creates,
        }


def refuse_private(incident: Incident) -> None:
    """Private incidents never reach the status page, not even as a preview."""
    if incident.private:
        raise InvalidCommand(
            f"{incident.ref} is private: a private incident is never published to the status page."
        )


def publication(
    rules: StatuspageRules, policy: Policy, incident: Incident, text: str, *, creates: bool
) -> Publication:
    """What the status page will show for ``text`` on ``incident`` as it is now."""
    refuse_private(incident)
    body = text.strip()
    if not body:
        raise InvalidCommand("Write the public update first.")
    sev = policy.severity(incident.severity).name
    resolved = not incident.status.is_open
    return Publication(
        name=incident.title,
        status=INCIDENT_STATUS[incident.status],
        body=body,
        component_status=(
            "operational" if resolved else rules.component_status.get(sev, DEFAULT_COMPONENT_STATUS)
        ),
        components=rules.components,
        impact=rules.impact.get(sev, DEFAULT_IMPACT),
        creates=creates,
    )


def ref_key(incident_id: int) -> str:
    """The chat-ref key of the incident's Statuspage incident (the ticket links' scheme)."""
    return f"inc:{incident_id}:ticket"


def lane(incident_id: int) -> str:
    """One lane per incident: an update never overtakes the create."""
    return f"inc:{incident_id}:{STATUSPAGE}"
