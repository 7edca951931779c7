"""The postmortem editor page: sections in Markdown with a preview, the timeline picture,
action items and the review.

Every section is a plain form inside a ``<details>`` (keyboard and no-script friendly): Save
posts the text with the version it was based on; Preview posts it back and the page shows it
rendered (the script does the same in place). A save based on an outdated version comes back
as a conflict showing the current text beside the draft, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import POSTMORTEM_SECTIONS, ActionItem, Incident, text_version
from bot.domain.policy import Policy
from bot.service import IncidentDetail
from integrations.export.document import SECTION_PROMPTS
from integrations.export.safe_markdown import render_markdown_html
from integrations.export.timeline_svg import picture_of, timeline_svg
from integrations.web.layout import Viewer, csrf_field, esc, page, time_tag
from integrations.web.pages import severity_badge, status_badge

HEADINGS: dict[str, tuple[str, str]] = {key: (h, prompt) for key, h, prompt in SECTION_PROMPTS}
NOTICES: dict[str, str] = {
    "saved": "Section saved.",
    "unchanged": "Nothing changed: the section already had that text.",
    "reviewed": "Postmortem marked reviewed.",
    "action": "Action item added.",
    "item": "Action item updated.",
    "publishing": "Publishing queued: the link shows here once the page is up.",
}


@dataclass(frozen=True, slots=True)
class Draft:
    """A section's form coming back: the text typed, the version it is based on, and why
    (a preview, a refusal, or a conflict with ``current`` being the other person's text)."""

    section: str
    text: str
    base: str
    preview: bool = False
    error: str = ""
    current: str | None = None


@dataclass(frozen=True, slots=True)
class PostmortemView:
    """Everything the page shows besides the incident itself."""

    can_edit: bool
    notice: str = ""
    draft: Draft | None = None
    # A refused action-item form: its message and what was typed.
    item_error: str = ""
    item_values: Mapping[str, str] | None = None
    # The Publish card (integrations.web.publish), already rendered; empty when not configured.
    publish: str = ""


def postmortem_page(
    detail: IncidentDetail, policy: Policy, viewer: Viewer, now: datetime, view: PostmortemView
) -> str:
    """``/incidents/{number}/postmortem``."""
    i = detail.incident
    base = f"/incidents/{i.number}"
    flash = ""
    draft = view.draft
    if draft is not None and draft.error:
        flash = (
            f'<div class="error" role="alert">{esc(draft.error)} '
            f'<a href="#s-{esc(draft.section)}">Go to the section</a></div>'
        )
    elif view.item_error:
        flash = f'<div class="error" role="alert">{esc(view.item_error)}</div>'
    elif view.notice in NOTICES:
        flash = f'<div class="notice" role="status">{esc(NOTICES[view.notice])}</div>'
    private = '<span class="private">Private</span>' if i.private else ""
    picture = timeline_svg(picture_of(i, detail.timeline, now, metrics=detail.metrics))
    sections = "".join(
        _section(
            i, key, viewer.csrf, view.can_edit, draft if draft and draft.section == key else None
        )
        for key in POSTMORTEM_SECTIONS
    )
    exports = " ".join(
        f'<a href="{base}/postmortem.{ext}">{label}</a>'
        for ext, label in (("md", "Markdown"), ("html", "HTML"), ("json", "JSON"))
    )
    body = f"""<p class="no-print"><a href="{base}">← {esc(i.ref)}</a></p>
<h1>Postmortem: {esc(i.ref)}: {esc(i.title)}</h1>
<div class="badges">{severity_badge(i.severity, policy)}{status_badge(i.status)}{private}</div>
<nav class="quick" aria-label="On this page"><a href="#picture">Timeline picture</a>
<a href="#sections">Sections</a><a href="#pm-items">Action items</a><a href="#review">Review</a>
</nav>{flash}
<p class="exports no-print">Export: {exports}</p>
<figure id="picture" class="picture"><figcaption><h2>Timeline at a glance</h2></figcaption>
<div class="scroll-x" tabindex="0" role="region" aria-label="Timeline picture (scrolls sideways
 on narrow screens)">{picture}</div></figure>
<div id="sections">{sections}</div>
{_action_items(detail, viewer.csrf, view)}
{_review(detail, viewer.csrf, view.can_edit)}{view.publish}"""
    return page(f"Postmortem {i.ref}: {i.title}", body, viewer)


def _rendered(text: str, prompt: str) -> str:
    if text.strip():
        return f'<div class="md">{render_markdown_html(text)}</div>'
    return f'<p class="muted prompt">{esc(prompt)}</p>'


def _section(i: Incident, key: str, csrf: str, can_edit: bool, draft: Draft | None) -> str:
    heading, prompt = HEADINGS[key]
    current = str(getattr(i, key))
    shown = _rendered(current, prompt)
    if not can_edit:
        return f'<section id="s-{key}" class="card pm"><h2>{esc(heading)}</h2>{shown}</section>'
    text = draft.text if draft is not None else current
    version = draft.base if draft is not None else text_version(current)
    is_open = " open" if draft is not None else ""
    extra = ""
    described = ""
    if draft is not None and draft.current is not None:
        extra = f"""<div class="conflict" id="c-{key}"><h3>Their version (saved, current)</h3>
{_rendered(draft.current, "They emptied this section.")}
<label for="theirs-{key}">Their text, to copy from</label>
<textarea id="theirs-{key}" readonly rows="6">{esc(draft.current)}</textarea>
<p class="hint">Your text is still in the editor below; it was not saved. Merge the two and
save again: the save is now based on their version.</p></div>"""
        described = f' aria-describedby="c-{key}"'
    elif draft is not None and draft.error:
        extra = f'<p class="error" id="e-{key}">{esc(draft.error)}</p>'
        described = f' aria-describedby="e-{key}"'
    preview_html = ""
    if draft is not None and draft.preview:
        preview_html = _rendered(draft.text, "Nothing to preview: the text is empty.")
    hidden = "" if preview_html else " hidden"
    action = f"/incidents/{i.number}/postmortem/{key}"
    return f"""<section id="s-{key}" class="card pm"><h2>{esc(heading)}</h2>
<div class="pm-current" id="v-{key}">{shown}</div>
<details class="pm-edit"{is_open}><summary>Edit {esc(heading.lower())}</summary>{extra}
<form method="post" action="{action}" data-preview="p-{key}"
 data-preview-url="/incidents/{i.number}/postmortem/preview"{described}>
{csrf_field(csrf)}<input type="hidden" name="base" value="{esc(version)}">
<label for="t-{key}">{esc(heading)} <span class="muted">(Markdown)</span></label>
<p class="hint" id="h-{key}">Markdown: **bold**, _italic_, lists with -, links as
[text](https://…). HTML is shown as text.</p>
<textarea id="t-{key}" name="text" rows="8" maxlength="20000"
 aria-describedby="h-{key}">{esc(text)}</textarea>
<div class="pm-buttons"><button type="submit" name="action" value="save">Save {
        esc(heading.lower())
    }</button>
<button type="submit" name="action" value="preview" class="secondary">Preview</button></div>
</form>
<div class="pm-preview" id="p-{key}" aria-live="polite"{hidden}><h3>Preview</h3>{
        preview_html
    }</div></details></section>"""


def _action_items(detail: IncidentDetail, csrf: str, view: PostmortemView) -> str:
    number = detail.incident.number
    rows = "".join(_item(number, a, csrf, view.can_edit, detail) for a in detail.action_items)
    listing = f'<ul class="items">{rows}</ul>' if rows else '<p class="muted">None yet.</p>'
    add = ""
    if view.can_edit:
        v = view.item_values or {}
        add = f"""<form method="post" action="/incidents/{number}/postmortem/action-items"
 class="card" id="pm-add-item">{csrf_field(csrf)}<h3>Add action item</h3>
<label for="pa-text">What needs doing</label>
<input type="text" id="pa-text" name="text" required maxlength="1000"
 value="{esc(v.get("text", ""))}">
<label for="pa-owner">Owner <span class="muted">(optional)</span></label>
<input type="text" id="pa-owner" name="owner" maxlength="200" value="{esc(v.get("owner", ""))}">
<label for="pa-due">Due <span class="muted">(optional)</span></label>
<input type="date" id="pa-due" name="due" value="{esc(v.get("due", ""))}">
<button type="submit">Add action item</button></form>"""
    return f'<h2 id="pm-items">Action items</h2>{listing}{add}'


def _item(number: int, a: ActionItem, csrf: str, can_edit: bool, detail: IncidentDetail) -> str:
    meta = [f"#{a.id}"]
    meta.append(f"owner {esc(a.owner)}" if a.owner else "no owner")
    if a.due:
        meta.append(f"due {a.due:%Y-%m-%d}")
    if a.done_at:
        by = f" by {esc(detail.name(a.done_by))}" if a.done_by else ""
        meta.append(f"done {time_tag(a.done_at)}{by}")
    button = ""
    if can_edit:
        verb, done = ("Reopen", "0") if a.done else ("Mark done", "1")
        spoken = f"Reopen action item #{a.id}" if a.done else f"Mark action item #{a.id} done"
        action = f"/incidents/{number}/postmortem/action-items/{a.id}"
        button = f"""<form method="post" action="{action}">
{csrf_field(csrf)}<input type="hidden" name="done" value="{done}">
<button type="submit" class="small secondary" aria-label="{spoken}">{verb}</button></form>"""
    text = f"<s>{esc(a.text)}</s>" if a.done else esc(a.text)
    return f"""<li class="{"done" if a.done else "open"}"><div class="text">{text}
<div class="muted">{" · ".join(meta)}</div></div>{button}</li>"""


def _review(detail: IncidentDetail, csrf: str, can_edit: bool) -> str:
    i = detail.incident
    if i.postmortem_reviewed_at is None:
        state = '<p id="review-state">Not reviewed yet.</p>'
    else:
        who = esc(detail.name(i.postmortem_reviewed_by)) or "someone"
        state = (
            f'<p id="review-state">Reviewed by <strong>{who}</strong> on '
            f"{time_tag(i.postmortem_reviewed_at)}.</p>"
        )
        if i.edited_since_review:
            state += (
                '<p class="overdue" id="edited-since">Edited since review (last edit '
                f"{time_tag(i.postmortem_edited_at)}): review it again.</p>"
            )
    form = ""
    if can_edit and i.is_open:
        form = '<p class="muted">The postmortem can be marked reviewed once resolved.</p>'
    elif can_edit and (i.postmortem_reviewed_at is None or i.edited_since_review):
        form = f"""<form method="post" action="/incidents/{i.number}/postmortem/review">
{csrf_field(csrf)}<button type="submit">Mark reviewed</button></form>"""
    return f'<section id="review" class="card"><h2>Review</h2>{state}{form}</section>'


def preview_fragment(text: str) -> str:
    """What the preview endpoint answers: the text rendered as the page would show it."""
    return _rendered(text, "Nothing to preview: the text is empty.")
