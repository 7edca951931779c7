"""Adaptive Cards for Teams: pure functions from neutral ``ChatMessage`` data to card JSON.

Escaping rule: text someone else wrote (titles, summaries, updates, alert text, display
names) only ever goes into ``TextRun`` elements, which Adaptive Cards never parse as markdown,
and ``<at>`` tags in it are broken so Teams cannot turn them into mentions. Our own markdown
lives in ``TextBlock`` elements built from values we control.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.model import Status
from bot.domain.snapshot import IncidentSnapshot, snapshot_of, snapshots_of
from bot.people import name_ids, people_in
from bot.ports import ChatMessage

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# Teams desktop and mobile both render 1.5; Action.Execute needs 1.4+.
VERSION = "1.5"

VERB_DECLARE = "sitrep.declare"
VERB_ACK = "sitrep.ack"
VERB_STATUS = "sitrep.status"
VERB_UPDATE = "sitrep.update"
VERB_RESOLVE = "sitrep.resolve"
# "Declare incident" on an alerts-channel card; its data names the group (``source|group_key``).
VERB_DECLARE_ALERTS = "sitrep.declare_alerts"
VERBS = frozenset(
    {VERB_DECLARE, VERB_ACK, VERB_STATUS, VERB_UPDATE, VERB_RESOLVE, VERB_DECLARE_ALERTS}
)

MAX_TEXT = 3000
# Longest ``source|group_key`` a "Declare incident" button carries (as Slack's button limit).
GROUP_VALUE_LIMIT = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AT_TAG = re.compile(r"<(/?)(at\b)", re.IGNORECASE)
_NAME_UNSAFE = re.compile(r"[<>\[\]()*_`~#|\\]")
# Teams user ids: Bot Framework ids ("29:…"), org ids, or Entra object ids.
_TEAMS_USER = re.compile(
    r"^(29:[\w\-.]+|8:orgid:[0-9a-f\-]{36}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
    r"[0-9a-f]{12})$",
    re.IGNORECASE,
)
_SEVERITY_STYLE = {1: "attention", 2: "warning"}


@dataclass(frozen=True, slots=True)
class RenderedCard:
    """A card plus the plain-text summary Teams shows in notifications and feeds."""

    summary: str
    card: dict[str, Any]
    mentions: list[dict[str, Any]] = field(default_factory=list)

    def attachment(self) -> dict[str, Any]:
        """The Bot Framework attachment wrapping this card."""
        return {"contentType": CONTENT_TYPE, "content": self.card}


# -- escaping ---------------------------------------------------------------------------------


def plain(text: str, limit: int = MAX_TEXT) -> str:
    """Someone else's text made safe for a ``TextRun``: no control characters, no ``<at>``."""
    text = _CONTROL.sub("", text or "")
    # A word joiner after "<" keeps the text readable but stops Teams matching a mention tag.
    text = _AT_TAG.sub("<\u2060\\1\\2", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


_CODE = re.compile(r"`([^`\n]+)`")


def teams_markdown(text: str) -> str:
    """Our Slack-flavoured help as Adaptive Card markdown, which has bold but no `code`."""
    return _CODE.sub(r"**\1**", text)


def safe_name(name: str) -> str:
    """A display name we are about to place inside our own markdown (mentions, labels)."""
    cleaned = _NAME_UNSAFE.sub("", _CONTROL.sub("", name or "")).strip()
    return cleaned[:80] or "someone"


def with_names(text: str, names: Mapping[str, str]) -> str:
    """``text`` with every user id in ``names`` replaced by that person's display name.

    The core writes ids into its texts ("Commander is now 29:1a…", "(by 29:1a…)"); Slack
    turns ``<@U…>`` into names itself, Teams shows ids as they are.
    """
    return name_ids(text, {user: safe_name(name) for user, name in names.items()})


def is_teams_user(user_id: str | None) -> bool:
    """True for ids Teams can mention; Slack ids on mirrored incidents are shown as text."""
    return bool(user_id) and _TEAMS_USER.match(user_id or "") is not None


# -- building blocks --------------------------------------------------------------------------


def _card(
    body: list[dict[str, Any]],
    actions: Sequence[dict[str, Any]] = (),
    mentions: Sequence[dict[str, Any]] = (),
    fallback: str = "",
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = list(actions)
    if mentions:
        card["msteams"]["entities"] = list(mentions)
    if fallback:
        card["fallbackText"] = plain(fallback, 500)
    return card


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": plain(text), **style}


def _rich(*runs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **extra}


def _ours(text: str, **extra: Any) -> dict[str, Any]:
    """A TextBlock whose markdown is ours (never pass user text here)."""
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|`([^`\n]+)`")


def _lines(text: str, *, formatted: bool = False, **first: Any) -> list[dict[str, Any]]:
    """One RichTextBlock per line, so lines never run together and nothing is read as HTML.

    TextRuns are literal: a ``<title>`` placeholder shows as typed (in a markdown TextBlock
    Teams takes it for a tag and drops it). ``formatted`` is for our own text only: its
    ``**bold**`` and `` `code` `` spans become bold runs. A blank line becomes a wider gap.
    ``first`` goes onto the first block (e.g. ``separator=True``).
    """
    blocks: list[dict[str, Any]] = []
    gap = False
    for line in (text or "").splitlines():
        if not line.strip():
            gap = bool(blocks)
            continue
        runs: list[dict[str, Any]] = []
        pos = 0
        for match in _EMPHASIS.finditer(line) if formatted else ():
            if match.start() > pos:
                runs.append(_run(line[pos : match.start()]))
            runs.append(_run(match.group(1) or match.group(2), weight="Bolder"))
            pos = match.end()
        if pos < len(line):
            runs.append(_run(line[pos:]))
        extra: dict[str, Any] = dict(first) if not blocks else {}
        if blocks:
            extra["spacing"] = "Medium" if gap else "None"
        blocks.append(_rich(*runs, **extra))
        gap = False
    return blocks or [_rich(_run(""), **first)]


def _fact(label: str, value: str, spacing: str = "Small") -> dict[str, Any]:
    return _rich(_run(f"{label}: ", weight="Bolder"), _run(value), spacing=spacing)


def _when(value: str | None) -> str:
    """An Adaptive Card date/time function, so each viewer sees their own time zone."""
    if not value:
        return ""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


class _People:
    """Turns user ids into mentions (Teams ids) or plain names, collecting mention entities."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        self.entities: list[dict[str, Any]] = []

    def name(self, user_id: str | None) -> str:
        if not user_id:
            return "unassigned"
        return self.names.get(user_id) or user_id

    def mention(self, user_id: str | None, label: str | None = None) -> str:
        """``<at>Name</at>`` markdown for a TextBlock, plus its entity; plain text otherwise."""
        if not user_id or not is_teams_user(user_id):
            return safe_name(self.name(user_id))
        shown = safe_name(label or self.names.get(user_id) or "responder")
        text = f"<at>{shown}</at>"
        if not any(e["mentioned"]["id"] == user_id for e in self.entities):
            self.entities.append(
                {"type": "mention", "text": text, "mentioned": {"id": user_id, "name": shown}}
            )
        return text


def _header(incident: IncidentSnapshot, prefix: str = "") -> dict[str, Any]:
    ref = str(incident.get("ref", ""))
    title = str(incident.get("title", ""))
    return _rich(
        _run(f"{prefix}{ref} · ", size="Large", weight="Bolder"),
        _run(title, size="Large", weight="Bolder"),
    )


def _status_line(incident: IncidentSnapshot) -> dict[str, Any]:
    sev = str(incident.get("severity", ""))
    status = str(incident.get("status", ""))
    flags = " · private" if incident.get("private") else ""
    return _rich(
        _run(sev, weight="Bolder", color=_color(incident)),
        _run(f" · {status}{flags}"),
        spacing="None",
    )


def _color(incident: IncidentSnapshot) -> str:
    if not incident.get("is_open", True):
        return "Good"
    rank = int(incident.get("severity_rank") or 99)
    return "Attention" if rank == 1 else "Warning" if rank == 2 else "Accent"


def _style(incident: IncidentSnapshot) -> str:
    if not incident.get("is_open", True):
        return "good"
    return _SEVERITY_STYLE.get(int(incident.get("severity_rank") or 99), "emphasis")


def _open_url(incident: IncidentSnapshot) -> list[dict[str, Any]]:
    url = str(incident.get("url") or "")
    if not url.startswith(("https://", "http://")):
        return []
    return [{"type": "Action.OpenUrl", "title": "Open incident page", "url": url}]


def _execute(title: str, verb: str, incident: IncidentSnapshot, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": {"incident": incident.get("number"), **extra},
    }


def _update_form(
    incident: IncidentSnapshot, title: str = "Post update", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "Action.ShowCard",
        "title": title,
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.Text",
                    "id": "text",
                    "label": "Stakeholder update",
                    "isMultiline": True,
                    "isRequired": True,
                    "maxLength": 4000,
                    "errorMessage": "Write the update first.",
                }
            ],
            "actions": [_execute("Post", VERB_UPDATE, incident, **extra)],
        },
    }


def _status_form(incident: IncidentSnapshot, **extra: Any) -> dict[str, Any]:
    current = str(incident.get("status", ""))
    choices = [
        {"title": s.value.capitalize(), "value": s.value}
        for s in Status
        if s.value != current and s is not Status.CLOSED
    ]
    return {
        "type": "Action.ShowCard",
        "title": "Change status",
        "card": {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "Input.ChoiceSet",
                    "id": "status",
                    "label": "New status",
                    "choices": choices,
                    "isRequired": True,
                    "errorMessage": "Pick a status.",
                },
                {"type": "Input.Text", "id": "text", "label": "Note (optional)", "maxLength": 4000},
            ],
            "actions": [_execute("Change", VERB_STATUS, incident, **extra)],
        },
    }


# -- cards ------------------------------------------------------------------------------------


def incident_summary(
    incident: IncidentSnapshot, names: Mapping[str, str] | None = None
) -> RenderedCard:
    """The room's summary card, with the responder actions; updated in place on each change."""
    people = _People(names or {})
    body: list[dict[str, Any]] = [
        {
            "type": "Container",
            "style": _style(incident),
            "bleed": True,
            "items": [_header(incident), _status_line(incident)],
        }
    ]
    if incident.get("severity_description"):
        body.append(_rich(_run(str(incident["severity_description"]), isSubtle=True, size="Small")))
    body.append(_ours(f"**Commander:** {people.mention(incident.get('commander'))}"))
    if incident.get("comms_lead"):
        body.append(
            _ours(f"**Comms lead:** {people.mention(incident.get('comms_lead'))}", spacing="None")
        )
    if incident.get("summary"):
        body.append(_fact("Summary", str(incident["summary"])))
    if incident.get("impact"):
        body.append(_fact("Impact", str(incident["impact"])))
    times = [f"Declared {_when(incident.get('declared_at'))}"]
    if incident.get("acknowledged_at"):
        times.append(f"acknowledged {_when(incident.get('acknowledged_at'))}")
    if incident.get("resolved_at"):
        times.append(f"resolved {_when(incident.get('resolved_at'))}")
    body.append(_ours(" · ".join(times), isSubtle=True, size="Small"))
    if incident.get("is_open") and incident.get("next_update_due_at"):
        body.append(
            _ours(
                f"Next stakeholder update due {_when(incident['next_update_due_at'])}",
                isSubtle=True,
                size="Small",
                spacing="None",
            )
        )
    actions: list[dict[str, Any]] = []
    if incident.get("is_open", True):
        # "card" tells the invoke handler to answer with this card, refreshed.
        if not incident.get("acknowledged_at"):
            actions.append(_execute("Acknowledge", VERB_ACK, incident, card="summary"))
        actions.append(_status_form(incident, card="summary"))
        actions.append(_update_form(incident, card="summary"))
        actions.append(_execute("Resolve", VERB_RESOLVE, incident, card="summary"))
    actions.extend(_open_url(incident))
    summary = _summary_text(incident)
    return RenderedCard(summary, _card(body, actions, people.entities, summary), people.entities)


def broadcast(
    incident: IncidentSnapshot,
    names: Mapping[str, str] | None = None,
    *,
    update_overdue: bool = False,
) -> RenderedCard:
    """The one stakeholder card per incident in the broadcast channel; its thread holds updates."""
    people = _People(names or {})
    body: list[dict[str, Any]] = [
        {
            "type": "Container",
            "style": _style(incident),
            "bleed": True,
            "items": [_header(incident), _status_line(incident)],
        },
        _rich(_run("Commander: ", weight="Bolder"), _run(people.name(incident.get("commander")))),
    ]
    if incident.get("summary"):
        body.append(_fact("Summary", str(incident["summary"])))
    if update_overdue:
        body.append(_ours("⚠️ **Update overdue**: the team has been reminded.", color="Warning"))
    if incident.get("last_update_at"):
        body.append(
            _ours(f"Last update {_when(incident['last_update_at'])}", isSubtle=True, size="Small")
        )
    body.append(
        _ours(
            f"Declared {_when(incident.get('declared_at'))}",
            isSubtle=True,
            size="Small",
            spacing="None",
        )
    )
    summary = _summary_text(incident)
    # No mentions in the broadcast channel: stakeholders read, they are not paged.
    return RenderedCard(summary, _card(body, _open_url(incident), (), summary))


def status_update(
    incident: IncidentSnapshot, update: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> RenderedCard:
    """A stakeholder update, posted in the room and under the broadcast card."""
    people = _People(names or {})
    body = [
        _rich(
            _run(f"Update on {incident.get('ref', '')} ", weight="Bolder"),
            _run(f"({incident.get('status', '')}, {incident.get('severity', '')})", isSubtle=True),
        ),
        _rich(_run(str(update.get("text", "")))),
        _rich(_run(f"— {people.name(update.get('author'))}", isSubtle=True, size="Small")),
    ]
    when = _when(update.get("at"))
    if when:
        body.append(_ours(when, isSubtle=True, size="Small", spacing="None"))
    summary = plain(f"Update on {incident.get('ref', '')}: {update.get('text', '')}", 200)
    return RenderedCard(summary, _card(body, (), (), summary))


def notice(text: str) -> RenderedCard:
    """A one-line notice (status changed by someone elsewhere, and the like)."""
    return RenderedCard(plain(text, 200), _card(_lines(text), (), (), text))


def resolve_ask(data: Mapping[str, Any], names: Mapping[str, str] | None = None) -> RenderedCard:
    """Every alert of an open incident resolved: ask its commander whether it is over.

    The core's text names Slack's ``/incident resolve``; Teams gets a mention and a button.
    """
    people = _People(names or {})
    incident = snapshot_of(data.get("incident"))
    ref = safe_name(str(incident.get("ref", "")))
    who = people.mention(data.get("mention")) if data.get("mention") else "Commander"
    body: list[dict[str, Any]] = [
        _header(incident, "✅ "),
        _ours(f"All alerts of {ref} have resolved. {who}, is the incident over?"),
    ]
    actions: list[dict[str, Any]] = []
    if incident.get("is_open", True):
        body.append(
            _ours(
                "Press **Resolve** when it is, or mention sitrep with **resolve** in this thread.",
                isSubtle=True,
                size="Small",
            )
        )
        actions.append(_execute("Resolve", VERB_RESOLVE, incident))
    actions.extend(_open_url(incident))
    summary = plain(f"All alerts of {ref} have resolved: is the incident over?", 200)
    return RenderedCard(summary, _card(body, actions, people.entities, summary), people.entities)


def reminder(
    data: Mapping[str, Any], text: str = "", names: Mapping[str, str] | None = None
) -> RenderedCard:
    """A status-update reminder that pages the commander (or comms lead); escalates if overdue."""
    people = _People(names or {})
    incident = snapshot_of(data.get("incident"))
    ref = str(incident.get("ref", ""))
    who = people.mention(data.get("mention"))
    state = "is **overdue**" if data.get("overdue") else "is due"
    body: list[dict[str, Any]] = [
        _header(incident, "⏰ "),
        _ours(f"{who}, the stakeholder update for {safe_name(ref)} {state}."),
    ]
    if text:
        body.append(_rich(_run(text, isSubtle=True)))
    if data.get("overdue") and data.get("escalate_to"):
        body.append(_ours(f"Escalating to {people.mention(data.get('escalate_to'))}."))
    actions = [_update_form(incident)] if incident else []
    summary = plain(f"Update due for {ref}", 200)
    return RenderedCard(summary, _card(body, actions, people.entities, summary), people.entities)


def alert_group(data: Mapping[str, Any], text: str) -> RenderedCard:
    """A group of alerts that fired together (alert text is untrusted)."""
    body: list[dict[str, Any]] = [_rich(_run(text or "Alerts", weight="Bolder"))]
    facts = [(k, data.get(k)) for k in ("source", "status", "severity", "group_key")]
    for label, value in facts:
        if value:
            body.append(_fact(label.replace("_", " ").capitalize(), str(value), "None"))
    truncated = data.get("truncated")
    if isinstance(truncated, int) and truncated > 0:
        body.append(_fact("Left out by the sender", str(truncated), "None"))
    for alert in _records(data.get("alerts"))[:10]:
        title = str(alert.get("title") or alert.get("name") or "alert")
        status = str(alert.get("status") or "")
        body.append(_rich(_run(f"• {title}"), _run(f"  {status}", isSubtle=True), spacing="None"))
    incident = data.get("incident")
    actions = _open_url(snapshot_of(incident)) if isinstance(incident, Mapping) else []
    group = _group_value(data)
    if group and incident is None and not data.get("incident_ref"):
        # Only a group no incident tracks yet can be declared; the card is re-rendered
        # (without the button) once one does.
        actions.append(
            {
                "type": "Action.Execute",
                "title": "Declare incident",
                "verb": VERB_DECLARE_ALERTS,
                "style": "destructive",
                "data": {"group": group},
            }
        )
    return RenderedCard(plain(text, 200), _card(body, actions, (), text))


def _group_value(data: Mapping[str, Any]) -> str:
    """``source|group_key`` for the Declare button, or "" when unknown or too long to carry."""
    group = str(data.get("group_ref") or "")
    if not group and data.get("source") and data.get("group_key"):
        group = f"{data['source']}|{data['group_key']}"
    return group if len(group) <= GROUP_VALUE_LIMIT else ""


def digest(data: Mapping[str, Any], text: str) -> RenderedCard:
    """Open incidents at a glance, most severe first."""
    incidents = snapshots_of(data.get("incidents"))
    body: list[dict[str, Any]] = [_ours("**Open incidents**", size="Medium")]
    if not incidents:
        body.append(_ours("Nothing open. 🎉"))
    for inc in incidents[:25]:
        body.append(
            _rich(
                _run(f"{inc.get('ref', '')} ", weight="Bolder", color=_color(inc)),
                _run(str(inc.get("title", ""))),
                _run(f"  {inc.get('severity', '')} · {inc.get('status', '')}", isSubtle=True),
                spacing="Small",
            )
        )
    if len(incidents) > 25:
        body.append(_ours(f"…and {len(incidents) - 25} more.", isSubtle=True))
    hidden = data.get("private_hidden")
    if isinstance(hidden, int) and hidden > 0:
        body.append(_ours(f"{hidden} private incident(s) not shown.", isSubtle=True))
    return RenderedCard(plain(text or "Open incidents", 200), _card(body, (), (), text))


def action_items_due(
    data: Mapping[str, Any], text: str, names: Mapping[str, str] | None = None
) -> RenderedCard:
    """A person's overdue action items."""
    body: list[dict[str, Any]] = [_ours("**Your action items past due**", size="Medium")]
    for item in _records(data.get("items"))[:25]:
        ref = str(item.get("incident_ref") or "")
        due = _when(item.get("due"))
        body.append(
            _rich(
                _run(f"{ref} #{item.get('id', '')} ", weight="Bolder"),
                _run(str(item.get("text", ""))),
                spacing="Small",
            )
        )
        if due:
            body.append(_ours(f"due {due}", isSubtle=True, size="Small", spacing="None"))
    return RenderedCard(plain(text or "Action items past due", 200), _card(body, (), (), text))


def postmortem_reminder(
    data: Mapping[str, Any], text: str, names: Mapping[str, str] | None = None
) -> RenderedCard:
    """A nudge to write the postmortem of a resolved incident, mentioning its commander."""
    people = _People(names or {})
    incident = snapshot_of(data.get("incident"))
    body = [_header(incident, "📝 ")]
    if data.get("mention"):
        body.append(_ours(f"{people.mention(data.get('mention'))}:"))
    body.append(_rich(_run(text or "The postmortem is due.")))
    summary = plain(text or "Postmortem due", 200)
    return RenderedCard(
        summary, _card(body, _open_url(incident), people.entities, summary), people.entities
    )


def similar_incidents(data: Mapping[str, Any], text: str) -> RenderedCard:
    """Resolved incidents like this one: root cause, fix, and a button to each postmortem."""
    body: list[dict[str, Any]] = [_ours("**Similar past incidents**", size="Medium")]
    actions: list[dict[str, Any]] = []
    for pick in _records(data.get("similar"))[:10]:
        ref = str(pick.get("ref") or f"INC-{pick.get('number', '?')}")
        resolved = _when(pick.get("resolved_at"))
        body.append(
            _rich(
                _run(f"{ref} · ", weight="Bolder"),
                _run(str(pick.get("title") or ""), weight="Bolder"),
                separator=True,
                spacing="Medium",
            )
        )
        body.append(_ours(f"{pick.get('status', '')} {resolved}".strip(), isSubtle=True))
        body.append(_fact("Root cause", str(pick.get("root_cause") or "not recorded")))
        body.append(_fact("Fix", str(pick.get("fix") or "not recorded")))
        shared = [p for p in pick.get("shared") or [] if isinstance(p, list) and len(p) == 2]
        if shared:
            same = ", ".join(f"{k}={v}" for k, v in shared)
            body.append(_rich(_run(f"Same {same}", isSubtle=True, size="Small"), spacing="None"))
        url = str(pick.get("postmortem_url") or pick.get("url") or "")
        if url.startswith(("https://", "http://")) and len(actions) < 5:
            actions.append({"type": "Action.OpenUrl", "title": f"{ref} postmortem", "url": url})
    summary = plain(text or "Similar past incidents", 200)
    return RenderedCard(summary, _card(body, actions, (), summary))


def text_card(text: str) -> RenderedCard:
    """Any message kind we have no renderer for: its plain text, safely."""
    return RenderedCard(plain(text, 200), _card(_lines(text), (), (), text))


def reply(text: str, *, ours: bool = False, help_text: str = "") -> RenderedCard:
    """A reply to whoever typed a command.

    ``ours`` marks ``text`` as our own (help: ``**bold**`` and `` `code` `` are honoured);
    ``help_text`` (also ours) follows a reply that quotes the user, e.g. an unknown command.
    Every line is a block of its own and nothing is read as HTML (see ``_lines``).
    """
    body = _lines(text, formatted=ours)
    if help_text:
        body += _lines(help_text, formatted=True, separator=True, spacing="Medium")
    return RenderedCard(plain(text, 200), _card(body, (), (), text))


def declare_form(
    severities: Iterable[tuple[str, str]], default: str, title: str = ""
) -> RenderedCard:
    """The declare form: title, severity, summary, private; submits ``sitrep.declare``."""
    choices = [
        {"title": f"{name} — {desc}" if desc else name, "value": name} for name, desc in severities
    ]
    body: list[dict[str, Any]] = [
        _ours("**Declare an incident**", size="Medium"),
        {
            "type": "Input.Text",
            "id": "title",
            "label": "Title",
            "isRequired": True,
            "maxLength": 200,
            "value": plain(title, 200),
            "errorMessage": "A title is required.",
        },
        {
            "type": "Input.ChoiceSet",
            "id": "severity",
            "label": "Severity",
            "choices": choices,
            "value": default,
            "isRequired": True,
        },
        {
            "type": "Input.Text",
            "id": "summary",
            "label": "What is happening?",
            "isMultiline": True,
            "maxLength": 4000,
        },
        {
            "type": "Input.Toggle",
            "id": "private",
            "title": "Private (group chat, no broadcast)",
            "valueOn": "true",
            "valueOff": "false",
            "value": "false",
        },
    ]
    actions = [{"type": "Action.Execute", "title": "Declare", "verb": VERB_DECLARE, "data": {}}]
    return RenderedCard("Declare an incident", _card(body, actions, (), "Declare an incident"))


def update_prompt(incident: IncidentSnapshot) -> RenderedCard:
    """The stakeholder-update form on its own (``update`` with no text)."""
    body = [_header(incident), _ours("Write the stakeholder update:", isSubtle=True)]
    summary = plain(f"Post an update for {incident.get('ref', '')}", 200)
    return RenderedCard(summary, _card(body, [_update_form(incident)], (), summary))


def room_root(number: int, title: str, kind: str) -> RenderedCard:
    """The first post of an incident thread: what it is and that it is the room."""
    body = [
        _rich(
            _run(f"🚨 INC-{number} · ", size="Large", weight="Bolder"),
            _run(title, size="Large", weight="Bolder"),
        ),
        _ours(
            "Incident room: work the incident in this thread. Mention sitrep with "
            "**status**, **update**, **note**, **resolve**… (**help** lists them).",
            isSubtle=True,
        ),
    ]
    summary = plain(f"INC-{number}: {title}", 200)
    return RenderedCard(summary, _card(body, (), (), summary))


def paging(user_ids: Sequence[str], names: Mapping[str, str]) -> RenderedCard:
    """Mentions that pull people into a thread (Teams has no "add to thread")."""
    people = _People(names)
    who = ", ".join(people.mention(u) for u in user_ids)
    return RenderedCard(
        "You are needed on this incident",
        _card(
            [_ours(f"Paging {who}: you are on this incident.")],
            (),
            people.entities,
            "You are needed on this incident",
        ),
        people.entities,
    )


def link(title: str, url: str) -> RenderedCard:
    """A bookmark, as a card with an Open button (url checked to be http(s) by the caller)."""
    body = [_rich(_run("🔖 "), _run(title, weight="Bolder"))]
    actions = [{"type": "Action.OpenUrl", "title": "Open", "url": url}]
    return RenderedCard(plain(title, 200), _card(body, actions, (), title))


def declared(incident: IncidentSnapshot) -> RenderedCard:
    """What the declare form turns into once submitted."""
    body = [
        _header(incident, "🚨 "),
        _status_line(incident),
        _ours("Declared. The incident room is being set up.", isSubtle=True),
    ]
    summary = _summary_text(incident)
    return RenderedCard(summary, _card(body, _open_url(incident), (), summary))


def render(message: ChatMessage, names: Mapping[str, str] | None = None) -> RenderedCard:
    """Pick the card for a message kind; unknown kinds become a text card."""
    data = message.data or {}
    incident = data.get("incident") if isinstance(data.get("incident"), Mapping) else None
    kind = message.kind
    if kind == "incident_summary" and incident is not None:
        return incident_summary(incident, names)
    if kind == "broadcast" and incident is not None:
        return broadcast(incident, names, update_overdue=bool(data.get("update_overdue")))
    if kind == "status_update" and incident is not None:
        return status_update(incident, data.get("update") or {}, names)
    if kind == "notice":
        if data.get("ask") == "resolve" and incident is not None:
            return resolve_ask(data, names)
        return notice(message.text)
    if kind == "reminder" and incident is not None:
        return reminder(data, message.text, names)
    if kind == "alert_group":
        return alert_group(data, message.text)
    if kind == "digest":
        return digest(data, message.text)
    if kind == "action_items_due":
        return action_items_due(data, message.text, names)
    if kind == "postmortem_reminder":
        return postmortem_reminder(data, message.text, names)
    if kind == "similar_incidents":
        return similar_incidents(data, message.text)
    return text_card(message.text)


def user_ids(message: ChatMessage) -> set[str]:
    """Every user id a message may show, so the caller can look their names up first."""
    return people_in(message)


def _records(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def _summary_text(incident: IncidentSnapshot) -> str:
    return plain(
        f"{incident.get('ref', '')}: {incident.get('title', '')} "
        f"({incident.get('severity', '')}, {incident.get('status', '')})",
        200,
    )
