"""Making untrusted text safe for Slack, and producing the few pings sitrep means to send.

Slack parses ``<...>`` in mrkdwn (and in a message's top-level ``text``) as control sequences:
``<!channel>``, ``<!here>``, ``<!subteam^S1>``, ``<@U1>``, ``<http://x|label>``. Escaping ``&``,
``<`` and ``>`` turns all of them into visible text. Plain ``@here`` is only special when a
message is sent with ``link_names``; a word joiner after the ``@`` keeps it from ever pinging.

Sitrep's own mentions, links and dates are built by ``mention``/``link`` from validated
values, so only ids and URLs we checked become markup.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
# U+2060 WORD JOINER: invisible, not whitespace, and breaks Slack's @-keyword matching.
WORD_JOINER = "\u2060"

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_SUBTEAM = re.compile(r"^<!subteam\^(S[A-Z0-9]{2,})(?:\|[^>]*)?>$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

# An @ (or the full-width U+FF20) followed by a word. Broadcast keywords are neutralized wherever
# they appear; other @-words only where they start a word, so e-mail addresses stay intact.
# Not only channel/here/everyone: with link_names, @handle and @user-group would ping too.
_AT_WORD = re.compile("[@\uff20](?=\\w)")
_BROADCAST = re.compile(r"(?:channel|here|everyone)", re.IGNORECASE)
_ENTITY_TAIL = re.compile(r"&[a-z#0-9]{0,6}$")
_URL = re.compile(r"^https?://[^\s<>]+$", re.IGNORECASE)


def neutralize_mentions(text: str) -> str:
    """Put a word joiner after every word-starting ``@`` so no @-keyword can ping."""

    def fix(m: re.Match[str]) -> str:
        start = m.start()
        word_start = start == 0 or (not text[start - 1].isalnum() and text[start - 1] != "_")
        if word_start or _BROADCAST.match(text, m.end()):
            return m.group(0) + WORD_JOINER
        return m.group(0)

    return _AT_WORD.sub(fix, text)


def escape_mrkdwn(text: str, limit: int | None = None) -> str:
    """Escape ``& < >`` and neutralize @-words; optionally cut to ``limit`` characters."""
    out = neutralize_mentions(
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )
    return out if limit is None else truncate_escaped(out, limit)


def escape_plain(text: str, limit: int | None = None) -> str:
    """Text for ``plain_text`` objects: @-words and ``<`` defused, no entities."""
    # plain_text shows entities literally, so none are used; the joiner after "<" keeps
    # "<!channel>" inert even if this text is ever reused as mrkdwn.
    out = neutralize_mentions(str(text)).replace("<", "<" + WORD_JOINER)
    return out if limit is None else truncate(out, limit)


def unescape_slack(text: str) -> str:
    """Undo Slack's own ``&amp; &lt; &gt;`` escaping of what a person typed."""
    # Slash-command text (should_escape) and message events arrive escaped; stored text must
    # be what was typed, or the renderer's escaping would show "&amp;amp;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, ending with ``…`` when it was cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit == 1:
        return ELLIPSIS
    return text[: limit - 1].rstrip() + ELLIPSIS


def truncate_escaped(text: str, limit: int) -> str:
    """Like ``truncate`` but never leaves half an ``&amp;`` entity behind."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    head = text[: limit - 1]
    head = _ENTITY_TAIL.sub("", head)
    return head.rstrip() + ELLIPSIS


def mention(user_id: str | None) -> str:
    """``<@U123>`` for a real Slack user id; anything else comes back as escaped text."""
    if not user_id:
        return ""
    if USER_ID.match(user_id):
        return f"<@{user_id}>"
    return escape_mrkdwn(user_id)


def group_mention(group: str | None) -> str:
    """A ping for a configured escalation target: a user group id, a user id, or plain text."""
    if not group:
        return ""
    value = group.strip()
    quoted = _SUBTEAM.match(value)  # config may hold Slack's own <!subteam^S1|@team> form
    if quoted:
        value = quoted.group(1)
    if USERGROUP_ID.match(value):
        return f"<!subteam^{value}>"
    return mention(value)


def channel_link(channel_id: str | None) -> str:
    """``<#C123>`` for a channel id, else an empty string."""
    if channel_id and CHANNEL_ID.match(channel_id):
        return f"<#{channel_id}>"
    return ""


def link(url: str | None, label: str) -> str:
    """A mrkdwn link for an http(s) URL; otherwise just the escaped label."""
    safe_label = escape_mrkdwn(label) or "link"
    if not url or not _URL.match(url.strip()):
        return safe_label
    # & must be escaped inside the URL too; | would end the URL early.
    href = url.strip().replace("&", "&amp;").replace("|", "%7C")
    return f"<{href}|{safe_label}>"
