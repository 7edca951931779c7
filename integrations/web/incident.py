"""The incident page: state at a glance, updates, action items, timeline and the forms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.domain.metrics import format_duration
from bot.domain.model import TRANSITIONS, ActionItem, Incident, Role, Status, TimelineEntry
from bot.domain.policy import Policy, UnknownSeverity
from bot.people import shown_name, shown_text
from bot.service import IncidentDetail
from integrations.export.safe_markdown import render_markdown_html
from integrations.web.layout import (
    Viewer,
    csrf_field,
    esc,
    multiline,
    options,
    page,
    relative,
    time_tag,
)
from integrations.web.pages import severity_badge, status_badge

# Fixed texts for the ?done= notice after a redirect: never echo the query string itself.
NOTICES: dict[str, str] = {
    "declared": "Incident declared.",
    "ack": "Incident acknowledged.",
    "status": "Status changed.",
    "update": "Stakeholder update posted.",
    "note": "Note added to the timeline.",
    "role": "Role assigned.",
    "severity": "Severity changed.",
    "action": "Action item added.",
    "item": "Action item updated.",
    "page": "Page queued: on-call is being paged.",
    "ticket": "Ticket requested: its link shows here once the service opened it.",
}


@dataclass(frozen=True, slots=True)
class FormError:
    """A refused form: which one (its key) and the core's message."""

    form: str
    message: str


@dataclass(frozen=True, slots=True)
class _Ctx:
    number: int
    csrf: str
    error: FormError | None
    values: Mapping[str, str]
    public_updates: bool = False

    def failed(self, key: str) -> bool:
        return self.error is not None and self.error.form == key

    def value(self, key: str, name: str) -> str:
        # Only the refused form gets its text back, so nothing typed is lost on an error.
        return self.values.get(name, "") if self.failed(key) else ""


def incident_page(
    detail: IncidentDetail,
    policy: Policy,
    viewer: Viewer,
    now: datetime,
    *,
    notice: str = "",
    error: FormError | None = None,
    values: Mapping[str, str] | None = None,
    public_updates: bool = False,
    cards: str = "",
) -> str:
    """``/incidents/{number}``; ``public_updates``: the update form offers the status page;
    ``cards``: more of the Act column, already rendered (integrations.web.outside)."""
    i = detail.incident
    ctx = _Ctx(i.number, viewer.csrf, error, values or {}, public_updates and not i.private)
    private = '<span class="private">Private</span>' if i.private else ""
    flash = ""
    if error is not None:
        flash = (
            f'<div class="error" role="alert">{esc(error.message)} '
            f'<a href="#form-{esc(error.form)}">Go to the form</a></div>'
        )
    elif notice in NOTICES:
        flash = f'<div class="notice" role="status">{esc(NOTICES[notice])}</div>'
    body = f"""<p class="no-print"><a href="/incidents">← All incidents</a></p>
<h1>{esc(i.ref)}: {esc(i.title)}</h1>
<div class="badges">{severity_badge(i.severity, policy)}{status_badge(i.status)}{private}</div>
<nav class="quick" aria-label="On this page"><a href="#form-update">Post update</a>
<a href="#form-status">Change status</a><a href="#action-items">Action items</a>
<a href="#timeline">Timeline</a><a href="#postmortem">Postmortem</a></nav>
{flash}{_facts(detail, policy, now)}
<div class="cols"><div>{_texts(i)}{_updates(detail)}{_action_items(detail, ctx)}
{_timeline(detail)}{_exports(i.number)}</div>
<aside aria-label="Actions">{_actions(i, policy, now, ctx)}{cards}</aside></div>"""
    return page(f"{i.ref}: {i.title}", body, viewer)


def _facts(detail: IncidentDetail, policy: Policy, now: datetime) -> str:
    i, m = detail.incident, detail.metrics
    try:
        described = policy.severity(i.severity).description
    except UnknownSeverity:
        described = ""
    due = "—"
    if i.next_update_due_at is not None and i.is_open:
        late = i.next_update_due_at < now
        due = (
            f'<span class="{"overdue" if late else ""}">{time_tag(i.next_update_due_at)} '
            f"({'overdue, due ' if late else ''}{relative(i.next_update_due_at, now)})</span>"
        )
    facts = [
        (
            "Severity",
            esc(i.severity) + (f'<span class="desc">{esc(described)}</span>' if described else ""),
        ),
        ("Status", esc(i.status.value)),
        ("Declared", time_tag(i.declared_at)),
        ("Declared by", esc(detail.name(i.declared_by))),
        *((r.label, _holder(detail.name(i.role_holder(r)))) for r in Role),
        ("Last stakeholder update", time_tag(i.last_update_at)),
        ("Next update due", due),
        ("Time to acknowledge", esc(format_duration(m.time_to_acknowledge))),
        ("Time to mitigate", esc(format_duration(m.time_to_mitigate))),
        ("Time to resolve", esc(format_duration(m.time_to_resolve))),
    ]
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{v}</dd></div>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def _holder(who: str | None) -> str:
    return esc(who) if who else '<span class="muted">unassigned</span>'


def _texts(i: Incident) -> str:
    out = f"<h2>Summary</h2>{multiline(i.summary)}" if i.summary else ""
    if i.impact:
        # A postmortem section: Markdown, rendered as the postmortem editor shows it.
        out += f'<h2>Impact</h2><div class="md">{render_markdown_html(i.impact)}</div>'
    return out or '<h2>Summary</h2><p class="muted">No summary yet.</p>'


def _updates(detail: IncidentDetail) -> str:
    if not detail.updates:
        return '<h2 id="updates">Stakeholder updates</h2><p class="muted">None posted yet.</p>'
    items = "".join(
        f"<li><div><strong>{esc(u.status.value)} · {esc(u.severity)}</strong> · "
        f"{esc(detail.name(u.author))} · {time_tag(u.at)}</div>{multiline(u.text)}</li>"
        for u in sorted(detail.updates, key=lambda u: (u.at, u.id), reverse=True)
    )
    return f'<h2 id="updates">Stakeholder updates</h2><ol class="updates" reversed>{items}</ol>'


def _action_items(detail: IncidentDetail, ctx: _Ctx) -> str:
    rows = "".join(_item(a, ctx, detail) for a in detail.action_items)
    listing = f'<ul class="items">{rows}</ul>' if rows else '<p class="muted">None yet.</p>'
    error = ""
    if ctx.failed("item") and ctx.error is not None:
        error = f'<p class="error" id="form-item">{esc(ctx.error.message)}</p>'
    add = _form(
        ctx,
        "action",
        f"/incidents/{ctx.number}/action-items",
        "Add action item",
        f"""<label for="a-text">What needs doing</label>
<input type="text" id="a-text" name="text" required maxlength="1000"
 value="{esc(ctx.value("action", "text"))}">
<label for="a-owner">Owner <span class="muted">(optional)</span></label>
<input type="text" id="a-owner" name="owner" maxlength="200"
 value="{esc(ctx.value("action", "owner"))}">
<label for="a-due">Due <span class="muted">(optional)</span></label>
<input type="date" id="a-due" name="due" value="{esc(ctx.value("action", "due"))}">""",
        "Add action item",
    )
    return f'<h2 id="action-items">Action items</h2>{error}{listing}{add}'


def _item(a: ActionItem, ctx: _Ctx, detail: IncidentDetail) -> str:
    meta = [f"#{a.id}"]
    if a.owner:
        meta.append(f"owner {esc(detail.name(a.owner))}")
    if a.due:
        meta.append(f"due {a.due:%Y-%m-%d}")
    if a.done_at:
        by = f" by {esc(detail.name(a.done_by))}" if a.done_by else ""
        meta.append(f"done {time_tag(a.done_at)}{by}")
    verb, done = ("Reopen", "0") if a.done else ("Mark done", "1")
    spoken = f"Reopen action item #{a.id}" if a.done else f"Mark action item #{a.id} done"
    return f"""<li class="{"done" if a.done else "open"}"><div class="text">
{"<s>" if a.done else ""}{esc(a.text)}{"</s>" if a.done else ""}
<div class="muted">{" · ".join(meta)}{" · completed" if a.done else ""}</div></div>
<form method="post" action="/incidents/{ctx.number}/action-items/{a.id}">{csrf_field(ctx.csrf)}
<input type="hidden" name="done" value="{done}">
<button type="submit" class="small secondary"
 aria-label="{spoken}">{verb}</button>
</form></li>"""


def _timeline(detail: IncidentDetail) -> str:
    entries = detail.timeline
    if not entries:
        return '<h2 id="timeline">Timeline</h2><p class="muted">Empty.</p>'
    rows = "".join(
        f'<tr><td class="when">{time_tag(e.at, seconds=True)}</td>'
        f"<td>{esc(e.kind.value.replace('_', ' '))}</td><td>{esc(shown_name(e, detail.names))}</td>"
        f'<td class="title">{_entry_text(e, shown_text(e, detail.names))}</td></tr>'
        for e in sorted(entries, key=lambda e: (e.at, e.id))
    )
    return f"""<h2 id="timeline">Timeline <span class="muted">(UTC)</span></h2>
<table aria-labelledby="timeline"><thead><tr><th scope="col">When</th><th scope="col">Event</th>
<th scope="col">Who</th><th scope="col">What</th></tr></thead><tbody>{rows}</tbody></table>"""


def _entry_text(e: TimelineEntry, shown: str) -> str:
    text = f'<span class="pre">{esc(shown)}</span>'
    link = e.data.get("link")
    # Only plain web links become anchors; anything else (javascript:, data:) stays text.
    if isinstance(link, str) and link.startswith(("https://", "http://")):
        text += f' <a href="{esc(link)}" rel="noopener noreferrer">(message)</a>'
    return text


def _exports(number: int) -> str:
    links = "".join(
        f'<a href="/incidents/{number}/postmortem.{ext}">{label}</a>'
        for ext, label in (("md", "Markdown"), ("html", "HTML"), ("json", "JSON"))
    )
    return (
        '<div class="no-print"><h2 id="postmortem">Postmortem</h2>'
        f'<p><a href="/incidents/{number}/postmortem">Open the postmortem editor</a>: '
        "sections, timeline picture, action items and review.</p>"
        f'<p class="exports">Export: {links}</p></div>'
    )


def _actions(i: Incident, policy: Policy, now: datetime, ctx: _Ctx) -> str:
    base = f"/incidents/{i.number}"
    out = '<h2 class="no-print">Act</h2>'
    if i.acknowledged_at is None and i.is_open:
        out += _form(ctx, "ack", f"{base}/acknowledge", "Acknowledge", "", "Acknowledge")
    due = ""
    if i.next_update_due_at is not None and i.is_open:
        due = f" Next one due {relative(i.next_update_due_at, now)}."
    out += _form(
        ctx,
        "update",
        f"{base}/updates",
        "Post stakeholder update",
        f"""<label for="u-text">Update</label>
<p class="hint" id="u-hint">Sent to stakeholders and the incident room.{esc(due)}</p>
<textarea id="u-text" name="text" required maxlength="4000" aria-describedby="u-hint">{
            esc(ctx.value("update", "text"))
        }</textarea>{_public_box(ctx)}""",
        "Post update",
    )
    out += _status_form(i, ctx)
    out += _form(
        ctx,
        "note",
        f"{base}/notes",
        "Add note",
        f"""<label for="n-text">Note</label>
<p class="hint" id="n-hint">Goes on the timeline only.</p>
<textarea id="n-text" name="text" required maxlength="4000" aria-describedby="n-hint">{
            esc(ctx.value("note", "text"))
        }</textarea>""",
        "Add note",
    )
    roles = options(((r.value, r.label) for r in Role), ctx.value("role", "role"))
    out += _form(
        ctx,
        "role",
        f"{base}/roles",
        "Assign role",
        f"""<label for="r-role">Role</label><select id="r-role" name="role">{roles}</select>
<label for="r-user">Who</label>
<input type="text" id="r-user" name="user" required maxlength="200"
 value="{esc(ctx.value("role", "user"))}">""",
        "Assign role",
    )
    others = [(s.name, s.name) for s in policy.severities if s.name != i.severity]
    if others:
        out += _form(
            ctx,
            "severity",
            f"{base}/severity",
            "Change severity",
            f"""<label for="s-severity">New severity</label>
<select id="s-severity" name="severity">{options(others, ctx.value("severity", "severity"))}
</select>""",
            "Change severity",
        )
    return out


def _public_box(ctx: _Ctx) -> str:
    if not ctx.public_updates:
        return ""
    checked = " checked" if ctx.value("update", "public") else ""
    return f"""<label class="inline"><input type="checkbox" id="u-public" name="public" value="1"{
        checked
    }> Also publish to the public status page (you confirm the preview first)</label>"""


def _status_form(i: Incident, ctx: _Ctx) -> str:
    allowed = [s for s in Status if s in TRANSITIONS[i.status]]
    picked = ctx.value("status", "status")
    radios = "".join(
        f'<label class="inline"><input type="radio" name="status" value="{s.value}"'
        f"{' checked' if s.value == picked else ''}{' required' if n == 0 else ''}> "
        f"{esc(s.value)}{' (reopen)' if not i.is_open and s.is_open else ''}</label>"
        for n, s in enumerate(allowed)
    )
    return _form(
        ctx,
        "status",
        f"/incidents/{i.number}/status",
        "Change status",
        f"""<fieldset><legend>Now <span class="status st-{i.status.value}">{i.status.value}</span>;
move to</legend>{radios}</fieldset>
<label for="st-text">What changed <span class="muted">(optional)</span></label>
<textarea id="st-text" name="text" maxlength="4000">{
            esc(ctx.value("status", "text"))
        }</textarea>""",
        "Change status",
    )


def _form(ctx: _Ctx, key: str, action: str, heading: str, fields: str, button: str) -> str:
    error = ""
    if ctx.failed(key) and ctx.error is not None:
        error = f'<p class="error" id="{key}-error">{esc(ctx.error.message)}</p>'
    cls = "card has-error" if error else "card"
    described = f' aria-describedby="{key}-error"' if error else ""
    return f"""<form method="post" action="{esc(action)}" id="form-{key}" class="{cls}"{described}>
{csrf_field(ctx.csrf)}<h3>{esc(heading)}</h3>{error}{fields}
<button type="submit">{esc(button)}</button></form>"""
