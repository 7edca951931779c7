"""The ``/incident search`` reply as Slack mrkdwn: every piece of incident text escaped, the
matched words bold, each incident linked to its page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.domain.snapshot import snapshot_of
from integrations.slack.escape import escape_mrkdwn, link

SNIPPET_LIMIT = 300
_SPACE = re.compile(r"\s+")


def search_text(data: Mapping[str, Any]) -> str:
    """The reply's text (trusted: built only from escaped pieces and our own markup)."""
    query = escape_mrkdwn(str(data.get("query", "")), 200)
    results = [r for r in data.get("results") or [] if isinstance(r, Mapping)]
    if not results:
        return f"No incident you can see here matches _{query}_."
    lines = [f"*Search:* _{query}_"]
    for r in results:
        inc = snapshot_of(r.get("incident"))
        ref = str(inc.get("ref") or "")
        head = link(str(inc.get("url") or ""), ref) if inc.get("url") else escape_mrkdwn(ref)
        lines.append(
            f"*{head}* {escape_mrkdwn(str(inc.get('severity', '')), 50)} · "
            f"{escape_mrkdwn(str(inc.get('status', '')), 50)} · "
            f"{escape_mrkdwn(str(inc.get('title', '')), 300)}"
        )
        for s in r.get("snippets") or []:
            if isinstance(s, Mapping):
                lines.append(f">_{escape_mrkdwn(str(s.get('label', '')), 50)}:_ {_marked(s)}")
    if data.get("more"):
        more = link(str(data.get("url") or ""), "More results on the web")
        lines.append(more if data.get("url") else "_More results: refine the search._")
    return "\n".join(lines)


def _marked(snippet: Mapping[str, Any]) -> str:
    """Snippet parts escaped one by one; matched words bold."""
    out, used = [], 0
    for part in snippet.get("parts") or []:
        if not isinstance(part, list | tuple) or len(part) != 2:
            continue
        text = _SPACE.sub(" ", str(part[0]))
        if used + len(text) > SNIPPET_LIMIT:
            text = text[: max(SNIPPET_LIMIT - used, 0)] + "…"
        used += len(text)
        # Matched parts are whole words (letters and digits), so bold cannot be broken open.
        piece = escape_mrkdwn(text)
        out.append(f"*{piece}*" if part[1] and piece.strip() else piece)
        if used >= SNIPPET_LIMIT:
            break
    return "".join(out)
