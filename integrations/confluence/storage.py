"""The postmortem in Confluence storage format (XHTML with ``ac:``/``ri:`` elements).

Every string from a person or an alert goes through ``escape`` (so ``<script>`` and
``]]>`` stay text), links are written only for http(s) URLs, and the result is one
well-formed XML fragment. The timeline picture is a page attachment (``timeline.svg``)
shown with ``<ac:image>``: storage format has no inline ``<svg>``, and the only inline way
(the HTML macro) is off on Confluence Cloud and would run whatever it holds.

A published page is for reading, not the full record: the timeline is cut to its first
``TIMELINE_ROWS`` entries with a link to the rest in sitrep.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from itertools import islice

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

PICTURE_FILE = "timeline.svg"
TIMELINE_ROWS = 300
# The written sections after the metrics, in the order every export uses.
LATER_SECTIONS = (
    "root_cause",
    "contributing_factors",
    "what_went_well",
    "what_went_wrong",
    "lessons",
)
# Storage format is XML 1.0: these code points cannot appear in it even escaped.
_NOT_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])


def text(value: object) -> str:
    """User text as XML character data."""
    return escape(str(value).translate(_NOT_XML), quote=True)


def link(url: str, label: str | None = None) -> str:
    """An ``<a>`` for an http(s) URL; anything else is shown as text, not linked."""
    safe = safe_url(url)
    if not safe:
        return text(label if label is not None else url)
    return f'<a href="{text(safe)}">{text(label if label is not None else safe)}</a>'


def paragraphs(value: str) -> str:
    """Text as paragraphs, blank lines apart; single line breaks kept as ``<br/>``."""
    blocks = [b.strip() for b in value.strip().replace("\r\n", "\n").split("\n\n")]
    return "".join(
        "<p>" + "<br/>".join(text(line) for line in block.split("\n")) + "</p>"
        for block in blocks
        if block
    )


def table(head: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A table; cells are already storage markup."""
    out = ["<table><tbody><tr>", *(f"<th>{text(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _section(section: Section) -> str:
    body = (
        paragraphs(section.text) if section.written else f"<p><em>{text(section.prompt)}</em></p>"
    )
    return f"<h2>{text(section.heading)}</h2>{body}"


def _note(kind: str, body: str) -> str:
    """An info/warning panel (a built-in macro every Confluence site has)."""
    return (
        f'<ac:structured-macro ac:name="{kind}"><ac:rich-text-body><p>{text(body)}</p>'
        "</ac:rich-text-body></ac:structured-macro>"
    )


def render_storage(doc: Postmortem, *, picture: bool = True) -> str:
    """The page body; ``picture`` embeds the ``timeline.svg`` attachment."""
    inc = doc.incident
    out: list[str] = []
    if doc.confidential:
        out.append(_note("warning", CONFIDENTIAL_NOTE))
    out.append(_note("info", BLAMELESS_NOTE))
    severity = inc.severity + (f" — {doc.severity_description}" if doc.severity_description else "")
    facts = [
        ("Severity", text(severity)),
        ("Status", text(inc.status.value + (" (ongoing)" if doc.ongoing else ""))),
        ("Declared", text(fmt_utc(inc.declared_at))),
        ("Resolved", text("— (ongoing)" if doc.ongoing else fmt_utc(doc.ended_at))),
        ("Duration", text(f"{format_duration(doc.duration)} ({duration_note(doc)})")),
    ]
    if doc.url:
        facts.append(("Incident page", link(doc.url)))
    if safe_url(inc.runbook_url):
        facts.append(("Runbook", link(inc.runbook_url)))
    facts.append(("Review", text(review_note(doc))))
    facts.append(("Generated", text(fmt_utc(doc.generated_at))))
    out.append(
        "<ul>" + "".join(f"<li><strong>{text(k)}:</strong> {v}</li>" for k, v in facts) + "</ul>"
    )
    if picture and doc.picture is not None:
        out.append(
            "<h2>Timeline at a glance</h2>"
            f'<p><ac:image ac:alt="{text(doc.picture.title)}" ac:width="900">'
            f'<ri:attachment ri:filename="{PICTURE_FILE}"/></ac:image></p>'
        )
    out.append(_section(doc.section("summary")))
    out.append(_section(doc.section("impact")))
    out.append("<h2>Roles</h2><ul>")
    for role in doc.roles:
        holder = text(role.name) if role.holder else "<em>unassigned</em>"
        out.append(f"<li><strong>{text(role.label)}:</strong> {holder}</li>")
    out.append("</ul><h2>Metrics</h2>")
    out.append(
        table(
            ("Metric", "Duration", "Reached at"),
            (
                (text(m.label), text(format_duration(m.duration)), text(fmt_utc(m.at)))
                for m in doc.metric_lines
            ),
        )
    )
    for key in (
        "root_cause",
        "contributing_factors",
        "what_went_well",
        "what_went_wrong",
        "lessons",
    ):
        out.append(_section(doc.section(key)))
    out.append("<h2>Action items</h2>")
    if doc.action_items:
        rows = []
        for n, item in enumerate(doc.action_items, 1):
            done = "no"
            if item.done_at is not None:
                done = f"yes, {fmt_utc(item.done_at)}"
                if item.done_by:
                    done += f" by {doc.name(item.done_by)}"
            rows.append(
                (
                    str(n),
                    text(item.text),
                    text(doc.name(item.owner)) if item.owner else "<em>unassigned</em>",
                    text(fmt_utc(item.due) if item.due else "—"),
                    text(done),
                )
            )
        out.append(table(("#", "Action item", "Owner", "Due", "Done"), rows))
    else:
        out.append(f"<p><em>{text(ACTION_ITEMS_PROMPT)}</em></p>")
    out.append("<h2>Status updates</h2>")
    if not doc.updates:
        out.append(f"<p><em>{text(NO_UPDATES)}</em></p>")
    for update in doc.updates:
        out.append(
            f"<h3>{text(fmt_utc(update.at))} · {text(doc.name(update.author))} · "
            f"{text(update.status.value)} · {text(update.severity)}</h3>{paragraphs(update.text)}"
        )
    out.append("<h2>Alerts</h2>")
    if doc.alerts:
        out.append(
            table(
                ("Source", "Alert", "Severity", "Status", "Started", "Ended"),
                (
                    (
                        text(a.source),
                        text(a.title),
                        text(a.severity),
                        text(a.status),
                        text(fmt_utc(a.starts_at)),
                        text(fmt_utc(a.ends_at)),
                    )
                    for a in doc.alerts
                ),
            )
        )
    else:
        out.append(f"<p><em>{text(NO_ALERTS)}</em></p>")
    out.append("<h2>Timeline</h2>")
    entries = iter(doc.entries())
    rows_ = [
        (text(fmt_utc(e.at)), text(kind_label(e.kind)), text(doc.who(e)), text(doc.text(e)))
        for e in islice(entries, TIMELINE_ROWS)
    ]
    more = sum(1 for _ in entries)
    if rows_:
        out.append(table(("Time", "Kind", "Actor", "Entry"), rows_))
    else:
        out.append(f"<p><em>{text(NO_TIMELINE)}</em></p>")
    if more:
        where = f" See {link(doc.url, 'the incident in sitrep')}." if doc.url else ""
        out.append(f"<p><em>{more} later timeline entries are not shown here.</em>{where}</p>")
    return "".join(out)
