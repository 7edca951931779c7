"""Where a ticket's id is kept: the ``chat_ref`` table, under the ticket service's name.

``inc:<id>:ticket`` holds the incident's ticket (``{"state": "planned"}`` from the moment a
create is queued, then ``{"id", "key", "url"}`` once the service answered);
``inc:<id>:item:<n>:ticket`` an action item's; ``ticket:<id>`` points back from the service's
id to the incident number and item, for the service's webhooks.
"""

from __future__ import annotations

from typing import Any, Final

JIRA: Final = "jira"
SERVICENOW: Final = "servicenow"
SERVICES: Final = (JIRA, SERVICENOW)
LABELS: Final = {
    JIRA: "Jira issue",
    SERVICENOW: "ServiceNow incident",
    "statuspage": "Statuspage incident",  # kept by the same links (bot.statuspage)
}
# Words accepted after `ticket` in chat.
ALIASES: Final = {"jira": JIRA, "servicenow": SERVICENOW, "snow": SERVICENOW}

# Outbox actions of the ticket ports.
CREATE: Final = "create"
UPDATE: Final = "update"
CREATE_ITEM: Final = "create_item"
# An action item done (or reopened) in sitrep: its ticket follows.
ITEM_STATE: Final = "item_state"

# The actor id of Jira's webhook (bot.tickets.sync): what it reports is not sent back to Jira.
JIRA_WEBHOOK_ACTOR: Final = "jira"


def ticket_key(incident_id: int, item_id: int | None = None) -> str:
    """The chat-ref key of an incident's (or its action item's) ticket."""
    if item_id is None:
        return f"inc:{incident_id}:ticket"
    return f"inc:{incident_id}:item:{item_id}:ticket"


def back_key(external_id: str) -> str:
    """The chat-ref key that leads from a service's id back to the incident."""
    return f"ticket:{external_id}"


def linked(ref: dict[str, Any] | None) -> bool:
    """Whether a stored ref names a created ticket (not only a planned one)."""
    return bool(ref and ref.get("id"))


def described(service: str, ref: dict[str, Any]) -> str:
    """``a Jira issue (OPS-12)``, or ``… (being opened)`` until the service has answered."""
    state = str(ref.get("key")) if linked(ref) else "being opened"
    return f"a {LABELS.get(service, service)} ({state})"


def lane(incident_id: int, service: str) -> str:
    """One lane per incident and service: a ticket's updates never overtake its create."""
    return f"inc:{incident_id}:{service}"
