"""The signed-in person's page (/me, with "Your sessions") and the admin's session list.

Pure rendering: handlers.web_sessions reads the sessions and passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.identity.sessions import WebSession
from bot.security.access import Access
from integrations.web.layout import Viewer, csrf_field, esc, page, time_tag


@dataclass(frozen=True, slots=True)
class MeView:
    """Who is signed in, and their live sessions (``current`` is this browser's)."""

    actor_id: str
    name: str
    role: Access
    sessions: Sequence[WebSession]
    current: int
    notice: str = ""


def _agent(s: WebSession) -> str:
    return esc(s.user_agent) if s.user_agent else '<span class="muted">unknown browser</span>'


def me_page(view: MeView, viewer: Viewer) -> str:
    """The person's account: name, role, tokens link, and every browser signed in as them."""
    notice = f'<div class="notice" role="status">{esc(view.notice)}</div>' if view.notice else ""
    rows = "".join(_my_row(s, s.id == view.current, viewer.csrf) for s in view.sessions)
    others = [s for s in view.sessions if s.id != view.current]
    sign_out_others = (
        f'<form method="post" action="/me/sessions/revoke-others">{csrf_field(viewer.csrf)}'
        f'<button type="submit" class="secondary">Sign out all other sessions '
        f"({len(others)})</button></form>"
        if others
        else '<p class="muted">This is your only session.</p>'
    )
    admin = (
        '<p><a href="/admin/sessions">Everyone\'s sessions</a> (admin)</p>'
        if view.role >= Access.ADMIN
        else ""
    )
    body = (
        f"<h1>{esc(view.name or view.actor_id)}</h1>{notice}"
        f'<dl class="facts"><div><dt>Signed in as</dt><dd><code>{esc(view.actor_id)}</code>'
        f"</dd></div><div><dt>Role</dt><dd>{esc(view.role.label)}</dd></div></dl>"
        '<p><a href="/me/tokens">Your API tokens</a></p>'
        '<h2 id="sessions">Your sessions</h2>'
        '<p class="hint">Every browser signed in as you. Sign out one you do not recognise; '
        "it stops working at its next request.</p>"
        '<table id="session-list" class="stack"><thead><tr><th scope="col">Browser</th>'
        '<th scope="col">Signed in</th><th scope="col">Last seen</th>'
        '<th scope="col">Expires</th><th scope="col"></th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{sign_out_others}{admin}"
    )
    return page("Your account", body, viewer)


def _my_row(s: WebSession, current: bool, csrf: str) -> str:
    action = (
        "<strong>This browser</strong>"
        if current
        else f'<form method="post" action="/me/sessions/{s.id}/revoke">{csrf_field(csrf)}'
        f'<button type="submit" class="link" aria-label="Sign out session {s.id}">Sign out'
        "</button></form>"
    )
    return (
        f'<tr id="session-{s.id}"><td>{_agent(s)}</td>'
        f'<td data-label="Signed in">{time_tag(s.created_at)}</td>'
        f'<td data-label="Last seen">{time_tag(s.last_seen_at)}</td>'
        f'<td data-label="Expires">{time_tag(s.expires_at)}</td>'
        f"<td>{action}</td></tr>"
    )


@dataclass(frozen=True, slots=True)
class AdminSessionsView:
    """Every live session of the workspace."""

    sessions: Sequence[WebSession]
    notice: str = ""
    error: str = ""


def admin_sessions_page(view: AdminSessionsView, viewer: Viewer) -> str:
    """Live sessions grouped by person, each person with sign-out-everywhere and demote."""
    notice = f'<div class="notice" role="status">{esc(view.notice)}</div>' if view.notice else ""
    error = f'<div class="error" role="alert">{esc(view.error)}</div>' if view.error else ""
    people: dict[str, list[WebSession]] = {}
    for s in view.sessions:
        people.setdefault(s.person, []).append(s)
    blocks = "".join(
        _person_block(p, ss, viewer.csrf, i) for i, (p, ss) in enumerate(people.items())
    )
    if not blocks:
        blocks = '<p class="muted">Nobody is signed in.</p>'
    body = (
        f"<h1>Sessions</h1>{notice}{error}"
        '<p class="hint">Signing a person out ends every session they have at its next '
        "request; lowering a role applies at once. Both are written to the audit log.</p>"
        f"{blocks}"
    )
    return page("Sessions", body, viewer)


def _person_block(person: str, sessions: Sequence[WebSession], csrf: str, i: int) -> str:
    top = max(s.role for s in sessions)
    name = sessions[0].name or person
    rows = "".join(
        f'<tr><td>{_agent(s)}</td><td data-label="Role">{esc(s.role.label)}</td>'
        f'<td data-label="Signed in">{time_tag(s.created_at)}</td>'
        f'<td data-label="Last seen">{time_tag(s.last_seen_at)}</td></tr>'
        for s in sessions
    )
    lower = [a for a in Access if a < top]
    demote = ""
    if lower:
        choices = "".join(
            f'<option value="{esc(a.label)}">{esc(a.label)}</option>' for a in reversed(lower)
        )
        demote = (
            f'<form method="post" action="/admin/sessions/demote">{csrf_field(csrf)}'
            f'<input type="hidden" name="person" value="{esc(person)}">'
            f'<label for="role-{i}">Lower to</label>'
            f'<select id="role-{i}" name="role">{choices}</select>'
            '<button type="submit" class="secondary">Lower role</button></form>'
        )
    return (
        f'<section class="card" aria-labelledby="person-{i}"><h2 id="person-{i}">{esc(name)}</h2>'
        f"<p><code>{esc(person)}</code></p>"
        '<table class="stack"><thead><tr><th scope="col">Browser</th><th scope="col">Role</th>'
        '<th scope="col">Signed in</th><th scope="col">Last seen</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        f'<form method="post" action="/admin/sessions/revoke">{csrf_field(csrf)}'
        f'<input type="hidden" name="person" value="{esc(person)}">'
        f'<button type="submit">Sign out everywhere ({len(sessions)})</button></form>'
        f"{demote}</section>"
    )
