"""The postmortem as Notion blocks, within the API's limits.

A text object holds at most ``TEXT_LIMIT`` characters, so longer text is split across
several (and a block's rich text over ``RICH_TEXT_LIMIT`` objects is cut, saying so). Links
are http(s) only. Action items and metrics are bulleted lists (a table's rows would count
against the 100 children of one request twice over). The timeline picture is an external
image block pointing at sitrep's own ``/incidents/{n}/postmortem/timeline.svg``: the API
takes no uploaded SVG without its file-upload flow, and the picture's URL keeps sitrep's
access rules (a reader signed in to sitrep sees it).
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from bot.domain.metrics import format_duration
from integrations.export.document import (
    ACTION_ITEMS_PROMPT,
    BLAMELESS_NOTE,
    CONFIDENTIAL_NOTE,
    NO_ALERTS,
    NO_TIMELINE,
    NO_UPDATES,
    Postmortem,
    Section,
    duration_note,
    fmt_utc,
    kind_label,
    review_note,
    safe_url,
)

TEXT_LIMIT = 2000
RICH_TEXT_LIMIT = 100
TIMELINE_ROWS = 300

Block = dict[str, Any]


def rich(value: str, *, url: str = "", bold: bool = False, italic: bool = False) -> list[Block]:
    """Text as rich-text objects of at most ``TEXT_LIMIT`` characters each."""
    value = value or ""
    href = safe_url(url)
    parts = [value[i : i + TEXT_LIMIT] for i in range(0, len(value), TEXT_LIMIT)] or [""]
    out: list[Block] = []
    for part in parts[:RICH_TEXT_LIMIT]:
        obj: Block = {"type": "text", "text": {"content": part}}
        if href:
            obj["text"]["link"] = {"url": href}
        if bold or italic:
            obj["annotations"] = {"bold": bold, "italic": italic}
        out.append(obj)
    return out


def block(kind: str, *texts: list[Block]) -> Block:
    """A text block (``paragraph``, ``heading_2``, ``bulleted_list_item`` …)."""
    joined = [t for part in texts for t in part][:RICH_TEXT_LIMIT]
    return {"object": "block", "type": kind, kind: {"rich_text": joined}}


def paragraphs(value: str) -> list[Block]:
    """Text as paragraph blocks, one per blank-line-separated paragraph."""
    parts = [p.strip() for p in value.strip().replace("\r\n", "\n").split("\n\n")]
    return [block("paragraph", rich(p)) for p in parts if p]


def _section(section: Section) -> list[Block]:
    head = block("heading_2", rich(section.heading))
    if section.written:
        return [head, *paragraphs(section.text)]
    return [head, block("paragraph", rich(section.prompt, italic=True))]


def _fact(label: str, value: str, url: str = "") -> Block:
    return block("bulleted_list_item", rich(f"{label}: ", bold=True), rich(value, url=url))


def render_blocks(doc: Postmortem, picture_url: str = "") -> list[Block]:
    """The page's blocks, in order; ``picture_url`` adds the timeline image."""
    inc = doc.incident
    out: list[Block] = []
    if doc.confidential:
        out.append(block("callout", rich(CONFIDENTIAL_NOTE, bold=True)))
    out.append(block("callout", rich(BLAMELESS_NOTE)))
    severity = inc.severity + (f" — {doc.severity_description}" if doc.severity_description else "")
    out += [
        _fact("Severity", severity),
        _fact("Status", inc.status.value + (" (ongoing)" if doc.ongoing else "")),
        _fact("Declared", fmt_utc(inc.declared_at)),
        _fact("Resolved", "— (ongoing)" if doc.ongoing else fmt_utc(doc.ended_at)),
        _fact("Duration", f"{format_duration(doc.duration)} ({duration_note(doc)})"),
    ]
    if doc.url:
        out.append(_fact("Incident page", doc.url, doc.url))
    if safe_url(inc.runbook_url):
        out.append(_fact("Runbook", inc.runbook_url, inc.runbook_url))
    out.append(_fact("Review", review_note(doc)))
    out.append(_fact("Generated", fmt_utc(doc.generated_at)))
    if doc.picture is not None and safe_url(picture_url):
        out.append(block("heading_2", rich("Timeline at a glance")))
        out.append(
            {
                "object": "block",
                "type": "image",
                "image": {
                    "type": "external",
                    "external": {"url": safe_url(picture_url)},
                    "caption": rich(doc.picture.title[:TEXT_LIMIT]),
                },
            }
        )
    out += _section(doc.section("summary"))
    out += _section(doc.section("impact"))
    out.append(block("heading_2", rich("Roles")))
    for role in doc.roles:
        out.append(_fact(role.label, role.name if role.holder else "unassigned"))
    out.append(block("heading_2", rich("Metrics")))
    for m in doc.metric_lines:
        out.append(_fact(m.label, f"{format_duration(m.duration)} (reached {fmt_utc(m.at)})"))
    for key in (
        "root_cause",
        "contributing_factors",
        "what_went_well",
        "what_went_wrong",
        "lessons",
    ):
        out += _section(doc.section(key))
    out.append(block("heading_2", rich("Action items")))
    if not doc.action_items:
        out.append(block("paragraph", rich(ACTION_ITEMS_PROMPT, italic=True)))
    for n, item in enumerate(doc.action_items, 1):
        owner = doc.name(item.owner) if item.owner else "unassigned"
        due = fmt_utc(item.due) if item.due else "—"
        done = f"done {fmt_utc(item.done_at)}" if item.done_at is not None else "open"
        out.append(
            block(
                "bulleted_list_item",
                rich(f"#{n} ", bold=True),
                rich(item.text),
                rich(f" — owner: {owner}; due: {due}; {done}"),
            )
        )
    out.append(block("heading_2", rich("Status updates")))
    if not doc.updates:
        out.append(block("paragraph", rich(NO_UPDATES, italic=True)))
    for update in doc.updates:
        out.append(
            block(
                "heading_3",
                rich(
                    f"{fmt_utc(update.at)} · {doc.name(update.author)} · "
                    f"{update.status.value} · {update.severity}"
                ),
            )
        )
        out += paragraphs(update.text)
    out.append(block("heading_2", rich("Alerts")))
    if not doc.alerts:
        out.append(block("paragraph", rich(NO_ALERTS, italic=True)))
    for a in doc.alerts:
        out.append(
            block(
                "bulleted_list_item",
                rich(f"{a.source} · {a.severity} · {a.status}: ", bold=True),
                rich(f"{a.title} ({fmt_utc(a.starts_at)} to {fmt_utc(a.ends_at)})"),
            )
        )
    out.append(block("heading_2", rich("Timeline")))
    entries = iter(doc.entries())
    shown = 0
    for e in islice(entries, TIMELINE_ROWS):
        shown += 1
        out.append(
            block(
                "bulleted_list_item",
                rich(f"{fmt_utc(e.at)} · {kind_label(e.kind)} · {doc.who(e)}: ", bold=True),
                rich(doc.text(e)),
            )
        )
    more = sum(1 for _ in entries)
    if not shown:
        out.append(block("paragraph", rich(NO_TIMELINE, italic=True)))
    if more:
        out.append(
            block(
                "paragraph",
                rich(f"{more} later timeline entries are not shown here; see ", italic=True),
                rich("the incident in sitrep", url=doc.url) if doc.url else rich("sitrep"),
            )
        )
    return out


def container(children: list[Block]) -> Block:
    """An original synced block holding ``children``: one block to delete on a re-publish."""
    return {
        "object": "block",
        "type": "synced_block",
        "synced_block": {"synced_from": None, "children": children},
    }


def chunks(blocks: list[Block], size: int = 100) -> list[list[Block]]:
    """At most ``size`` blocks per request (the API's limit on one children array)."""
    return [blocks[i : i + size] for i in range(0, len(blocks), size)]
