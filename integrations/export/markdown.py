"""The postmortem as GitHub-flavoured Markdown, written row by row.

Every string that came from a person or an alert is escaped: Markdown punctuation is
backslash-escaped (so ``<script>`` stays text, ``|`` cannot split a table cell and a leading
``#`` cannot become a heading), and line breaks become ``<br>`` inside table cells so a
multi-line message stays in its row.
"""

from __future__ import annotations

import re
from typing import TextIO

from bot.domain.metrics import format_duration
from bot.domain.model import TimelineEntry
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
    entry_flags,
    entry_link,
    fmt_utc,
    kind_label,
    one_line,
    review_note,
    safe_url,
)

# ASCII punctuation that means something inline; `&` too, so `&lt;` in a note stays literal.
# A regex rather than str.translate: most chat text has none, and search() says so fastest.
_SPECIAL = re.compile(r"[\\`*_\[\]<>#|~&]")
_ORDERED_LIST = re.compile(r"^(\d+)([.)])")
# Characters that would end or split a link destination (or a table cell) are percent-encoded.
_URL_SPECIAL = re.compile(r"[\x00-\x20<>()|`\\\[\]\"']")


def md_line(line: str) -> str:
    """Escape one line of user text, including markers that only matter at a line's start."""
    s = line.strip()
    if _SPECIAL.search(s) is not None:
        s = _SPECIAL.sub(r"\\\g<0>", s)
    if not s:
        return s
    first = s[0]
    if first in "-+=":
        # A list item, or a setext heading underline if the line sits below another.
        return "\\" + s
    if first.isdigit():
        return _ORDERED_LIST.sub(r"\1\\\2", s, count=1)
    return s


def md_inline(text: str) -> str:
    """User text for a heading or list item: one line, escaped."""
    return md_line(one_line(text))


def md_cell(text: str) -> str:
    """User text for a table cell: escaped, line breaks kept as ``<br>``."""
    lines = text.splitlines()
    if len(lines) <= 1:
        return md_line(text)
    return "<br>".join(md_line(line) for line in lines)


def md_block(text: str) -> str:
    """User text as paragraphs: escaped, single line breaks kept as hard breaks."""
    lines = [md_line(line) for line in text.strip().splitlines()]
    out: list[str] = []
    for i, line in enumerate(lines):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        # A trailing backslash is CommonMark's hard line break (no invisible trailing spaces).
        out.append(line + "\\" if following else line)
    return "\n".join(out)


def md_url(url: str) -> str:
    """A link destination that cannot break out of ``(...)``, ``<...>`` or a table cell."""
    return _URL_SPECIAL.sub(lambda m: f"%{ord(m[0]):02X}", safe_url(url))


def _section(out: TextIO, section: Section) -> None:
    out.write(f"## {section.heading}\n\n")
    if section.written:
        out.write(md_block(section.text) + "\n\n")
    else:
        out.write(f"_{section.prompt}_\n\n")


def _entry_row(entry: TimelineEntry, who: str, text: str) -> str:
    cell = md_cell(text)
    link = entry_link(entry)
    if link:
        cell += f" [(message)]({md_url(link)})"
    for flag in entry_flags(entry):
        cell += f" _({flag})_"
    return f"| {fmt_utc(entry.at)} | {kind_label(entry.kind)} | {md_cell(who)} | {cell} |\n"


def render_markdown(doc: Postmortem, out: TextIO) -> None:
    """Write the postmortem as Markdown to ``out``, one timeline row at a time."""
    inc = doc.incident
    if doc.confidential:
        out.write(f"> **{CONFIDENTIAL_NOTE}**\n\n")
    out.write(f"# {md_inline(inc.ref)}: {md_inline(inc.title)}\n\n")
    out.write(f"_{BLAMELESS_NOTE}_\n\n")

    severity = md_inline(inc.severity)
    if doc.severity_description:
        severity += f" — {md_inline(doc.severity_description)}"
    status = md_inline(inc.status.value) + (" (ongoing)" if doc.ongoing else "")
    resolved = "— (ongoing)" if doc.ongoing else fmt_utc(doc.ended_at)
    facts = [
        ("Severity", severity),
        ("Status", status),
        ("Declared", fmt_utc(inc.declared_at)),
        ("Resolved", resolved),
        ("Duration", f"{format_duration(doc.duration)} ({duration_note(doc)})"),
    ]
    if doc.url:
        facts.append(("Incident page", f"<{md_url(doc.url)}>"))
    if safe_url(inc.runbook_url):
        facts.append(("Runbook", f"<{md_url(inc.runbook_url)}>"))
    facts.append(("Review", md_inline(review_note(doc))))
    facts.append(("Generated", fmt_utc(doc.generated_at)))
    out.write("".join(f"- **{label}:** {value}\n" for label, value in facts) + "\n")

    _section(out, doc.section("summary"))
    _section(out, doc.section("impact"))

    out.write("## Roles\n\n")
    for role in doc.roles:
        holder = md_inline(role.name) if role.holder else "_unassigned_"
        out.write(f"- **{role.label}:** {holder}\n")
    out.write("\n## Metrics\n\n| Metric | Duration | Reached at |\n|---|---|---|\n")
    for m in doc.metric_lines:
        out.write(f"| {m.label} | {format_duration(m.duration)} | {fmt_utc(m.at)} |\n")
    out.write("\n")

    for key in (
        "root_cause",
        "contributing_factors",
        "what_went_well",
        "what_went_wrong",
        "lessons",
    ):
        _section(out, doc.section(key))

    out.write("## Action items\n\n")
    if doc.action_items:
        out.write("| # | Action item | Owner | Due | Done |\n|---|---|---|---|---|\n")
        for n, item in enumerate(doc.action_items, 1):
            owner = md_cell(doc.name(item.owner)) if item.owner else "_unassigned_"
            due = fmt_utc(item.due) if item.due else "—"
            if item.done_at is not None:
                done = f"yes, {fmt_utc(item.done_at)}"
                if item.done_by:
                    done += f" by {md_cell(doc.name(item.done_by))}"
            else:
                done = "no"
            out.write(f"| {n} | {md_cell(item.text)} | {owner} | {due} | {done} |\n")
        out.write("\n")
    else:
        out.write(f"_{ACTION_ITEMS_PROMPT}_\n\n")

    out.write("## Status updates\n\n")
    if not doc.updates:
        out.write(f"_{NO_UPDATES}_\n\n")
    for update in doc.updates:
        out.write(
            f"### {fmt_utc(update.at)} · {md_inline(doc.name(update.author))} · "
            f"{md_inline(update.status.value)} · {md_inline(update.severity)}\n\n"
            f"{md_block(update.text)}\n\n"
        )

    out.write("## Alerts\n\n")
    if doc.alerts:
        out.write(
            "| Source | Alert | Severity | Status | Started | Ended | Fingerprint | Labels |\n"
            "|---|---|---|---|---|---|---|---|\n"
        )
        for a in doc.alerts:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))
            out.write(
                f"| {md_cell(a.source)} | {md_cell(a.title)} | {md_cell(a.severity)} | "
                f"{md_cell(a.status)} | {fmt_utc(a.starts_at)} | {fmt_utc(a.ends_at)} | "
                f"{md_cell(a.fingerprint)} | {md_cell(labels) if labels else '—'} |\n"
            )
        out.write("\n")
    else:
        out.write(f"_{NO_ALERTS}_\n\n")

    out.write("## Timeline\n\n")
    count = 0
    for entry in doc.entries():
        if not count:
            # The header waits for the first row: a generator's emptiness is unknown until read.
            out.write("| Time | Kind | Actor | Entry |\n|---|---|---|---|\n")
        count += 1
        out.write(_entry_row(entry, doc.who(entry), doc.text(entry)))
    if count:
        out.write(f"\n_{count} timeline {'entry' if count == 1 else 'entries'}._\n")
    else:
        out.write(f"_{NO_TIMELINE}_\n")
