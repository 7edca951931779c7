"""Where a published page's id is kept: the ``chat_ref`` table, under the service's name.

``inc:<id>:postmortem_page`` holds ``{"state": "planned"}`` from the first request until the
service answered, then ``{"id", "url", "version"}``; a re-publish updates that page.
"""

from __future__ import annotations

from typing import Any, Final

CONFLUENCE: Final = "confluence"
NOTION: Final = "notion"
TARGETS: Final = (CONFLUENCE, NOTION)
LABELS: Final = {CONFLUENCE: "Confluence page", NOTION: "Notion page"}
NAMES: Final = {CONFLUENCE: "Confluence", NOTION: "Notion"}

# The outbox action of the publishing ports.
PUBLISH: Final = "publish"


def page_key(incident_id: int) -> str:
    """The chat-ref key of an incident's published postmortem page."""
    return f"inc:{incident_id}:postmortem_page"


def published(ref: dict[str, Any] | None) -> bool:
    """Whether a stored ref names a created page (not only a planned one)."""
    return bool(ref and ref.get("id"))


def lane(incident_id: int, service: str) -> str:
    """One lane per incident and service: a re-publish never overtakes the page's create."""
    return f"inc:{incident_id}:{service}"


def page_title(ref: str, title: str) -> str:
    """``INC-42: Checkout errors — postmortem``: stable, so a re-publish finds the same page."""
    return f"{ref}: {' '.join(title.split())} — postmortem"[:255]
