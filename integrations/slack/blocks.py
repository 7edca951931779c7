"""Block Kit for the core's neutral messages. Pure: a ``ChatMessage`` in, (text, blocks) out.

Every string that came from a person or an alert goes through ``escape_mrkdwn`` or
``escape_plain`` before it lands in a block, and every block respects Slack's size limits, so a
hostile or enormous title can neither ping a channel nor get the whole message rejected.
The only markup not produced by escaping is our own: validated mentions, links and dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.chatops.grammar import HELP_TEXT
from bot.domain.model import TRANSITIONS, Status
from bot.domain.snapshot import IncidentSnapshot, snapshot_of, snapshots_of
from bot.ports import ChatMessage
from integrations.slack.escape import (
    channel_link,
    escape_mrkdwn,
    escape_plain,
    group_mention,
    link,
    mention,
    truncate,
    truncate_escaped,
)
from integrations.slack.public_update import preview_blocks
from integrations.slack.search import search_text

Block = dict[str, Any]

# Slack's limits (Block Kit reference); exceeding any of them fails the whole message.
MAX_BLOCKS = 50
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
FIELD_LIMIT = 2000
MAX_FIELDS = 10
CONTEXT_LIMIT = 2000
MAX_CONTEXT_ELEMENTS = 10
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
OPTION_TEXT_LIMIT = 75
# Slack truncates a message's text long after this, but the fallback only feeds notifications
# and screen readers; the blocks carry the full content.
FALLBACK_LIMIT = 3000

ACK_ACTION = "sitrep.ack"
STATUS_ACTION = "sitrep.status"
UPDATE_ACTION = "sitrep.update"
RESOLVE_ACTION = "sitrep.resolve"
DECLARE_FROM_ALERT_ACTION = "sitrep.declare_from_alert"
# The summary's actions block carries the incident too, for the status select (whose
# interaction payload has a selected option but no button value).
INCIDENT_BLOCK_PREFIX = "sitrep.incident"

DATE_FORMAT = "{date_short_pretty} {time}"
# Past incidents one "similar incidents" message lists (the core sends 3 by default).
_SIMILAR_SHOWN = 10

STATUS_LABELS: dict[str, str] = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "closed": "Closed",
}
STATUS_EMOJI: dict[str, str] = {
    "investigating": ":mag:",
    "identified": ":bulb:",
    "monitoring": ":eyes:",
    "resolved": ":white_check_mark:",
    "closed": ":checkered_flag:",
}
_SEVERITY_EMOJI = {1: ":red_circle:", 2: ":large_orange_circle:", 3: ":large_yellow_circle:"}
_ALERT_SAMPLES_SHOWN = 5
_DIGEST_SHOWN = 40


# -- public entry points ----------------------------------------------------------------------


def render(message: ChatMessage) -> tuple[str, list[Block]]:
    """Fallback text and blocks for ``message``; unknown kinds show their text."""
    if message.kind == "reply":
        message = reply_text(message)
    renderer = _RENDERERS.get(message.kind, _text_message)
    data = message.data if isinstance(message.data, Mapping) else {}
    blocks = renderer(message, data)
    fallback = message.text or _default_text(message.kind, data)
    text = (
        truncate(fallback, FALLBACK_LIMIT)
        if _trusted(message)
        else escape_mrkdwn(fallback, FALLBACK_LIMIT)
    )
    return text or " ", _finish(blocks, text)


def reply_text(message: ChatMessage) -> ChatMessage:
    """The desk's neutral reply (``data["shows"]``) as the text Slack shows."""
    data = message.data if isinstance(message.data, Mapping) else {}
    shows = data.get("shows")
    keep: dict[str, Any] = {k: data[k] for k in ("user", "ours") if k in data}
    ours = False
    match shows:
        case "usage":
            text = f"{message.text}\nUsage: `{data.get('usage', '')}`"
        case "help":
            text = HELP_TEXT
        case "unknown":
            shown = str(data.get("unknown", "")).replace("`", "'")[:100]
            text = f"I don't know `{shown}`.\n" + HELP_TEXT
        case "not_a_room":
            text = (
                "This isn't an incident channel. Run that in the incident's channel, "
                "or start one with `/incident declare <title>`."
            )
        case "list":
            text, ours = _list_text(data), True
        case "search":
            text, ours = search_text(data), True
        case "timeline":
            text = _timeline_text(data)
        case "summary":
            text = _summary_text(data)
        case "public_preview":
            return ChatMessage("public_preview", message.text, {**data, **keep})
        case _:
            return message
    return ChatMessage("reply", text, {**keep, "ours": ours})


def _list_text(data: Mapping[str, Any]) -> str:
    incidents = snapshots_of(data.get("incidents"))
    if not incidents:
        return "No open incidents. :tada:" if data.get("open_only") else "No incidents yet."
    lines = [
        f"*{escape_mrkdwn(_ref(i))}* {escape_mrkdwn(str(i.get('severity', '')))} · "
        f"{escape_mrkdwn(str(i.get('status', '')))} · {escape_mrkdwn(str(i.get('title', '')))}"
        + (f" · commander {mention(str(i['commander']))}" if i.get("commander") else "")
        for i in incidents
        if not i.get("private")
    ]
    hidden = _int(data.get("private_hidden")) + sum(1 for i in incidents if i.get("private"))
    if hidden:
        lines.append(f"_{hidden} private incident(s) not shown._")
    return "\n".join(lines)


def _timeline_text(data: Mapping[str, Any]) -> str:
    entries = [e for e in data.get("entries") or [] if isinstance(e, Mapping)]
    lines = [
        f"*{data.get('ref', '')} timeline* (UTC, last {len(entries)} of {_int(data.get('total'))})"
    ]
    for e in entries:
        at = _parse_time(e.get("at"))
        lines.append(f"`{at:%H:%M:%S}` {e.get('text', '')}" if at else str(e.get("text", "")))
    return "\n".join(lines)


def _summary_text(data: Mapping[str, Any]) -> str:
    i = _incident(data)
    m = _mapping(data.get("metrics"))
    return (
        f"*{_ref(i)}: {i.get('title', '')}*\n{i.get('severity', '')} · {i.get('status', '')} · "
        f"commander {i.get('commander') or 'unassigned'}\n"
        f"{i.get('summary') or '_no summary yet_'}\n"
        f"Time to acknowledge {m.get('time_to_acknowledge', '')} · mitigate "
        f"{m.get('time_to_mitigate', '')} · resolve {m.get('time_to_resolve', '')}"
    )


def incident_value(incident: IncidentSnapshot) -> str:
    """``"{workspace}:{number}"``: what every incident button carries back."""
    return f"{incident.get('workspace', '')}:{incident.get('number', '')}"


def status_options(current: str) -> list[Block]:
    """Select options for the statuses the lifecycle allows from ``current``."""
    try:
        now: Status | None = Status(current)
    except ValueError:
        now = None
    allowed = TRANSITIONS[now] if now is not None else frozenset(Status)
    reopening = now is not None and not now.is_open
    options = []
    for status in Status:  # enum order reads as the lifecycle
        if status not in allowed:
            continue
        label = STATUS_LABELS[status.value]
        if status is Status.INVESTIGATING and reopening:
            label = "Reopen (investigating)"
        options.append(_option(f"{STATUS_EMOJI[status.value]} {label}", status.value))
    return options


def slack_date(value: str | None, fmt: str = DATE_FORMAT) -> str:
    """``<!date^…>`` so each reader sees their local time; a UTC fallback for old clients."""
    when = _parse_time(value)
    if when is None:
        return ""
    fallback = f"{when:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


# -- kinds -------------------------------------------------------------------------------------


def _incident_summary(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    inc = _incident(data)
    status = str(inc.get("status", ""))
    is_open = _is_open(inc)
    blocks: list[Block] = [_header(f"{_ref(inc)}: {inc.get('title', '')}")]
    if inc.get("private"):
        blocks.append(_context([":lock: Private incident: only members of this channel see it."]))
    fields = [
        f"*Severity*\n{_severity(inc)}",
        f"*Status*\n{_status(status)}",
        f"*Commander*\n{_person(inc.get('commander'))}",
        f"*Comms lead*\n{_person(inc.get('comms_lead'))}",
    ]
    if inc.get("scribe"):
        fields.append(f"*Scribe*\n{_person(inc.get('scribe'))}")
    fields.append(f"*Declared*\n{slack_date(inc.get('declared_at')) or 'unknown'}")
    if inc.get("acknowledged_at"):
        fields.append(f"*Acknowledged*\n{slack_date(inc.get('acknowledged_at'))}")
    if inc.get("resolved_at"):
        fields.append(f"*Resolved*\n{slack_date(inc.get('resolved_at'))}")
    blocks.append(_fields(fields))
    summary = str(inc.get("summary") or "").strip()
    impact = str(inc.get("impact") or "").strip()
    if summary or impact:
        parts = []
        if summary:
            parts.append("*Summary*\n" + escape_mrkdwn(summary, 1800))
        if impact:
            parts.append("*Impact*\n" + escape_mrkdwn(impact, 1000))
        blocks.append(_section("\n".join(parts)))
    else:
        blocks.append(_section("*Summary*\n_No summary yet._"))
    blocks.append(_context(_incident_links(inc, data, is_open)))
    blocks.append(_summary_actions(inc, status, is_open))
    return blocks


def _summary_actions(inc: IncidentSnapshot, status: str, is_open: bool) -> Block:
    value = incident_value(inc)
    elements: list[Block] = []
    if is_open and not inc.get("acknowledged_at"):
        elements.append(_button("Acknowledge", ACK_ACTION, value, style="primary"))
    if status != Status.CLOSED.value:
        elements.append(_button("Post update", UPDATE_ACTION, value))
    options = status_options(status)
    if options:
        elements.append(
            {
                "type": "static_select",
                "action_id": STATUS_ACTION,
                "placeholder": _plain("Change status"),
                "options": options,
            }
        )
    if is_open:
        resolve = _button("Resolve", RESOLVE_ACTION, value, style="danger")
        # A confirm step: this button sits next to others in a stressful moment.
        resolve["confirm"] = {
            "title": _plain(f"Resolve {_ref(inc)}?", 100),
            "text": _plain("Stakeholders will hear that the impact is over.", 300),
            "confirm": _plain("Resolve", 30),
            "deny": _plain("Not yet", 30),
        }
        elements.append(resolve)
    return {
        "type": "actions",
        "block_id": f"{INCIDENT_BLOCK_PREFIX}:{value}",
        "elements": elements,
    }


def _broadcast(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    inc = _incident(data)
    status = str(inc.get("status", ""))
    title = escape_mrkdwn(str(inc.get("title", "")), 500)
    lines = [f"{_severity_emoji(inc)} *{escape_mrkdwn(_ref(inc))}: {title}*"]
    if status in ("resolved", "closed"):
        when = slack_date(inc.get("resolved_at") or inc.get("closed_at"))
        lines.append(f":white_check_mark: *Resolved* {when}".rstrip())
    summary = str(inc.get("summary") or "").strip()
    if summary:
        lines.append(escape_mrkdwn(summary, 1500))
    blocks: list[Block] = [_section("\n".join(lines))]
    blocks.append(
        _fields(
            [
                f"*Severity*\n{_severity(inc)}",
                f"*Status*\n{_status(status)}",
                f"*Commander*\n{_person(inc.get('commander'))}",
                f"*Declared*\n{slack_date(inc.get('declared_at')) or 'unknown'}",
            ]
        )
    )
    if inc.get("private"):
        blocks.append(_context([":lock: Private incident."]))
    last = slack_date(inc.get("last_update_at"))
    notes = [f"Last update {last}" if last else "No stakeholder update yet"]
    if data.get("update_overdue"):
        notes.insert(0, ":warning: *Update overdue*: the team has been reminded")
    room = _room_link(data, inc)
    if room:
        notes.append(f"Follow along in {room}")
    if inc.get("url"):
        notes.append(link(str(inc["url"]), "Incident page"))
    blocks.append(_context(notes))
    return blocks


def _status_update(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    inc = _incident(data)
    update = _mapping(data.get("update"))
    text = str(update.get("text") or message.text or "")
    title = escape_mrkdwn(str(inc.get("title", "")), 500)
    blocks: list[Block] = [_section(f":mega: *Update on {escape_mrkdwn(_ref(inc))}: {title}*")]
    blocks += _text_sections(escape_mrkdwn(text), max_sections=8)
    notes = [f"{_status(str(inc.get('status', '')))} · {_severity(inc)}"]
    author = update.get("author")
    when = slack_date(update.get("at"))
    if author:
        notes.append(f"Posted by {_person(str(author))}" + (f" {when}" if when else ""))
    elif when:
        notes.append(f"Posted {when}")
    blocks.append(_context(notes))
    return blocks


def _notice(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    text = escape_mrkdwn(message.text or "")
    who = data.get("mention")
    if isinstance(who, str) and who:
        text = _address(text, who)
    return _text_sections(text)


def _reminder(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    inc = _incident(data)
    overdue = bool(data.get("overdue"))
    emoji = ":rotating_light:" if overdue else ":alarm_clock:"
    text = escape_mrkdwn(message.text or _default_text("reminder", data), 2000)
    who = data.get("mention")
    if isinstance(who, str) and who:
        text = _address(text, who)
    escalate = data.get("escalate_to")
    if overdue and isinstance(escalate, str) and escalate.strip():
        # The core names the group in plain words; here it becomes a real (configured) ping.
        target = escalate.strip()
        ping = group_mention(target)
        named = escape_mrkdwn(target)
        if named in text:
            text = text.replace(named, ping)
        else:
            text += f"\n{ping}: {escape_mrkdwn(_ref(inc))} needs its stakeholder update."
    blocks: list[Block] = [_section(f"{emoji} {text}")]
    blocks.append(
        {
            "type": "actions",
            "elements": [
                _button("Post update", UPDATE_ACTION, incident_value(inc), style="primary")
            ],
        }
    )
    blocks.append(
        _context(["Snooze with `/incident remind 30`, or stop with `/incident remind off`."])
    )
    return blocks


def _alert_group(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    firing = _int(data.get("firing"))
    resolved = _int(data.get("resolved"))
    title = escape_mrkdwn(str(data.get("title") or data.get("group_key") or "Alerts"), 1000)
    if firing:
        noun = "alert" if firing == 1 else "alerts"
        head = f":rotating_light: *{firing} {noun} firing*: {title}"
    else:
        head = f":white_check_mark: *All alerts resolved*: {title}"
    if resolved:
        head += f"\n{resolved} resolved so far."
    truncated = _int(data.get("truncated"))
    if truncated:
        head += (
            f"\n:warning: The sender left {truncated} more alert{'s' if truncated != 1 else ''}"
            " of this group out of its last notification (its max_alerts); see the source."
        )
    blocks: list[Block] = [_section(head)]
    meta = [
        f"Source: {escape_mrkdwn(str(data.get('source') or 'unknown'), 200)}",
        f"Severity: {escape_mrkdwn(str(data.get('severity') or 'unknown'), 200)}",
    ]
    links = _mapping(data.get("links"))
    ref = data.get("incident_ref")
    if ref:
        incident_url = links.get("incident")
        shown = escape_mrkdwn(str(ref), 100)
        meta.append("Tracked in " + (link(str(incident_url), str(ref)) if incident_url else shown))
    blocks.append(_context(meta))
    raw = data.get("sample")
    sample: list[Any] = raw if isinstance(raw, list) else []
    lines = [_alert_line(a) for a in sample[:_ALERT_SAMPLES_SHOWN] if isinstance(a, Mapping)]
    if len(sample) > _ALERT_SAMPLES_SHOWN:
        lines.append(f"…and {len(sample) - _ALERT_SAMPLES_SHOWN} more")
    if lines:
        blocks.append(_section(_join_limited(lines, SECTION_LIMIT)))
    other = [link(str(url), str(name)) for name, url in links.items() if name != "incident" and url]
    if other:
        blocks.append(_context([" · ".join(other[:MAX_CONTEXT_ELEMENTS])]))
    group = str(data.get("group_ref") or "")
    if not group and data.get("group_key"):
        group = f"{data.get('source', '')}|{data['group_key']}"
    if not ref and group and len(group) <= BUTTON_VALUE_LIMIT:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _button("Declare incident", DECLARE_FROM_ALERT_ACTION, group, style="danger")
                ],
            }
        )
    return blocks


def _digest(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    incidents = snapshots_of(data.get("incidents"))
    title = "Open incidents" if data.get("open_only", True) else "Recent incidents"
    blocks: list[Block] = [_header(f":newspaper: {title}")]
    generated = slack_date(data.get("generated_at"))
    if generated:
        blocks.append(_context([f"As of {generated}"]))
    if not incidents:
        blocks.append(_section("Nothing open. :tada:"))
        return blocks
    for inc in incidents[:_DIGEST_SHOWN]:
        blocks.append(_section(_incident_line(inc)))
    if len(incidents) > _DIGEST_SHOWN:
        blocks.append(_context([f"…and {len(incidents) - _DIGEST_SHOWN} more."]))
    return blocks


def _action_items_due(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    items = [i for i in data.get("items") or [] if isinstance(i, Mapping)]
    blocks: list[Block] = [_section(":spiral_note_pad: *Your action items past due*")]
    lines = []
    for item in items:
        due = slack_date(item.get("due"), "{date_short_pretty}")
        ref = escape_mrkdwn(str(item.get("incident_ref") or ""), 50)
        text = escape_mrkdwn(str(item.get("text") or ""), 500)
        lines.append(
            f"• *{ref}* #{_int(item.get('id'))}: {text}" + (f" (due {due})" if due else "")
        )
    blocks += _text_sections("\n".join(lines) or "Nothing overdue.", max_sections=40)
    blocks.append(_context(["Finished one? Run `/incident done &lt;number&gt;` in its channel."]))
    return blocks


def _postmortem_reminder(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    inc = _incident(data)
    text = escape_mrkdwn(message.text or _default_text("postmortem_reminder", data), 1500)
    who = data.get("mention") or inc.get("commander")
    if isinstance(who, str) and who:
        text = _address(text, who)
    title = escape_mrkdwn(str(inc.get("title", "")), 500)
    blocks: list[Block] = [
        _section(f":memo: *{escape_mrkdwn(_ref(inc))}: {title}*\n{text}"),
    ]
    notes = ["Blameless: what happened, why, and what will stop it happening again."]
    if inc.get("url"):
        notes.append(link(str(inc["url"]), "Incident page"))
    blocks.append(_context(notes))
    return blocks


def _similar_incidents(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    picks = [p for p in data.get("similar") or [] if isinstance(p, Mapping)]
    blocks: list[Block] = [_section(":mag_right: *Similar past incidents*")]
    for pick in picks[:_SIMILAR_SHOWN]:
        ref = str(pick.get("ref") or f"INC-{_int(pick.get('number'))}")
        title = str(pick.get("title") or "")
        url = str(pick.get("url") or "")
        head = link(url, f"{ref}: {title}") if url else escape_mrkdwn(f"{ref}: {title}", 300)
        status = _status(str(pick.get("status") or ""))
        resolved = slack_date(pick.get("resolved_at"), "{date_short_pretty}")
        lines = [f"*{head}*", f"{status}" + (f" {resolved}" if resolved else "")]
        cause = str(pick.get("root_cause") or "")
        fix = str(pick.get("fix") or "")
        lines.append("*Root cause:* " + (escape_mrkdwn(cause, 600) if cause else "_not recorded_"))
        lines.append("*Fix:* " + (escape_mrkdwn(fix, 600) if fix else "_not recorded_"))
        blocks.append(_section("\n".join(lines)))
        notes = []
        shared = [p for p in pick.get("shared") or [] if isinstance(p, list) and len(p) == 2]
        if shared:
            same = ", ".join(f"{k}={v}" for k, v in shared).replace("`", "'")
            notes.append(f"Same `{escape_mrkdwn(same, 300)}`")
        if pick.get("postmortem_url"):
            notes.append(link(str(pick["postmortem_url"]), "Postmortem"))
        if notes:
            blocks.append(_context(notes))
    return blocks


def _text_message(message: ChatMessage, data: Mapping[str, Any]) -> list[Block]:
    text = message.text if _trusted(message) else escape_mrkdwn(message.text or "")
    return _text_sections(text or " ")


_RENDERERS: dict[str, Callable[[ChatMessage, Mapping[str, Any]], list[Block]]] = {
    "incident_summary": _incident_summary,
    "broadcast": _broadcast,
    "status_update": _status_update,
    "notice": _notice,
    "reminder": _reminder,
    "alert_group": _alert_group,
    "digest": _digest,
    "action_items_due": _action_items_due,
    "postmortem_reminder": _postmortem_reminder,
    "similar_incidents": _similar_incidents,
    "public_preview": preview_blocks,
}


# -- pieces ------------------------------------------------------------------------------------


def _plain(text: str, limit: int = SECTION_LIMIT) -> Block:
    return {"type": "plain_text", "text": escape_plain(text, limit) or " ", "emoji": True}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, HEADER_LIMIT)}


def _section(mrkdwn: str) -> Block:
    """A section around text that is already safe mrkdwn."""
    return {"type": "section", "text": _md(mrkdwn, SECTION_LIMIT)}


def _md(mrkdwn: str, limit: int) -> Block:
    return {"type": "mrkdwn", "text": truncate_escaped(mrkdwn, limit) or " "}


def _fields(items: Sequence[str]) -> Block:
    return {"type": "section", "fields": [_md(i, FIELD_LIMIT) for i in items[:MAX_FIELDS]]}


def _context(items: Iterable[str]) -> Block:
    shown = [i for i in items if i][:MAX_CONTEXT_ELEMENTS]
    return {"type": "context", "elements": [_md(i, CONTEXT_LIMIT) for i in shown or [" "]]}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(text, BUTTON_TEXT_LIMIT),
        "action_id": action_id,
        "value": value[:BUTTON_VALUE_LIMIT],
    }
    if style:
        button["style"] = style
    return button


def _option(text: str, value: str) -> Block:
    return {"text": _plain(text, OPTION_TEXT_LIMIT), "value": value}


def _text_sections(mrkdwn: str, *, max_sections: int = 20) -> list[Block]:
    """Long safe mrkdwn split over several sections instead of being cut at 3000."""
    chunks = split_text(mrkdwn, SECTION_LIMIT)
    if len(chunks) > max_sections:
        chunks = chunks[:max_sections]
        chunks[-1] = truncate_escaped(chunks[-1] + " …", SECTION_LIMIT)
    return [_section(c) for c in chunks if c.strip()] or [_section(" ")]


def split_text(text: str, limit: int) -> list[str]:
    """Split safe mrkdwn into chunks of at most ``limit`` at line or word breaks."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        # Do not split our own markup (<@U1>, <url|label>) or an entity (&amp;).
        opened = window.rfind("<", 0, cut)
        if opened > window.rfind(">", 0, cut):
            cut = opened if opened > 0 else cut
        amp = window.rfind("&", max(0, cut - 6), cut)
        if amp != -1 and ";" not in window[amp:cut]:
            cut = amp if amp > 0 else cut
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        chunks.append(rest)
    return chunks


def _join_limited(lines: Sequence[str], limit: int) -> str:
    out: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit:
            out.append("…")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


# -- incident bits -----------------------------------------------------------------------------


def _incident(data: Mapping[str, Any]) -> IncidentSnapshot:
    return snapshot_of(data.get("incident"))


def _ref(inc: IncidentSnapshot) -> str:
    return str(inc.get("ref") or f"INC-{inc.get('number', '?')}")


def _is_open(inc: IncidentSnapshot) -> bool:
    if "is_open" in inc:
        return bool(inc["is_open"])
    return str(inc.get("status", "")) not in ("resolved", "closed")


def _person(user_id: object) -> str:
    return mention(str(user_id)) if user_id else "_unassigned_"


def _status(status: str) -> str:
    label = STATUS_LABELS.get(status) or escape_mrkdwn(status, 50) or "unknown"
    emoji = STATUS_EMOJI.get(status)
    return f"{emoji} {label}" if emoji else label


def _severity_emoji(inc: IncidentSnapshot) -> str:
    return _SEVERITY_EMOJI.get(_int(inc.get("severity_rank")), ":white_circle:")


def _severity(inc: IncidentSnapshot) -> str:
    name = escape_mrkdwn(str(inc.get("severity") or "?"), 50)
    return f"{_severity_emoji(inc)} {name}"


def _incident_links(inc: IncidentSnapshot, data: Mapping[str, Any], is_open: bool) -> list[str]:
    notes = []
    last = slack_date(inc.get("last_update_at"))
    notes.append(f"Last update {last}" if last else "No stakeholder update yet")
    due = slack_date(inc.get("next_update_due_at"))
    if is_open and due:
        notes.append(f"Next update due {due}")
    if inc.get("runbook_url"):
        notes.append(link(str(inc["runbook_url"]), "Runbook"))
    if inc.get("url"):
        notes.append(link(str(inc["url"]), "Incident page"))
    return notes


def _incident_line(inc: IncidentSnapshot) -> str:
    ref = escape_mrkdwn(_ref(inc), 50)
    status = _status(str(inc.get("status", "")))
    if inc.get("private"):
        # A digest may be read far from the incident's room: never show a private title.
        return f"{_severity(inc)} *{ref}* · {status} · :lock: private incident"
    title = escape_mrkdwn(str(inc.get("title", "")), 300)
    if inc.get("url"):
        title = link(str(inc["url"]), str(inc.get("title", "")))
    commander = _person(inc.get("commander"))
    return f"{_severity(inc)} *{ref}* · {status} · {title}\nCommander: {commander}"


def _room_link(data: Mapping[str, Any], inc: IncidentSnapshot) -> str:
    room = data.get("room") or inc.get("room")
    if isinstance(room, Mapping):
        by_id = channel_link(str(room.get("id") or ""))
        if by_id:
            return by_id
        if room.get("url"):
            return link(str(room["url"]), str(room.get("name") or "the incident channel"))
        return ""
    if isinstance(room, str):
        return channel_link(room)
    return ""


def _alert_line(alert: Mapping[str, Any]) -> str:
    title = escape_mrkdwn(str(alert.get("title") or "alert"), 300)
    labels = _mapping(alert.get("labels"))
    shown = ", ".join(f"{k}={v}" for k, v in list(labels.items())[:8])
    # Backticks inside labels would end the code span early.
    shown = escape_mrkdwn(shown.replace("`", "'"), 300)
    return f"• {title}" + (f"  `{shown}`" if shown else "")


def _address(text: str, user_id: str) -> str:
    """Turn the raw id the core wrote into a mention, or lead with it when absent."""
    ping = mention(user_id)
    if not ping.startswith("<@"):
        return text
    # The id was validated ([UW][A-Z0-9]+), so it cannot smuggle markup in.
    bare = re.compile(rf"(?<![A-Za-z0-9]){re.escape(user_id)}(?![A-Za-z0-9])")
    if bare.search(text):
        return bare.sub(ping, text)
    return f"{ping} {text}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _trusted(message: ChatMessage) -> bool:
    """Replies whose text sitrep wrote itself (``ours``) may carry mrkdwn and mentions."""
    return message.kind == "reply" and bool(message.data.get("ours"))


def _default_text(kind: str, data: Mapping[str, Any]) -> str:
    inc = _incident(data)
    if inc:
        return f"{_ref(inc)}: {inc.get('title', '')}"
    if kind == "alert_group":
        return f"{_int(data.get('firing'))} alerts firing: {data.get('title', '')}"
    if kind == "digest":
        return "Open incidents"
    if kind == "action_items_due":
        return "Your action items past due"
    if kind == "similar_incidents":
        return "Similar past incidents"
    return "sitrep"


def _finish(blocks: list[Block], text: str) -> list[Block]:
    """At most 50 blocks; the last slot says what was left out."""
    if not blocks:
        return [_section(text or " ")]
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    kept.append(_context([f"…{len(blocks) - len(kept)} more not shown."]))
    return kept


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0
