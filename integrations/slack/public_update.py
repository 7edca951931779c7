"""The ephemeral preview of a public update in Slack: the text exactly as the status page will
show it, its status and component status, and Confirm / Cancel buttons.

The Confirm button carries the previewed text itself (``{"n": "<ws>:<number>", "t": text}``),
so what is published is what was shown; Slack signs the press, and a text too long for a
button's value gets no Confirm here (the web page takes it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.ports import ChatMessage
from integrations.slack.escape import escape_mrkdwn, escape_plain

CONFIRM, CANCEL = "sitrep.public_confirm", "sitrep.public_cancel"
VALUE_LIMIT = 2000  # Slack's limit on a button's value
Block = dict[str, Any]


def confirm_value(incident: str, text: str) -> str:
    """The Confirm button's value."""
    return json.dumps({"n": incident, "t": text}, ensure_ascii=False, separators=(",", ":"))


def parse_value(value: object) -> tuple[str, str] | None:
    """``(incident, text)`` from a Confirm button's value, or None when it is not one."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    n, t = data.get("n"), data.get("t")
    return (n, t) if isinstance(n, str) and isinstance(t, str) else None


def preview_blocks(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    """Blocks of the preview reply (``shows: public_preview``)."""
    pub = data.get("preview") if isinstance(data.get("preview"), Mapping) else {}
    assert isinstance(pub, Mapping)
    body = str(pub.get("body", ""))
    components = ", ".join(str(c) for c in pub.get("components") or []) or "none configured"
    creates = (
        f"Creates the status page incident *{escape_mrkdwn(str(pub.get('name', '')), 300)}*"
        f" (impact {escape_mrkdwn(str(pub.get('impact', '')), 40)})."
        if pub.get("creates")
        else "Updates the incident already on the status page."
    )
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(message.text, 500)}},
        # Plain text: exactly the characters that will be published, no formatting applied.
        {"type": "section", "text": {"type": "plain_text", "text": escape_plain(body, 3000)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": escape_mrkdwn(
                        f"Status: {pub.get('status', '')} · Components: {components}"
                        f" → {pub.get('component_status', '')}",
                        1000,
                    )
                    + f" · {creates}",
                }
            ],
        },
    ]
    value = confirm_value(str(data.get("incident", "")), body)
    buttons: list[Block] = []
    if len(value) <= VALUE_LIMIT:
        buttons.append(_button("Confirm and publish", CONFIRM, value, "primary"))
    else:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Too long to confirm from Slack; publish it from the incident page.",
                },
            }
        )
    buttons.append(_button("Cancel", CANCEL, str(data.get("incident", "")), None))
    blocks.append({"type": "actions", "elements": buttons})
    return blocks


def _button(text: str, action_id: str, value: str, style: str | None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button
