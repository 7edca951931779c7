"""The preview page of a public update: exactly what the status page will show, and the
confirm form (with its CSRF token) that publishes it. Nothing is sent before the confirm."""

from __future__ import annotations

from bot.statuspage.rules import Publication
from integrations.web.layout import Viewer, csrf_field, esc, page


def public_preview_page(number: int, pub: Publication, viewer: Viewer) -> str:
    """``POST /incidents/{number}/updates`` with ``public`` ticked."""
    ref = f"INC-{number}"
    components = ", ".join(pub.components) or "none configured"
    creates = (
        f"<p>This creates the status page incident <strong>{esc(pub.name)}</strong>"
        f" (impact {esc(pub.impact)}).</p>"
        if pub.creates
        else "<p>This updates the incident already on the status page.</p>"
    )
    body = f"""<h1>Publish to the status page? ({esc(ref)})</h1>
<p class="lead">Nothing has been published yet. Check the text; it goes out exactly as shown.</p>
{creates}
<dl class="card" id="public-preview">
<dt>Status</dt><dd id="pp-status">{esc(pub.status)}</dd>
<dt>Components</dt><dd id="pp-components">{esc(components)} → {esc(pub.component_status)}</dd>
<dt>Text</dt><dd><pre id="pp-body">{esc(pub.body)}</pre></dd>
</dl>
<form method="post" action="/incidents/{number}/updates/public" id="form-public" class="card">
{csrf_field(viewer.csrf)}<input type="hidden" name="text" value="{esc(pub.body)}">
<button type="submit">Confirm and publish</button>
<a href="/incidents/{number}">Cancel</a></form>"""
    return page(f"Publish {ref} update", body, viewer)
