"""The chat command grammar, shared by Slack (``/incident …``) and Teams (``@sitrep …``).

``parse`` turns what someone typed after the command or mention into one of the frozen
dataclasses below; handlers map those onto core commands. Nothing here knows a platform: a
person is a Slack mention (``<@U123>`` or ``<@U123|name>``, reduced to the id) or any other
token (a Teams id, a name), kept as typed. Free text (titles, updates, notes) is kept verbatim;
renderers escape it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.labels import LabelMatcher, matcher_token
from bot.domain.limits import MAX_MAINTENANCE, is_number, parse_duration, parse_id
from bot.domain.model import Role, Status
from bot.publish.refs import TARGETS as PUBLISH_TARGETS

# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenDeclareForm:
    """Nothing typed (or a bare ``declare``): show the declare form."""


@dataclass(frozen=True, slots=True)
class Declare:
    """Declare a new incident."""

    title: str
    severity: str | None = None
    private: bool = False
    service: str = ""


@dataclass(frozen=True, slots=True)
class SetStatus:
    """Move the incident to another status."""

    status: Status


@dataclass(frozen=True, slots=True)
class SetSeverity:
    """Change the severity (as typed, e.g. ``SEV2``; the policy resolves it)."""

    severity: str


@dataclass(frozen=True, slots=True)
class AssignRole:
    """Give someone a role; ``user`` is a platform user id or the token as typed."""

    role: Role
    user: str


@dataclass(frozen=True, slots=True)
class Update:
    """Post a stakeholder update."""

    text: str


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """Preview a stakeholder update for the public status page (published once confirmed)."""

    text: str


@dataclass(frozen=True, slots=True)
class OpenUpdateForm:
    """A bare ``update``: show the update form."""


@dataclass(frozen=True, slots=True)
class Note:
    """Add a note to the timeline."""

    text: str


@dataclass(frozen=True, slots=True)
class Action:
    """Record an action item."""

    text: str
    owner: str | None = None
    due: date | None = None


@dataclass(frozen=True, slots=True)
class ActionDone:
    """Mark an action item done."""

    item_id: int


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """Acknowledge the incident."""


@dataclass(frozen=True, slots=True)
class Resolve:
    """Resolve the incident, optionally saying how."""

    summary: str = ""


@dataclass(frozen=True, slots=True)
class Close:
    """Close a resolved incident."""


@dataclass(frozen=True, slots=True)
class Reopen:
    """Reopen a resolved or closed incident."""


@dataclass(frozen=True, slots=True)
class ShowTimeline:
    """Show the timeline."""


@dataclass(frozen=True, slots=True)
class ShowSummary:
    """Show where the incident stands."""


@dataclass(frozen=True, slots=True)
class ListIncidents:
    """List incidents (open ones unless ``list all``)."""

    open_only: bool = True


@dataclass(frozen=True, slots=True)
class Search:
    """Search past and present incidents for words, "a phrase" or a prefix*."""

    text: str


@dataclass(frozen=True, slots=True)
class Remind:
    """Snooze update reminders for ``minutes``."""

    minutes: int


@dataclass(frozen=True, slots=True)
class RemindOff:
    """Turn update reminders off."""


@dataclass(frozen=True, slots=True)
class RemindOn:
    """Turn update reminders back on."""


@dataclass(frozen=True, slots=True)
class Maintenance:
    """Open a maintenance window silencing matching alerts."""

    duration: timedelta
    matchers: tuple[LabelMatcher, ...]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """Page on-call through a configured PagerDuty service or Opsgenie team/schedule."""

    target: str


@dataclass(frozen=True, slots=True)
class Ticket:
    """Open a ticket (Jira issue, ServiceNow incident) for the incident; ``service`` or all."""

    service: str | None = None


@dataclass(frozen=True, slots=True)
class Publish:
    """Publish the postmortem to ``service`` (``confluence``, ``notion``), or update its page."""

    service: str


@dataclass(frozen=True, slots=True)
class Help:
    """Show the command list."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """Not a command we know; ``text`` is what was typed."""

    text: str


ParsedCommand = (
    OpenDeclareForm
    | Declare
    | PublicUpdate
    | SetStatus
    | SetSeverity
    | AssignRole
    | Update
    | OpenUpdateForm
    | Note
    | Action
    | ActionDone
    | Acknowledge
    | Resolve
    | Close
    | Reopen
    | ShowTimeline
    | ShowSummary
    | ListIncidents
    | Search
    | Remind
    | RemindOff
    | RemindOn
    | Maintenance
    | Page
    | Ticket
    | Publish
    | Help
    | Unknown
)


class GrammarError(ValueError):
    """A known verb used wrongly; ``usage`` is the one-line syntax to show next to it."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


# The brief's older name for the same error.
ParseError = GrammarError

# -- usage and help --------------------------------------------------------------------------

_STATUS_WORDS = " | ".join(s.value for s in Status)

USAGE: dict[str, str] = {
    "declare": "declare <title> [sev1-4] [private] [service:<name>]",
    "status": f"status <{_STATUS_WORDS}>",
    "sev": "sev <1-4 | sev2>",
    "commander": "commander @person",
    "comms": "comms @person",
    "scribe": "scribe @person",
    "update": "update <what is known, what is being done, next update when>",
    "public-update": "public-update <text for the public status page>",
    "note": "note <text>",
    "action": "action <text> [@owner] [due YYYY-MM-DD]",
    "done": "done <action item number>",
    "ack": "ack",
    "resolve": "resolve [what fixed it]",
    "close": "close",
    "reopen": "reopen",
    "timeline": "timeline",
    "summary": "summary",
    "list": "list [all]",
    "search": 'search <words, "a phrase" or prefix*>',
    "remind": "remind <minutes> | remind off | remind on",
    "maintenance": "maintenance <30m|2h|1d> <label=value …> [reason]",
    "page": "page <service or schedule>",
    "ticket": "ticket [jira | servicenow]",
    "publish": f"publish <{' | '.join(PUBLISH_TARGETS)}>",
    "help": "help",
}

HELP_TEXT = "\n".join(
    [
        "sitrep commands: type them after /incident in Slack, or after mentioning sitrep in Teams.",
        "",
        "Start or find an incident:",
        "`declare <title> [sev1-4] [private]` · declare an incident and open its room"
        " (no title: a form); add `service:<name>` to name the affected service",
        "`list [all]` · open incidents (all: recently closed ones too)",
        '`search <words>` · find incidents by what was written ("a phrase", prefix*)',
        "",
        "In the incident's room:",
        "`ack` · tell everyone you are on it",
        f"`status <{_STATUS_WORDS}>` · move the incident along",
        "`sev <1-4>` · change the severity",
        "`commander @person` · `comms @person` · `scribe @person` · hand out roles",
        "`update <text>` · post a stakeholder update (no text: a form)",
        "`update --public <text>` · `public-update <text>` · also publish it to the status page"
        " (after you confirm a preview)",
        "`note <text>` · put something on the timeline",
        "`action <text> [@owner] [due YYYY-MM-DD]` · record follow-up work",
        "`done <number>` · mark an action item done",
        "`resolve [what fixed it]` · the impact is over",
        "`close` · `reopen` · finish for good, or start again",
        "`summary` · `timeline` · where things stand, and what happened when",
        "`remind <minutes>` · `remind off` · `remind on` · snooze or switch update reminders",
        "`page <service or schedule>` · page on-call through PagerDuty or Opsgenie",
        "`ticket [jira | servicenow]` · open a ticket for the incident in the team's tracker",
        f"`publish <{' | '.join(PUBLISH_TARGETS)}>` · publish the postmortem as a wiki page"
        " (again: updates that page)",
        "",
        "Alerts:",
        "`maintenance <2h> <label=value …> [reason]` · quiet matching alerts for a while",
        "",
        "`help` · this list",
    ]
)


def usage(verb: str) -> str:
    """The one-line syntax for ``verb`` (aliases too), or the help pointer."""
    key = _VERBS.get(verb.strip().lower().rstrip(":"), verb.strip().lower())
    return USAGE.get(key, "help")


# -- parsing ---------------------------------------------------------------------------------

_VERBS: dict[str, str] = {
    "declare": "declare",
    "new": "declare",
    "start": "declare",
    "status": "status",
    "sev": "sev",
    "severity": "sev",
    "commander": "commander",
    "lead": "commander",
    "ic": "commander",
    "comms": "comms",
    "comms-lead": "comms",
    "comms_lead": "comms",
    "scribe": "scribe",
    "update": "update",
    "public-update": "public-update",
    "note": "note",
    "action": "action",
    "todo": "action",
    "done": "done",
    "ack": "ack",
    "acknowledge": "ack",
    "resolve": "resolve",
    "close": "close",
    "reopen": "reopen",
    "timeline": "timeline",
    "summary": "summary",
    "show": "summary",
    "list": "list",
    "ls": "list",
    "search": "search",
    "find": "search",
    "remind": "remind",
    "reminders": "remind",
    "maintenance": "maintenance",
    "maint": "maintenance",
    "page": "page",
    "ticket": "ticket",
    "publish": "publish",
    "help": "help",
    "?": "help",
    "-h": "help",
    "--help": "help",
}
_ROLES = {"commander": Role.COMMANDER, "comms": Role.COMMS_LEAD, "scribe": Role.SCRIBE}

_PREFIX = re.compile(r"^/?incident(?=[\s:]|$)[\s:]*", re.IGNORECASE)
_SLACK_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_SEV_WORD = re.compile(r"^(?:sev|s|p)-?(\d{1,2})$", re.IGNORECASE)
_SERVICE = re.compile(r"^(?:--)?service[:=](?=\S)", re.IGNORECASE)
_SEV_FLAG = re.compile(r"^--?sev(?:erity)?(?:=(.+))?$", re.IGNORECASE)
_DUE_FLAG = frozenset({"due", "--due"})
# A token: runs of unquoted text and quoted strings ("a b", 'a b', with \" inside "").
_TOKEN = re.compile(r"""(?:[^\s"']+|"(?:\\.|[^"\\])*"|'[^']*')+""")
MAX_REMIND_MINUTES = 7 * 24 * 60


def parse(text: str) -> ParsedCommand:
    """Parse one command line; raises ``GrammarError`` for a known verb used wrongly."""
    line = _PREFIX.sub("", (text or "").strip(), count=1).strip()
    if not line:
        return OpenDeclareForm()
    # Any whitespace ends the verb; the rest keeps its own newlines (multi-line updates).
    head, *tail = re.split(r"\s", line, maxsplit=1)
    rest = tail[0].strip() if tail else ""
    word = head.lower().rstrip(":")
    verb = _VERBS.get(word)
    if verb is None:
        if _SEV_WORD.match(word):  # "sev2" on its own
            return SetSeverity(_severity_name(word))
        return Unknown(line)
    return _PARSERS[verb](verb, rest)


def _fail(verb: str, message: str) -> GrammarError:
    return GrammarError(message, USAGE.get(verb, "help"))


def _severity_name(token: str) -> str:
    """Spell a severity the way the policy reads it: ``SEV2``, ``P1``, or as typed."""
    found = _SEV_WORD.match(token)
    if found:
        prefix = "P" if token[:1].lower() == "p" else "SEV"
        return f"{prefix}{int(found.group(1))}"
    if is_number(token):
        # As text, not int(): a thousand-digit "severity" must not cost an int conversion.
        return f"SEV{token.lstrip('0') or '0'}"
    return token


def _user(token: str) -> str:
    """A Slack mention becomes its id; anything else is kept (minus a leading @)."""
    found = _SLACK_MENTION.match(token)
    if found:
        return found.group(1)
    return token[1:] if token.startswith("@") and len(token) > 1 else token


def _is_person(token: str) -> bool:
    return bool(_SLACK_MENTION.match(token)) or (token.startswith("@") and len(token) > 1)


def _declare(verb: str, rest: str) -> ParsedCommand:
    words = rest.split()
    if not words:
        return OpenDeclareForm()
    private = any(w.lower() == "--private" for w in words)
    words = [w for w in words if w.lower() != "--private"]
    # "service:payments" anywhere names the affected service (the last one wins).
    services = [w for w in words if _SERVICE.match(w)]
    words = [w for w in words if not _SERVICE.match(w)]
    service = _SERVICE.sub("", services[-1]) if services else ""
    severity: str | None = None
    # Flags trail the title ("DB down sev1 private") or a severity leads it ("sev1 DB down").
    # A bare "private" only counts at the end, so "Private API down" stays a title.
    while words:
        if words[-1].lower() == "private":
            private = True
            words.pop()
            continue
        found = _severity_suffix(words) if severity is None else None
        if found is None:
            break
        severity, taken = found
        del words[-taken:]
    if severity is None:
        found = _severity_prefix(words)
        if found is not None:
            severity, taken = found
            del words[:taken]
    title = " ".join(words)
    if not title:
        raise _fail(verb, "Give the incident a title, e.g. declare Checkout errors sev2")
    return Declare(title, severity, private, service)


def _severity_suffix(words: list[str]) -> tuple[str, int] | None:
    """A severity at the end of ``words`` and how many words it took."""
    last = words[-1]
    if _SEV_WORD.match(last):
        return _severity_name(last), 1
    flag = _SEV_FLAG.match(last)
    if flag and flag.group(1):
        return _severity_name(flag.group(1)), 1
    if len(words) >= 2:
        before = words[-2].lower()
        if before in ("sev", "severity") and is_number(last):
            return _severity_name(last), 2
        flag = _SEV_FLAG.match(before)
        if flag and not flag.group(1) and before.startswith("-"):
            return _severity_name(last), 2
    return None


def _severity_prefix(words: list[str]) -> tuple[str, int] | None:
    """A severity at the start of ``words`` and how many words it took."""
    if not words:
        return None
    first = words[0]
    if _SEV_WORD.match(first):
        return _severity_name(first), 1
    flag = _SEV_FLAG.match(first)
    if flag and flag.group(1):
        return _severity_name(flag.group(1)), 1
    if len(words) >= 2:
        if first.lower() in ("sev", "severity") and is_number(words[1]):
            return _severity_name(words[1]), 2
        if flag and first.startswith("-"):
            return _severity_name(words[1]), 2
    return None


def _status(verb: str, rest: str) -> ParsedCommand:
    allowed = ", ".join(s.value for s in Status)
    words = rest.split()
    if not words:
        raise _fail(verb, f"Which status? One of: {allowed}.")
    wanted = words[0].lower()
    # Prefixes are fine ("ident", "mon") as long as they name exactly one status.
    matches = [s for s in Status if s.value.startswith(wanted)]
    if len(matches) > 1 and len(words) == 1:
        options = " or ".join(s.value for s in matches)
        raise _fail(verb, f"{words[0]!r} could be {options}; type a little more.")
    if len(matches) != 1 or len(words) > 1:
        raise _fail(verb, f"Unknown status {rest!r}; allowed: {allowed}.")
    return SetStatus(matches[0])


def _sev(verb: str, rest: str) -> ParsedCommand:
    words = rest.split()
    if not words:
        raise _fail(verb, "Which severity? e.g. sev 2")
    if len(words) == 2 and words[0].lower() == "sev" and is_number(words[1]):
        return SetSeverity(_severity_name(words[1]))  # "severity sev 2"
    if len(words) > 1:
        raise _fail(verb, f"One severity please, not {rest!r}.")
    return SetSeverity(_severity_name(words[0]))


def _role(verb: str, rest: str) -> ParsedCommand:
    words = rest.split()
    if len(words) != 1:
        who = "Who?" if not words else "One person please."
        raise _fail(verb, f"{who} e.g. {USAGE[verb]}")
    return AssignRole(_ROLES[verb], _user(words[0]))


def _update(verb: str, rest: str) -> ParsedCommand:
    head, *tail = re.split(r"\s", rest, maxsplit=1) if rest else [""]
    if head.lower() == "--public":
        return _public_update("public-update", tail[0].strip() if tail else "")
    return Update(rest) if rest else OpenUpdateForm()


def _public_update(verb: str, rest: str) -> ParsedCommand:
    if not rest:
        raise _fail(verb, "What should the public status page say?")
    return PublicUpdate(rest)


def _note(verb: str, rest: str) -> ParsedCommand:
    if not rest:
        raise _fail(verb, "What should the note say?")
    return Note(rest)


def _action(verb: str, rest: str) -> ParsedCommand:
    words = rest.split()
    owner: str | None = None
    due: date | None = None
    # Owner and due date trail the text, in either order.
    while len(words) > 1:
        if due is None and len(words) >= 3 and words[-2].lower() in _DUE_FLAG:
            due = _due_date(verb, words[-1])
            del words[-2:]
            continue
        if owner is None and _is_person(words[-1]):
            owner = _user(words.pop())
            continue
        break
    text = " ".join(words)
    if not text:
        raise _fail(verb, "Describe the action item.")
    return Action(text, owner, due)


def _due_date(verb: str, token: str) -> date:
    try:
        return date.fromisoformat(token)
    except ValueError:
        raise _fail(verb, f"Due date {token!r} is not a date; write YYYY-MM-DD.") from None


def _done(verb: str, rest: str) -> ParsedCommand:
    words = rest.split()
    token = words[0].lstrip("#") if len(words) == 1 else ""
    try:
        return ActionDone(parse_id(token, "action item"))
    except InvalidCommand:
        raise _fail(verb, "Which action item? Give its number, e.g. done 3") from None
    except NotFound:
        raise _fail(verb, f"There is no action item #{token[:20]}.") from None


def _resolve(verb: str, rest: str) -> ParsedCommand:
    return Resolve(rest)


def _list(verb: str, rest: str) -> ParsedCommand:
    word = rest.lower()
    if word in ("", "open"):
        return ListIncidents(open_only=True)
    if word == "all":
        return ListIncidents(open_only=False)
    raise _fail(verb, f"List what? {rest!r} is not 'open' or 'all'.")


def _search(verb: str, rest: str) -> ParsedCommand:
    if not rest.strip():
        raise _fail(verb, "What should I look for? e.g. search database timeout")
    return Search(rest.strip())


def _remind(verb: str, rest: str) -> ParsedCommand:
    word = rest.lower()
    if word in ("off", "stop", "disable"):
        return RemindOff()
    if word in ("on", "start", "enable"):
        return RemindOn()
    if not word:
        raise _fail(verb, "Snooze for how long? e.g. remind 30")
    try:
        length = parse_duration(word, maximum=timedelta(minutes=MAX_REMIND_MINUTES))
    except InvalidCommand:
        length = None
    minutes = int(length.total_seconds() // 60) if length else 0
    if minutes < 1:
        raise _fail(verb, f"{rest[:40]!r} is not a number of minutes (1 to {MAX_REMIND_MINUTES}).")
    return Remind(minutes)


def _maintenance(verb: str, rest: str) -> ParsedCommand:
    tokens = _TOKEN.findall(rest)
    if not tokens:
        raise _fail(verb, "For how long, and which alerts?")
    try:
        duration = parse_duration(tokens[0], maximum=MAX_MAINTENANCE)
    except InvalidCommand as exc:
        raise _fail(verb, f"{exc}.") from None
    matchers: list[LabelMatcher] = []
    index = 1
    while index < len(tokens):
        try:
            matcher = matcher_token(tokens[index])
        except InvalidCommand as exc:
            raise _fail(verb, f"{exc}.") from None
        if matcher is None:
            break
        matchers.append(matcher)
        index += 1
    if not matchers:
        raise _fail(verb, "Say which alerts to quiet with label matchers, e.g. service=api")
    # Everything after the last matcher is the reason, spaced as typed.
    reason = " ".join(tokens[index:])
    return Maintenance(duration, tuple(matchers), reason)


def _page(verb: str, rest: str) -> ParsedCommand:
    words = rest.split()
    if len(words) != 1:
        raise _fail(verb, "Page whom? Name one service or schedule, e.g. page payments")
    return Page(words[0])


_TICKET_SERVICES = {"jira": "jira", "servicenow": "servicenow", "snow": "servicenow"}


def _ticket(verb: str, rest: str) -> ParsedCommand:
    words = rest.lower().split()
    if not words:
        return Ticket()
    if len(words) != 1 or words[0] not in _TICKET_SERVICES:
        raise _fail(verb, "Open a ticket where? ticket, ticket jira or ticket servicenow")
    return Ticket(_TICKET_SERVICES[words[0]])


def _publish(verb: str, rest: str) -> ParsedCommand:
    # No default target: which wiki a postmortem lands in is a choice, and a bare "publish"
    # would silently change meaning the day a second target is configured.
    words = rest.lower().split()
    if len(words) != 1 or words[0] not in PUBLISH_TARGETS:
        where = " or ".join(f"publish {t}" for t in PUBLISH_TARGETS)
        asked = f"{rest.strip()[:40]!r} is not a place to publish to. " if words else ""
        raise _fail(verb, f"{asked}Publish the postmortem where? {where}")
    return Publish(words[0])


def _fixed(result: ParsedCommand) -> Callable[[str, str], ParsedCommand]:
    # Verbs without arguments ignore trailing words: "ack on it" still acknowledges.
    return lambda _verb, _rest: result


_PARSERS: dict[str, Callable[[str, str], ParsedCommand]] = {
    "declare": _declare,
    "status": _status,
    "sev": _sev,
    "commander": _role,
    "comms": _role,
    "scribe": _role,
    "update": _update,
    "public-update": _public_update,
    "note": _note,
    "action": _action,
    "done": _done,
    "ack": _fixed(Acknowledge()),
    "resolve": _resolve,
    "close": _fixed(Close()),
    "reopen": _fixed(Reopen()),
    "timeline": _fixed(ShowTimeline()),
    "summary": _fixed(ShowSummary()),
    "list": _list,
    "search": _search,
    "remind": _remind,
    "maintenance": _maintenance,
    "page": _page,
    "ticket": _ticket,
    "publish": _publish,
    "help": _fixed(Help()),
}
