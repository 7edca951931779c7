"""Reading a Teams activity: the command typed, the channel, tenant and card verb."""

from __future__ import annotations

import html
import re

from microsoft_agents.activity import Activity

REF = re.compile(r"^\s*(INC-?\d+|#\d+)\b[\s:]*", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def command_text(activity: Activity) -> str:
    """The command someone typed, with mentions of people turned into their Teams ids.

    The SDK has already removed the mention of the bot itself; other people become ``@<id>``.
    Teams sends message text as light HTML (``<at>``, ``<p>``, ``&nbsp;``), so tags are
    dropped and entities decoded.
    """
    text = activity.text or ""
    me = activity.recipient.id if activity.recipient else None
    for mention in activity.get_mentions():
        who = mention.mentioned
        if who is None or not who.id or who.id == me or not mention.text:
            continue
        # "@<id>" is how the grammar recognises a person (commander @…, action … @owner).
        text = text.replace(mention.text, f" @{who.id} ")
    text = _TAG.sub(" ", text)
    text = html.unescape(text).replace("\xa0", " ")
    return " ".join(text.split())


def channel_id(activity: Activity) -> str | None:
    """The Teams channel a channel message came from (None in chats)."""
    data = activity.channel_data
    if isinstance(data, dict):
        channel = data.get("channel") or {}
        return str(channel.get("id")) if isinstance(channel, dict) and channel.get("id") else None
    channel = getattr(data, "channel", None)
    if isinstance(channel, dict):
        return str(channel.get("id")) if channel.get("id") else None
    return getattr(channel, "id", None) if channel is not None else None


def tenant(activity: Activity) -> str | None:
    """The tenant id from the channel data, when the conversation does not say."""
    data = activity.channel_data
    tenant = data.get("tenant") if isinstance(data, dict) else getattr(data, "tenant", None)
    if isinstance(tenant, dict):
        return str(tenant.get("id")) if tenant.get("id") else None
    return getattr(tenant, "id", None) if tenant is not None else None


def verb(activity: Activity) -> str:
    """The ``Action.Execute`` verb of a card invoke ("" when none)."""
    value = activity.value if isinstance(activity.value, dict) else {}
    action = value.get("action") or {}
    return str(action.get("verb") or "") if isinstance(action, dict) else ""
