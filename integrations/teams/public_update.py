"""The Teams card previewing a public update: the text exactly as the status page will show
it (literal text runs, nothing read as markup), the mapping, and Confirm / Cancel.

Confirm is an ``Action.Execute`` carrying the previewed text, so what is published is what
was shown; Teams authenticates the invoke as it does every card action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.teams import cards

VERB_PUBLIC_CONFIRM = "sitrep.public_confirm"
VERB_PUBLIC_CANCEL = "sitrep.public_cancel"


def preview_card(data: Mapping[str, Any], text: str) -> cards.RenderedCard:
    """The reply of ``shows: public_preview``."""
    pub = data.get("preview") if isinstance(data.get("preview"), Mapping) else {}
    assert isinstance(pub, Mapping)
    body = str(pub.get("body", ""))
    components = ", ".join(str(c) for c in pub.get("components") or []) or "none configured"
    lines = [
        text,
        "",
        body,
        "",
        f"Status: {pub.get('status', '')} · Components: {components}"
        f" → {pub.get('component_status', '')}",
    ]
    if pub.get("creates"):
        lines.append(
            f"Creates the status page incident {pub.get('name', '')!s}"
            f" (impact {pub.get('impact', '')})."
        )
    number = data.get("number")
    rendered = cards.reply("\n".join(lines))
    rendered.card["actions"] = [
        {
            "type": "Action.Execute",
            "title": "Confirm and publish",
            "verb": VERB_PUBLIC_CONFIRM,
            "data": {"incident": number, "text": body},
        },
        {
            "type": "Action.Execute",
            "title": "Cancel",
            "verb": VERB_PUBLIC_CANCEL,
            "data": {"incident": number},
        },
    ]
    return rendered
