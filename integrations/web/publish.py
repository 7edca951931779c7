"""The postmortem page's "Publish" card: a button per configured target and the page links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.publish.refs import NAMES
from integrations.export.document import safe_url
from integrations.web.layout import csrf_field, esc


def publish_card(
    number: int,
    targets: Sequence[str],
    pages: Mapping[str, dict[str, Any] | None],
    csrf: str,
    can_publish: bool,
) -> str:
    """Nothing when no target is configured; otherwise where it is and a button per target."""
    if not targets:
        return ""
    lines = []
    for target in targets:
        name = esc(NAMES.get(target, target))
        ref = pages.get(target) or {}
        url = safe_url(ref.get("url"))
        if ref.get("id") and url:
            state = (
                f'Published to <a href="{esc(url)}" rel="noopener noreferrer">{name}</a>'
                f" (version {int(ref.get('version') or 1)})."
            )
        elif ref:
            state = f"Being published to {name}."
        else:
            state = f"Not published to {name} yet."
        button = ""
        if can_publish:
            verb = "Republish to" if ref else "Publish to"
            button = (
                f'<form method="post" action="/incidents/{number}/postmortem/publish"'
                ' class="inline">'
                f'{csrf_field(csrf)}<input type="hidden" name="target" value="{esc(target)}">'
                f'<button type="submit">{verb} {name}</button></form>'
            )
        lines.append(f'<li data-target="{esc(target)}">{state} {button}</li>')
    return (
        '<section id="publish" class="card no-print"><h2>Publish</h2>'
        f"<ul>{''.join(lines)}</ul></section>"
    )
