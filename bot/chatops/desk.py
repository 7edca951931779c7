"""The conversation desk: one place where a chat message or a button press becomes a command
and its answer, the same for every chat platform.

A platform's handler translates its payload into ``handle`` (typed text) or ``press`` (a
button or card verb) and opens forms; everything else happens here: parse, find the room's
incident, run the command and queue the reply in the command's own transaction, with the
request's intake key so a redelivered request is neither run nor answered twice.

Replies are neutral data (``ChatMessage("reply", text, {"shows": ...})``); each platform's
delivery renders them (integrations/slack/blocks.py, integrations/teams/cards.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from bot.alerting.intake import AlertIntake
from bot.chatops import grammar as g
from bot.chatops.commands import incident_command
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import DomainError, InvalidCommand, NotFound
from bot.domain.metrics import compute_metrics, format_duration
from bot.domain.model import Incident, Status
from bot.domain.policy import UnknownSeverity
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot, iso
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage, Clock, RoomRef
from bot.publish.refs import NAMES as PUBLISH_NAMES
from bot.repository import Repo
from bot.search.service import SearchService
from bot.security.membership import Reader
from bot.service import IncidentService, Outcome, intake_key
from bot.statuspage.preview import preview_public
from bot.statuspage.rules import StatuspageRules

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMELINE_SHOWN = 30
LIST_SHOWN = 25
SEARCH_SHOWN = 5
# Button and card verbs, the same names on every platform.
ACK, RESOLVE, STATUS, UPDATE = "ack", "resolve", "status", "update"
PUBLISH = "publish"  # the confirm of a previewed public update (its text rides along)


@dataclass(frozen=True, slots=True)
class Where:
    """Where a request came from and where its answer goes.

    ``private_to`` makes the answer visible to that user only (Slack's ephemeral replies).
    ``quiet_room`` skips echoing a command back into the incident room it was typed in.
    """

    platform: str
    room: RoomRef
    private_to: str | None = None
    quiet_room: bool = False
    channel: str | None = None  # the channel a thread is in, when the room is a thread


@dataclass(frozen=True, slots=True)
class Form:
    """A form the platform opens itself (a Slack modal, a Teams card)."""

    kind: str  # "declare" or "update"
    incident: Incident | None = None


# Finds the incident whose room a conversation is (Teams maps threads and chats itself).
RoomFinder = Callable[[Where], Awaitable[int | None]]


@dataclass
class Desk:
    """Runs chat conversations against the incident service and alert intake."""

    service: IncidentService
    alerts: AlertIntake
    clock: Clock
    workspace: str
    base_url: str = ""
    wake: Callable[[], None] = lambda: None
    finders: dict[str, RoomFinder] = field(default_factory=dict)
    # Why a platform cannot open a room for a (private?) incident yet, if it cannot.
    declare_guards: dict[str, Callable[[bool], str | None]] = field(default_factory=dict)
    search: SearchService | None = None
    statuspage: StatuspageRules | None = None

    # -- entry points ------------------------------------------------------------------------

    async def handle(
        self, where: Where, actor: Actor, text: str, dedup: str | None, *, named: int | None = None
    ) -> Form | None:
        """Run a typed command; returns the form to open when the command asks for one.

        Refusals become a reply, never an exception. ``named`` is an incident the text named
        (``INC-42 status identified``) instead of the room's.
        """
        return await self.guarded(where, dedup, self._handle(where, actor, text, dedup, named))

    async def press(
        self,
        verb: str,
        where: Where,
        actor: Actor,
        number: int,
        dedup: str | None,
        *,
        status: str = "",
        text: str = "",
        answer: bool = True,
    ) -> Outcome:
        """Run a button or card verb on INC-``number``; raises DomainError on refusal.

        With ``answer`` the outcome is replied in the command's transaction ("already done"
        when nothing changed); without, the platform answers itself (a card refresh).
        """
        cmd = press_command(verb, status, text)
        return await self.run(where, number, cmd, actor, dedup, self._pressed if answer else None)

    async def guarded(self, where: Where, dedup: str | None, work: Awaitable[T]) -> T | None:
        """Run ``work``; turn refusals into a reply instead of silence."""
        try:
            return await work
        except g.GrammarError as exc:
            await self.say(where, reply(exc.message, shows="usage", usage=exc.usage), dedup)
        except (DomainError, UnknownSeverity) as exc:
            await self.say(where, reply(str(exc)), dedup)
        except Exception:
            log.exception("chat command failed", extra={"platform": where.platform})
            await self.say(where, reply("Something went wrong on our side; it is logged."), dedup)
        return None

    # -- pieces handlers use -----------------------------------------------------------------

    async def say(self, where: Where, message: ChatMessage, dedup: str | None = None) -> None:
        """Queue a reply on its own; a replayed request (same ``dedup``) gets none."""
        key = intake_key(self.workspace, f"{dedup}:reply") if dedup is not None else None
        intent = self.intent(where, message)
        now = self.clock.now()

        def work(repo: Repo) -> None:
            if key is None or repo.first_sighting(key, now):
                repo.enqueue([intent], now)

        await self.service.read(work)
        self.wake()

    async def claim(self, dedup: str | None) -> bool:
        """Claim a request's intake key for work outside the database (opening a form)."""
        key = intake_key(self.workspace, dedup)
        if key is None:
            return True
        now = self.clock.now()
        return await self.service.read(lambda repo: repo.first_sighting(key, now))

    async def room_incident(self, where: Where) -> Incident | None:
        """The incident whose room ``where`` is, if any."""
        finder = self.finders.get(where.platform)
        if finder is not None:
            incident_id = await finder(where)
            if incident_id is None:
                return None
            return await self.service.read(lambda repo: repo.get_incident_by_id(incident_id))
        ws, platform, room = self.workspace, where.platform, where.room.id
        return await self.service.read(lambda repo: repo.incident_for_room(ws, platform, room))

    async def incident(self, number: int) -> Incident | None:
        """INC-``number`` in this workspace, or None."""
        try:
            return await self.service.get(self.workspace, number)
        except NotFound:
            return None

    async def last_update(self, incident: Incident) -> str:
        """The text of the incident's latest status update ("" when none), to prefill a form."""
        assert incident.id is not None
        incident_id = incident.id

        def work(repo: Repo) -> str:
            updates = repo.status_updates(incident_id)
            return updates[-1].text if updates else ""

        return await self.service.read(work)

    async def run(
        self,
        where: Where,
        number: int,
        cmd: c.Command,
        actor: Actor,
        dedup: str | None,
        answer: Callable[[Outcome], ChatMessage | None] | None = None,
    ) -> Outcome:
        """Run ``cmd``; ``answer`` turns its outcome into the reply queued with it."""
        from_room = False
        if where.quiet_room:
            room = await self.room_incident(where)
            from_room = room is not None and room.number == number
        return await self.service.execute(
            self.workspace,
            number,
            cmd,
            actor,
            from_room=from_room,
            dedup_key=dedup,
            answer=self._answer(where, answer) if answer is not None else None,
        )

    async def declare(
        self, where: Where, cmd: c.Declare, actor: Actor, dedup: str | None, *, answer: bool = True
    ) -> Outcome:
        """Declare an incident and (with ``answer``) say so in the same transaction."""
        return await self.service.declare(
            self.workspace,
            cmd,
            actor,
            dedup_key=dedup,
            answer=self._answer(where, declared_reply) if answer else None,
        )

    async def declare_for_alerts(
        self, where: Where, value: str, actor: Actor, dedup: str | None, *, answer: bool = True
    ) -> str:
        """Declare (or find) the incident for an alert group; ``value`` is ``source|group_key``."""
        source, sep, group_key = value.partition("|")
        if not sep or not source or not group_key:
            raise InvalidCommand("this button does not name an alert group")
        incident, created = await self.alerts.declare_for_group(
            self.workspace, source, group_key, actor
        )
        text = (
            f"{incident.ref} declared ({incident.severity}): {incident.title}."
            if created
            else f"{incident.ref} is already open for these alerts."
        )
        if answer:
            await self.say(where, reply(text), dedup)
        return text

    def check_declare(self, where: Where, private: bool) -> None:
        """Refuse a declaration the platform could not open a room for."""
        guard = self.declare_guards.get(where.platform)
        problem = guard(private) if guard is not None else None
        if problem:
            raise InvalidCommand(problem)

    def snapshot(self, incident: Incident) -> IncidentSnapshot:
        """The incident as renderers draw it."""
        return incident_snapshot(incident, self.service.policy, self.base_url)

    def intent(self, where: Where, message: ChatMessage) -> OutboxIntent:
        """The outbox row that delivers ``message`` back to where a request came from."""
        data = dict(message.data)
        if where.private_to is not None:
            data["user"] = where.private_to
        return OutboxIntent(
            workspace=self.workspace,
            platform=where.platform,
            ordering_key=f"reply:{where.private_to or where.room.id}",
            action=Action.POST.value,
            payload={
                "room_ref": where.room.to_json(),
                "message": ChatMessage(message.kind, message.text, data).to_json(),
            },
            idempotency_key=f"reply:{uuid.uuid4().hex}",
        )

    # -- the conversation --------------------------------------------------------------------

    async def _handle(
        self, where: Where, actor: Actor, text: str, dedup: str | None, named: int | None
    ) -> Form | None:
        parsed = g.parse(text)
        match parsed:
            case g.OpenDeclareForm():
                return Form("declare")
            case g.Declare(title=title, severity=sev, private=private, service=service):
                self.check_declare(where, private)
                await self.declare(
                    where,
                    c.Declare(title, sev, private=private, origin=where.platform, service=service),
                    actor,
                    dedup,
                )
                return None
            case g.ListIncidents(open_only=open_only):
                await self._list(where, open_only, dedup)
                return None
            case g.Search(text=query):
                await self._search(where, actor, query, dedup)
                return None
            case g.Help():
                await self.say(where, reply("", shows="help"), dedup)
                return None
            case g.Unknown(text=unknown):
                await self.say(where, reply("", shows="unknown", unknown=unknown[:100]), dedup)
                return None
            case g.Maintenance():
                await self.say(where, reply(await self._maintenance(parsed, actor, dedup)), dedup)
                return None
        incident = await self.incident(named) if named is not None else None
        if named is not None and incident is None:
            raise NotFound(f"INC-{named} not found")
        incident = incident or await self.room_incident(where)
        if incident is None:
            await self.say(where, reply("", shows="not_a_room"), dedup)
            return None
        cmd = incident_command(parsed, self.clock.now())
        if cmd is not None:
            await self.run(where, incident.number, cmd, actor, dedup, self._reply_for(cmd))
            return None
        match parsed:
            case g.OpenUpdateForm():
                return Form("update", incident)
            case g.PublicUpdate(text=public):
                await self._public_preview(where, actor, incident, public, dedup)
            case g.ShowTimeline():
                await self._timeline(where, incident, dedup)
            case g.ShowSummary():
                await self._summary(where, incident, dedup)
            case _:
                await self.say(where, reply("", shows="help"), dedup)
        return None

    async def _public_preview(
        self, where: Where, actor: Actor, inc: Incident, text: str, dedup: str | None
    ) -> None:
        """Show the asker exactly what would be published, with Confirm and Cancel."""
        pub = await preview_public(
            self.service,
            self.statuspage,
            self.workspace,
            inc.number,
            text,
            reader=Reader.of(actor.id, admin=actor.id in self.service.policy.admins),
        )
        shown = reply(
            f"Preview for the public status page ({inc.ref}); nothing is published until you"
            " confirm.",
            shows="public_preview",
            incident=f"{self.workspace}:{inc.number}",
            number=inc.number,
            ref=inc.ref,
            preview=pub.to_json(),
        )
        await self.say(where, shown, dedup)

    async def _list(self, where: Where, open_only: bool, dedup: str | None) -> None:
        incidents = await self.service.list(self.workspace, open_only=open_only, limit=LIST_SHOWN)
        # A channel's audience is unknown: a private incident's title never enters the reply,
        # on any platform; only how many were left out.
        shown = [i for i in incidents if not i.private]
        data = {
            "incidents": [self.snapshot(i) for i in shown],
            "open_only": open_only,
            "private_hidden": len(incidents) - len(shown),
        }
        title = "Open incidents" if open_only else "Recent incidents"
        await self.say(where, reply(title, shows="list", **data), dedup)

    async def _search(self, where: Where, actor: Actor, query: str, dedup: str | None) -> None:
        if self.search is None:
            raise InvalidCommand("Search is not available here.")
        # Only a reply nobody else can read (Slack's ephemeral one) may name the asker's
        # private incidents; in a channel, whose audience is unknown, only public ones match.
        reader = (
            Reader.of(actor.id, admin=actor.id in self.service.policy.admins)
            if where.private_to is not None and where.private_to == actor.id
            else Reader.of()
        )
        found = await self.search.search(
            self.workspace, query, reader=reader, limit=SEARCH_SHOWN, snippets=1
        )
        if found.problem:
            raise InvalidCommand(found.problem)
        results = [
            {
                "incident": self.snapshot(r.incident),
                "snippets": [
                    {"label": s.kind.label, "parts": [[p.text, p.hit] for p in s.segments]}
                    for s in r.snippets
                ],
            }
            for r in found.results
        ]
        message = reply(
            f"Search: {found.query}",
            shows="search",
            query=found.query,
            results=results,
            more=found.more,
            url=f"{self.base_url.rstrip('/')}/search?{urlencode({'q': found.query})}"
            if self.base_url
            else "",
        )
        await self.say(where, message, dedup)

    async def _timeline(self, where: Where, inc: Incident, dedup: str | None) -> None:
        detail = await self.service.detail(self.workspace, inc.number)
        shown = detail.timeline[-TIMELINE_SHOWN:]
        entries = [{"at": iso(e.at), "text": e.text} for e in shown]
        people = sorted(
            {
                str(i)
                for e in shown
                for i in (e.actor, e.data.get("user"), e.data.get("previous"))
                if i
            }
        )
        message = reply(
            f"{inc.ref} timeline",
            shows="timeline",
            ref=inc.ref,
            total=len(detail.timeline),
            entries=entries,
            people=people,
        )
        await self.say(where, message, dedup)

    async def _summary(self, where: Where, inc: Incident, dedup: str | None) -> None:
        detail = await self.service.detail(self.workspace, inc.number)
        m = compute_metrics(inc.declared_at, detail.timeline)
        metrics = {
            "time_to_acknowledge": format_duration(m.time_to_acknowledge),
            "time_to_mitigate": format_duration(m.time_to_mitigate),
            "time_to_resolve": format_duration(m.time_to_resolve),
        }
        snap = self.snapshot(detail.incident)
        await self.say(
            where, reply(inc.ref, shows="summary", incident=snap, metrics=metrics), dedup
        )

    async def _maintenance(self, parsed: g.Maintenance, actor: Actor, dedup: str | None) -> str:
        window = await self.alerts.maintenance.create(
            self.workspace,
            starts_at=None,
            duration=parsed.duration,
            matchers=list(parsed.matchers),
            reason=parsed.reason,
            actor=actor,
            dedup_key=dedup,
        )
        matchers = ", ".join(f"{m.name}{m.op}{m.value}" for m in window.matchers)
        return (
            f"Maintenance window #{window.id} until {window.ends_at:%Y-%m-%d %H:%M} UTC for "
            f"{matchers}: matching alerts are recorded but will not page or declare."
        )

    def _answer(
        self, where: Where, make: Callable[[Outcome], ChatMessage | None]
    ) -> Callable[[Outcome], Sequence[OutboxIntent]]:
        def answer(outcome: Outcome) -> Sequence[OutboxIntent]:
            message = make(outcome)
            return [] if message is None else [self.intent(where, message)]

        return answer

    def _reply_for(self, cmd: c.Command) -> Callable[[Outcome], ChatMessage]:
        """How a typed room command is answered: what it did, or what happens next."""
        if isinstance(cmd, c.RequestPublish):
            service, base = cmd.service, self.base_url
            return lambda out: publish_reply(out, service, base)
        return outcome_reply

    @staticmethod
    def _pressed(out: Outcome) -> ChatMessage | None:
        return None if out.changed else reply(f"{out.incident.ref}: already done.")


# -- neutral replies ---------------------------------------------------------------------------


def reply(text: str, *, shows: str = "text", **data: Any) -> ChatMessage:
    """A reply to whoever asked: ``shows`` names what the platform draws from ``data``."""
    return ChatMessage("reply", text, {"shows": shows, **data})


def outcome_reply(out: Outcome) -> ChatMessage:
    """What a command did, one line per event; ``people`` are the users its events name."""
    if not out.changed:
        text = f"{out.incident.ref}: nothing to change."
    else:
        text = "\n".join(f"{out.incident.ref}: {e.text}" for e in out.events)
    people = sorted(
        {
            str(i)
            for e in out.events
            for i in (e.actor, e.data.get("user"), e.data.get("previous"))
            if i
        }
    )
    return reply(text, people=people)


def publish_reply(out: Outcome, service: str, base_url: str = "") -> ChatMessage:
    """The answer to a publish request: queued, and where the page's link will show."""
    inc, name = out.incident, PUBLISH_NAMES.get(service, service)
    # The service answers later (or, while it is down, much later): the link is recorded on
    # the timeline and the postmortem page then, not in this reply.
    page = f" {base_url.rstrip('/')}/incidents/{inc.number}/postmortem" if base_url else ""
    return reply(
        f"{inc.ref}: publishing the postmortem to {name} is queued. The page's link will be on"
        f" the incident's timeline and postmortem page{page} once {name} answers."
    )


def outcome_text(out: Outcome) -> str:
    """What a command did, for a synchronous answer (a card invoke)."""
    if out.replayed:
        return f"{out.incident.ref}: already done."
    return outcome_reply(out).text


def declared_reply(out: Outcome) -> ChatMessage:
    """The answer to a declaration."""
    inc = out.incident
    where = "a private room" if inc.private else "the incident room"
    return reply(f"{inc.ref} declared ({inc.severity}): {inc.title}. Opening {where} now.")


def press_command(verb: str, status: str = "", text: str = "") -> c.Command:
    """The core command for a button or card verb."""
    if verb == ACK:
        return c.Acknowledge()
    if verb == RESOLVE:
        return c.ChangeStatus(Status.RESOLVED)
    if verb == STATUS:
        if status not in set(Status):
            raise InvalidCommand(f"unknown status {status[:40]!r}")
        return c.ChangeStatus(Status(status), text.strip())
    if verb == PUBLISH:
        if not text.strip():
            raise InvalidCommand("There is no public text to publish.")
        return c.PublishUpdate(text.strip())
    if verb == UPDATE:
        if not text.strip():
            raise InvalidCommand("Write the update first.")
        return c.PostUpdate(text.strip())
    raise InvalidCommand(f"Unknown action {verb[:40]!r}.")


def capture_command(
    external_ref: str, author: str, text: str, link: str, posted_at: datetime | None
) -> c.CaptureMessage:
    """A chat message added to the timeline."""
    return c.CaptureMessage(
        external_ref=external_ref,
        author=author,
        text=text or "(no text)",
        link=link,
        posted_at=posted_at,
    )
