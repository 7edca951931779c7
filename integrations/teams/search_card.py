"""The ``search`` reply as an Adaptive Card: text runs only (never markdown), the matched
words highlighted, each incident a link to its page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.snapshot import snapshot_of
from integrations.teams.cards import RenderedCard, _card, _rich, _run, plain

_HTTP = ("https://", "http://")


def search_card(data: Mapping[str, Any], text: str) -> RenderedCard:
    """The results card; ``text`` is the reply's plain summary."""
    query = str(data.get("query", ""))
    results = [r for r in data.get("results") or [] if isinstance(r, Mapping)]
    body: list[dict[str, Any]] = [_rich(_run("Search: ", weight="Bolder"), _run(query))]
    if not results:
        body.append(_rich(_run(f"No incident you can see here matches {query}.")))
    for r in results:
        inc = snapshot_of(r.get("incident"))
        ref = _run(str(inc.get("ref") or ""), weight="Bolder")
        url = str(inc.get("url") or "")
        if url.startswith(_HTTP):
            ref["selectAction"] = {"type": "Action.OpenUrl", "url": url}
        line = f" {inc.get('severity', '')} · {inc.get('status', '')} · {inc.get('title', '')}"
        body.append(_rich(ref, _run(line), separator=True, spacing="Medium"))
        for s in r.get("snippets") or []:
            if not isinstance(s, Mapping):
                continue
            runs = [_run(f"{s.get('label', '')}: ", isSubtle=True, italic=True)]
            for part in s.get("parts") or []:
                if isinstance(part, list | tuple) and len(part) == 2:
                    style = {"highlight": True, "weight": "Bolder"} if part[1] else {}
                    runs.append(_run(str(part[0]), **style))
            body.append(_rich(*runs, spacing="Small"))
    page = str(data.get("url") or "")
    actions = (
        [{"type": "Action.OpenUrl", "title": "More results", "url": page}]
        if data.get("more") and page.startswith(_HTTP)
        else []
    )
    return RenderedCard(plain(text, 200), _card(body, actions, (), text))
