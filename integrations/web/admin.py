"""Admin pages: API tokens (everyone's, or one person's own) and the audit log. Pure rendering."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from bot.audit import AuditEntry, Surface
from bot.identity.tokens import ApiToken, Scope
from integrations.web.layout import Viewer, csrf_field, esc, page, time_tag


@dataclass(frozen=True, slots=True)
class TokensView:
    """What a token page shows: ``base`` is /admin/tokens or /me/tokens."""

    base: str
    tokens: Sequence[ApiToken]
    scopes: Collection[Scope]
    personal_only: bool
    notice: str = ""
    error: str = ""
    # Display names of the owners (bot.people); an owner nobody can name shows their id.
    names: Mapping[str, str] = field(default_factory=dict)


def tokens_page(view: TokensView, viewer: Viewer, now: datetime) -> str:
    """The token list with a revoke button per live token, and the create form."""
    title = "Your API tokens" if view.personal_only else "API tokens"
    rows = "".join(_token_row(t, view.base, viewer.csrf, now, view.names) for t in view.tokens)
    table = (
        '<table id="tokens"><thead><tr><th scope="col">Name</th><th scope="col">Owner</th>'
        '<th scope="col">Scopes</th><th scope="col">Expires</th><th scope="col">Last used</th>'
        f'<th scope="col">State</th><th scope="col"></th></tr></thead><tbody>{rows}</tbody></table>'
        if view.tokens
        else '<p class="muted">No tokens yet.</p>'
    )
    notice = f'<div class="notice" role="status">{esc(view.notice)}</div>' if view.notice else ""
    error = f'<div class="error" role="alert">{esc(view.error)}</div>' if view.error else ""
    boxes = "".join(
        f'<label><input type="checkbox" name="scope" value="{esc(s.value)}"> '
        f"{esc(s.value)}</label> "
        for s in Scope
        if s in view.scopes
    )
    owner = (
        ""
        if view.personal_only
        else '<label for="owner">Owner (person or service id)</label>'
        '<input id="owner" name="owner" required maxlength="200">'
        '<label for="kind">Kind</label><select id="kind" name="kind">'
        '<option value="personal">personal</option><option value="service">service</option>'
        "</select>"
    )
    form = (
        f'<h2 id="new-token">New token</h2><form method="post" action="{esc(view.base)}" '
        f'class="card">{csrf_field(viewer.csrf)}{owner}'
        '<label for="name">Name</label><input id="name" name="name" required maxlength="100">'
        f"<fieldset><legend>Scopes</legend>{boxes}</fieldset>"
        '<label for="expires">Expires after (12h, 30d, 2w or never)</label>'
        '<input id="expires" name="expires" value="90d" maxlength="20">'
        '<button type="submit">Create token</button></form>'
    )
    body = f"<h1>{esc(title)}</h1>{notice}{error}{table}{form}"
    return page(title, body, viewer)


def owner_label(t: ApiToken, names: Mapping[str, str]) -> str:
    """Who a token belongs to: the name given at creation, else the directory's, else the id."""
    if t.owner_name and t.owner_name != t.owner:
        return t.owner_name
    return names.get(t.owner, t.owner)


def _token_row(t: ApiToken, base: str, csrf: str, now: datetime, names: Mapping[str, str]) -> str:
    state = t.state(now)
    revoke = (
        f'<form method="post" action="{esc(base)}/{t.id}/revoke">{csrf_field(csrf)}'
        f'<button type="submit" class="link">Revoke</button></form>'
        if state == "active"
        else ""
    )
    return (
        f'<tr id="token-{t.id}"><td>{esc(t.name)} <code>{esc(t.shown)}…</code></td>'
        f'<td><span title="{esc(t.owner)}">{esc(owner_label(t, names))}</span> '
        f"({esc(t.kind.value)})</td>"
        f"<td>{esc(', '.join(sorted(s.value for s in t.scopes)))}</td>"
        f"<td>{time_tag(t.expires_at) if t.expires_at else 'never'}</td>"
        f"<td>{time_tag(t.last_used_at)}</td><td>{esc(state)}</td><td>{revoke}</td></tr>"
    )


def created_page(token: ApiToken, secret: str, back: str, viewer: Viewer) -> str:
    """The one page that ever shows a token's secret."""
    body = (
        '<h1>Token created</h1><p class="lead">Copy the token '
        f"<strong>{esc(token.name)}</strong> "
        "now: sitrep stores only its hash and will not show it again.</p>"
        f'<p class="card"><code id="secret">{esc(secret)}</code></p>'
        f'<p><a href="{esc(back)}">Back to tokens</a></p>'
    )
    return page("Token created", body, viewer)


@dataclass(frozen=True, slots=True)
class AuditView:
    """One page of the audit log as the admin page shows it.

    ``params`` are the filters as typed (actor, incident, surface, since, until); ``older`` and
    ``newer`` the keyset bounds of the pages beside this one (None: no such page).
    """

    entries: Sequence[AuditEntry]
    order: str
    params: Mapping[str, str]
    older: int | None
    newer: int | None
    # Display names of the actors on this page (bot.people).
    names: Mapping[str, str] = field(default_factory=dict)


def audit_page(view: AuditView, viewer: Viewer) -> str:
    """Filters, one page of entries, page links, the verify button and export links."""
    p = view.params
    orders = "".join(
        f'<option value="{v}"{" selected" if v == view.order else ""}>{label}</option>'
        for v, label in (("desc", "Newest first"), ("asc", "Oldest first"))
    )
    surfaces = '<option value="">any</option>' + "".join(
        f'<option value="{s.value}"{" selected" if s.value == p.get("surface") else ""}>'
        f"{s.value}</option>"
        for s in Surface
    )

    def field(name: str, label: str, hint: str = "") -> str:
        placeholder = f' placeholder="{esc(hint)}"' if hint else ""
        return (
            f'<div><label for="f-{name}">{label}</label><input type="text" id="f-{name}" '
            f'name="{name}" value="{esc(p.get(name, ""))}"{placeholder}></div>'
        )

    filters = (
        '<form method="get" action="/admin/audit" class="card filters" role="search">'
        + field("actor", "Actor")
        + field("incident", "Incident", "INC-7")
        + '<div><label for="f-surface">Surface</label>'
        f'<select id="f-surface" name="surface">{surfaces}</select></div>'
        + field("since", "Since (UTC)", "2026-11-23")
        + field("until", "Until (UTC, inclusive day)", "2026-11-24T09:00")
        + f'<div><label for="f-order">Order</label><select id="f-order" name="order">{orders}'
        "</select></div>"
        '<div><button type="submit">Show</button></div></form>'
    )
    rows = "".join(_audit_row(e, view) for e in view.entries)
    table = (
        '<table id="audit" class="stack"><thead><tr><th scope="col">Seq</th>'
        '<th scope="col">At</th><th scope="col">Actor</th><th scope="col">Surface</th>'
        '<th scope="col">Action</th><th scope="col">Target</th><th scope="col">Detail</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if view.entries
        else '<p class="muted">No entries match.</p>'
    )
    keep = {**p, "order": view.order}
    newer = (
        f'<a href="/admin/audit?{esc(urlencode({**keep, "after": view.newer}))}" id="newer">'
        "Newer entries</a>"
        if view.newer is not None
        else ""
    )
    older = (
        f'<a href="/admin/audit?{esc(urlencode({**keep, "before": view.older}))}" id="older">'
        "Older entries</a>"
        if view.older is not None
        else ""
    )
    links = [newer, older] if view.order == "desc" else [older, newer]
    nav = " · ".join(x for x in links if x)
    nav_html = f'<nav aria-label="Audit pages"><p>{nav}</p></nav>' if nav else ""
    verify = (
        '<form method="get" action="/admin/audit/verify" class="inline">'
        '<button type="submit" class="secondary">Verify the whole chain</button></form>'
    )
    exports = (
        '<p>Download the whole log: <a href="/admin/audit.csv">CSV</a> · '
        '<a href="/admin/audit.json">JSON</a></p>'
    )
    body = f"<h1>Audit log</h1>{verify}{exports}{filters}{table}{nav_html}"
    return page("Audit log", body, viewer)


def verdict_page(entries: int, broken_at: int | None, viewer: Viewer) -> str:
    """What verifying the whole chain found."""
    if broken_at is None:
        verdict = (
            f'<div class="notice" role="status" id="verdict">Chain intact: all {entries} '
            "entries link up and hash to what they claim.</div>"
        )
    else:
        verdict = (
            f'<div class="error" role="alert" id="verdict">Chain broken at entry '
            f"#{broken_at}: that entry or one before it was changed, removed or "
            "reordered after it was written.</div>"
        )
    body = (
        f'<h1>Audit log verification</h1>{verdict}<p><a href="/admin/audit">Back to the audit '
        "log</a></p>"
    )
    return page("Audit log verification", body, viewer)


def _audit_row(e: AuditEntry, view: AuditView) -> str:
    parts = (("detail", e.detail), ("before", e.before), ("after", e.after))
    detail = {k: v for k, v in parts if v}
    text = json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else ""
    target = e.target or e.incident
    return (
        f'<tr id="seq-{e.seq}"><td data-label="Seq">{e.seq}</td>'
        f'<td data-label="At">{time_tag(e.at, seconds=True)}</td>'
        f'<td data-label="Actor">{_audit_actor(e.actor, view)}</td>'
        f'<td data-label="Surface">{esc(e.surface)}</td>'
        f'<td data-label="Action">{esc(e.action)}</td>'
        f'<td data-label="Target">{esc(target)}</td><td><code>{esc(text)}</code></td></tr>'
    )


def _audit_actor(actor: str, view: AuditView) -> str:
    """The actor's name, linking to their entries; the id (what the log stores) on hover."""
    keep = {"order": view.order, "incident": view.params.get("incident", ""), "actor": actor}
    return (
        f'<a href="/admin/audit?{esc(urlencode(keep))}" title="{esc(actor)}">'
        f"{esc(view.names.get(actor, actor))}</a>"
    )
