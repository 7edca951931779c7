"""The postmortem as one standalone, printable HTML page, written row by row.

No external assets and no script: the page is meant to be saved, mailed and printed. Every
string that came from a person or an alert goes through ``esc``; links are kept only when
they are http(s).
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
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
    iso_z,
    kind_label,
    one_line,
    review_note,
    safe_url,
    seconds,
)
from integrations.export.safe_markdown import render_markdown_html
from integrations.export.timeline_svg import timeline_svg

STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1b1f24;
  font: 16px/1.55 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; }
main { max-width: 60rem; margin: 2rem auto; padding: 2rem 2.5rem; background: #fff;
  border: 1px solid #dfe3e8; border-radius: 8px; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .6rem; padding-bottom: .25rem;
  border-bottom: 1px solid #e5e8ec; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
p, ul, dl { margin: .4rem 0 .8rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.md { overflow-wrap: anywhere; }
.md pre { white-space: pre-wrap; background: #f0f2f5; padding: .5rem; }
.picture { margin: .4rem 0 1rem; color: #1b1f24; }
.picture svg { display: block; max-width: 100%; height: auto; }
.note { color: #57606a; font-style: italic; }
.prompt { color: #8a5a00; background: #fff8e6; border-left: 3px solid #e0a100;
  padding: .4rem .7rem; font-style: italic; }
.confidential { background: #b3261e; color: #fff; font-weight: 700; letter-spacing: .02em;
  padding: .5rem .8rem; border-radius: 4px; margin-bottom: 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; }
dl.facts dt { font-weight: 600; color: #444c56; }
dl.facts dd { margin: 0; }
table { width: 100%; border-collapse: collapse; font-size: .92rem; margin: .4rem 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem;
  border-bottom: 1px solid #e5e8ec; }
th { background: #f0f2f5; font-weight: 600; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.kind { white-space: nowrap; color: #444c56; }
.flag { display: inline-block; font-size: .8em; padding: 0 .35em; border-radius: 3px;
  background: #fdecea; color: #8c1d18; margin-left: .3em; }
.muted { color: #6e7781; }
a { color: #0b5cad; }
footer { margin-top: 2rem; font-size: .85rem; color: #6e7781; }
/* On a phone the page fits the screen; a wide table scrolls inside itself, not the page. */
@media screen and (max-width: 40rem) {
  main { margin: 0; padding: 1rem; border: 0; border-radius: 0; }
  table { display: block; overflow-x: auto; }
}
@media print {
  @page { margin: 16mm 14mm; }
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; margin: 0; padding: 0; border: 0; }
  h2, h3 { break-after: avoid; }
  tr, .update, dl.facts { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  .confidential, .flag, .prompt, th { -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
}
""".strip()


def esc(value: object) -> str:
    """HTML-escape anything, quotes included (safe in text and attribute values)."""
    return html.escape(str(value), quote=True)


def _time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return f'<time datetime="{esc(iso_z(value))}">{esc(fmt_utc(value))}</time>'


def _secs(value: timedelta | None) -> str:
    secs = seconds(value)
    return "" if secs is None else str(secs)


def _link(url: str, label: str) -> str:
    safe = safe_url(url)
    return f'<a href="{esc(safe)}">{esc(label)}</a>' if safe else ""


def _section(out: TextIO, section: Section) -> None:
    out.write(f'<section id="{esc(section.key)}"><h2>{esc(section.heading)}</h2>\n')
    if section.written:
        # Sections are Markdown (the editor's preview shows the same): no raw HTML, web links.
        out.write(f'<div class="md">{render_markdown_html(section.text.strip())}</div>')
    else:
        out.write(f'<p class="prompt">{esc(section.prompt)}</p>')
    out.write("</section>\n")


def _entry_row(entry: TimelineEntry, who: str, text: str) -> str:
    extra = ""
    link = entry_link(entry)
    if link:
        extra += f" {_link(link, '(message)')}"
    for flag in entry_flags(entry):
        extra += f' <span class="flag">{esc(flag)}</span>'
    return (
        f'<tr><td class="time">{_time(entry.at)}</td><td class="kind">{kind_label(entry.kind)}'
        f'</td><td>{esc(who)}</td><td><span class="text">{esc(text)}</span>'
        f"{extra}</td></tr>\n"
    )


def render_html(doc: Postmortem, out: TextIO) -> None:
    """Write the postmortem as a standalone HTML page to ``out``, one timeline row at a time."""
    inc = doc.incident
    title = esc(doc.title_line)
    # The tab, the print header and the footer say it too: the banner is on page one only.
    marker = "CONFIDENTIAL · " if doc.confidential else ""
    out.write(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="sitrep">\n<title>{marker}Postmortem: {title}</title>\n'
        f"<style>\n{STYLE}\n</style>\n</head>\n<body>\n<main>\n"
    )
    if doc.confidential:
        out.write(f'<div class="confidential" role="note">{esc(CONFIDENTIAL_NOTE)}</div>\n')
    out.write(f'<h1>{title}</h1>\n<p class="note">{esc(BLAMELESS_NOTE)}</p>\n')

    severity = esc(inc.severity)
    if doc.severity_description:
        severity += f" — {esc(doc.severity_description)}"
    status = esc(inc.status.value) + (" <strong>(ongoing)</strong>" if doc.ongoing else "")
    resolved = "— (ongoing)" if doc.ongoing else _time(doc.ended_at)
    facts = [
        ("Severity", severity),
        ("Status", status),
        ("Declared", _time(inc.declared_at)),
        ("Resolved", resolved),
        ("Duration", f"{esc(format_duration(doc.duration))} ({esc(duration_note(doc))})"),
    ]
    if doc.url:
        facts.append(("Incident page", _link(doc.url, doc.url)))
    if safe_url(inc.runbook_url):
        facts.append(("Runbook", _link(inc.runbook_url, inc.runbook_url)))
    facts.append(("Review", esc(review_note(doc))))
    facts.append(("Generated", _time(doc.generated_at)))
    out.write('<dl class="facts">\n')
    out.write("".join(f"<dt>{label}</dt><dd>{value}</dd>\n" for label, value in facts))
    out.write("</dl>\n")

    _section(out, doc.section("summary"))
    _section(out, doc.section("impact"))

    out.write('<section id="roles"><h2>Roles</h2>\n<dl class="facts">\n')
    for role in doc.roles:
        holder = esc(role.name) if role.holder else '<span class="muted">unassigned</span>'
        out.write(f"<dt>{esc(role.label)}</dt><dd>{holder}</dd>\n")
    out.write("</dl></section>\n")

    out.write(
        '<section id="metrics"><h2>Metrics</h2>\n<table>\n<thead><tr><th>Metric</th>'
        "<th>Duration</th><th>Reached at</th></tr></thead>\n<tbody>\n"
    )
    for m in doc.metric_lines:
        out.write(
            f'<tr><td>{esc(m.label)}</td><td data-seconds="{esc(_secs(m.duration))}">'
            f"{esc(format_duration(m.duration))}</td><td>{_time(m.at)}</td></tr>\n"
        )
    out.write("</tbody></table></section>\n")

    if doc.picture is not None:
        out.write(
            '<section id="timeline-picture"><h2>Timeline at a glance</h2>\n'
            f'<div class="picture">{timeline_svg(doc.picture, ident="pm-picture")}</div>'
            "</section>\n"
        )

    for key in (
        "root_cause",
        "contributing_factors",
        "what_went_well",
        "what_went_wrong",
        "lessons",
    ):
        _section(out, doc.section(key))

    out.write('<section id="action-items"><h2>Action items</h2>\n')
    if doc.action_items:
        out.write(
            "<table>\n<thead><tr><th>#</th><th>Action item</th><th>Owner</th><th>Due</th>"
            "<th>Done</th></tr></thead>\n<tbody>\n"
        )
        for n, item in enumerate(doc.action_items, 1):
            owner = (
                esc(doc.name(item.owner)) if item.owner else '<span class="muted">unassigned</span>'
            )
            if item.done_at is not None:
                done = f"yes, {_time(item.done_at)}"
                if item.done_by:
                    done += f" by {esc(doc.name(item.done_by))}"
            else:
                done = "no"
            out.write(
                f'<tr><td>{n}</td><td class="text">{esc(item.text)}</td><td>{owner}</td>'
                f"<td>{_time(item.due)}</td><td>{done}</td></tr>\n"
            )
        out.write("</tbody></table>")
    else:
        out.write(f'<p class="prompt">{esc(ACTION_ITEMS_PROMPT)}</p>')
    out.write("</section>\n")

    out.write('<section id="status-updates"><h2>Status updates</h2>\n')
    if not doc.updates:
        out.write(f'<p class="muted">{esc(NO_UPDATES)}</p>')
    for update in doc.updates:
        out.write(
            f'<div class="update"><h3>{_time(update.at)} · {esc(doc.name(update.author))} · '
            f"{esc(update.status.value)} · {esc(update.severity)}</h3>\n"
            f'<p class="text">{esc(update.text.strip())}</p></div>\n'
        )
    out.write("</section>\n")

    out.write('<section id="alerts"><h2>Alerts</h2>\n')
    if doc.alerts:
        out.write(
            "<table>\n<thead><tr><th>Source</th><th>Alert</th><th>Severity</th><th>Status</th>"
            "<th>Started</th><th>Ended</th><th>Fingerprint</th><th>Labels</th></tr></thead>\n"
            "<tbody>\n"
        )
        for a in doc.alerts:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items())) or "—"
            out.write(
                f"<tr><td>{esc(a.source)}</td><td>{esc(a.title)}</td><td>{esc(a.severity)}</td>"
                f"<td>{esc(a.status)}</td><td>{_time(a.starts_at)}</td>"
                f"<td>{_time(a.ends_at)}</td><td>{esc(a.fingerprint)}</td>"
                f"<td>{esc(labels)}</td></tr>\n"
            )
        out.write("</tbody></table>")
    else:
        out.write(f'<p class="muted">{esc(NO_ALERTS)}</p>')
    out.write("</section>\n")

    out.write('<section id="timeline"><h2>Timeline</h2>\n')
    count = 0
    for entry in doc.entries():
        if not count:
            # The table opens with the first row: a generator's emptiness is unknown until read.
            out.write(
                "<table>\n<thead><tr><th>Time</th><th>Kind</th><th>Actor</th><th>Entry</th>"
                "</tr></thead>\n<tbody>\n"
            )
        count += 1
        out.write(_entry_row(entry, doc.who(entry), doc.text(entry)))
    if count:
        noun = "entry" if count == 1 else "entries"
        out.write(f'</tbody></table>\n<p class="muted">{count} timeline {noun}.</p>')
    else:
        out.write(f'<p class="muted">{esc(NO_TIMELINE)}</p>')
    out.write(
        f"</section>\n<footer>{marker}Generated by sitrep at {esc(fmt_utc(doc.generated_at))} · "
        f"{esc(one_line(doc.title_line))}</footer>\n</main>\n</body>\n</html>\n"
    )
