"""Teams' listeners: activities and card invokes in, desk calls out.

The desk (bot/chatops/desk.py) parses, finds the room's incident, runs the command and queues
the answer through the outbox; the only synchronous answer is the invoke response Teams
waits for after a card button.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from microsoft_agents.activity import AdaptiveCardInvokeResponse
from microsoft_agents.hosting.core import AgentApplication, TurnContext, TurnState

from bot.chatops import desk as d
from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import DomainError
from bot.domain.policy import UnknownSeverity
from bot.ports import ChatMessage, RoomRef
from bot.runtime import Runtime
from bot.service import parse_ref
from integrations.teams import cards
from integrations.teams.activity import REF, channel_id, command_text
from integrations.teams.activity import tenant as tenant_of
from integrations.teams.activity import verb as verb_of
from integrations.teams.directory import TeamsDirectory
from integrations.teams.public_update import VERB_PUBLIC_CANCEL, VERB_PUBLIC_CONFIRM

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Turn:
    """Who said what, where: the parts of an activity the listeners use."""

    actor: Actor
    conversation: str
    channel_id: str | None
    activity_id: str

    @property
    def dedup(self) -> str:
        """Intake key: Teams redelivers an activity with the same id."""
        return f"teams:{self.conversation}:{self.activity_id}"

    @property
    def where(self) -> d.Where:
        """Answers go to the conversation the activity came from, for everyone in it."""
        room = RoomRef("teams", self.conversation, extra={"kind": "conversation"})
        return d.Where("teams", room, quiet_room=True, channel=self.channel_id)


class TeamsListeners:
    """The agent's routes, translating activities into desk calls."""

    def __init__(self, runtime: Runtime, directory: TeamsDirectory) -> None:
        self.settings = runtime.settings
        self.desk = runtime.desk
        self.directory = directory
        self.people = runtime.people
        self.desk.finders["teams"] = self._room
        self.desk.declare_guards["teams"] = self._missing_room_setting

    def attach(self, agent: AgentApplication[TurnState]) -> None:
        """Register every route on a fresh agent (nothing is registered at import time)."""
        agent.adaptive_card.action_execute(re.compile(r"^sitrep\."))(self.card_action)
        agent.activity("message")(self.message)
        agent.activity("conversationUpdate")(self.conversation_update)
        agent.activity("installationUpdate")(self.installation_update)
        agent.error(self.error)

    async def _room(self, where: d.Where) -> int | None:
        return await self.directory.incident_for_conversation(where.room.id, where.channel)

    def _missing_room_setting(self, private: bool) -> str | None:
        return None if private else missing_room_setting(self.settings)

    async def _turn(self, context: TurnContext) -> Turn:
        a = context.activity
        sender = a.from_property
        user = (sender.id if sender else "") or ""
        name = (sender.name if sender else "") or ""
        if user and not name:
            # Some activities (card invokes among them) can come without the sender's name;
            # the timeline should still say who it was.
            name = (await self.directory.names([user])).get(user, "")
        tenant = (a.conversation.tenant_id if a.conversation else None) or tenant_of(a)
        await self.directory.observe(
            service_url=a.service_url,
            tenant_id=tenant,
            user_id=user,
            name=name,
            aad_id=sender.aad_object_id if sender else None,
        )
        conv = a.conversation
        return Turn(
            actor=Actor(user, name),
            conversation=conv.id if conv else "",
            channel_id=channel_id(a),
            activity_id=a.id or uuid.uuid4().hex,
        )

    # -- messages ---------------------------------------------------------------------------

    async def message(self, context: TurnContext, state: TurnState) -> None:
        """A typed command: the desk runs it (in the room's incident, or a named one)."""
        turn = await self._turn(context)
        activity = context.activity
        if activity.value is not None and not (activity.text or "").strip():
            return  # a legacy Action.Submit; our cards use Action.Execute
        me = activity.recipient.id if activity.recipient else None
        for mention in activity.get_mentions():
            who = mention.mentioned
            if who is not None and who.id and who.id != me and who.name:
                # Someone named in a command (a new commander): learn their display name.
                await self.directory.observe(
                    service_url=None, tenant_id=None, user_id=who.id, name=who.name, aad_id=None
                )
        text = command_text(activity)
        named: int | None = None
        match = REF.match(text)
        if match:
            text = text[match.end() :]
            try:
                named = parse_ref(match.group(1))
            except DomainError as exc:
                await self.desk.say(turn.where, d.reply(str(exc)), turn.dedup)
                return
        form = await self.desk.handle(turn.where, turn.actor, text, turn.dedup, named=named)
        if form is not None:
            await self.desk.say(turn.where, self._form(form), turn.dedup)

    def _form(self, form: d.Form) -> ChatMessage:
        if form.incident is not None:
            snapshot = {"incident": self.desk.snapshot(form.incident)}
            return ChatMessage("update_form", f"Update {form.incident.ref}", snapshot)
        policy = self.desk.service.policy
        severities = [[s.name, s.description] for s in policy.severities]
        return ChatMessage(
            "declare_form",
            "Declare an incident",
            {"severities": severities, "default": policy.default.name, "title": ""},
        )

    # -- cards ------------------------------------------------------------------------------

    async def card_action(
        self, context: TurnContext, state: TurnState, data: object
    ) -> AdaptiveCardInvokeResponse:
        """``Action.Execute`` from one of our cards; answers with the card to show instead."""
        turn = await self._turn(context)
        verb = verb_of(context.activity)
        try:
            return await self._card_action(turn, verb, data if isinstance(data, dict) else {})
        except (DomainError, UnknownSeverity, ValueError) as exc:
            return _message_response(str(exc))
        except Exception:
            log.exception("teams card action failed", extra={"verb": verb})
            return _message_response("Something went wrong on our side; it is logged.")

    async def _card_action(
        self, turn: Turn, verb: str, data: dict[str, Any]
    ) -> AdaptiveCardInvokeResponse:
        if verb == cards.VERB_DECLARE:
            title = str(data.get("title") or "").strip()
            if not title:
                return _message_response("A title is required.")
            private = str(data.get("private")).lower() == "true"
            self.desk.check_declare(turn.where, private)
            cmd = c.Declare(
                title,
                str(data.get("severity") or "") or None,
                summary=str(data.get("summary") or "").strip(),
                private=private,
                origin="teams",
            )
            out = await self.desk.declare(turn.where, cmd, turn.actor, turn.dedup, answer=False)
            return _card_response(cards.declared(self.desk.snapshot(out.incident)))
        if verb == cards.VERB_DECLARE_ALERTS:
            # A second click (or a redelivered invoke) finds the incident and says so.
            group = str(data.get("group") or "")
            text = await self.desk.declare_for_alerts(
                turn.where, group, turn.actor, turn.dedup, answer=False
            )
            return _message_response(text)
        number = _number(data.get("incident"))
        if number is None:
            return _message_response("That card is not about an incident.")
        if verb == VERB_PUBLIC_CANCEL:
            return _message_response("Cancelled: nothing was published.")
        out = await self.desk.press(
            _VERBS.get(verb, verb),
            turn.where,
            turn.actor,
            number,
            turn.dedup,
            status=str(data.get("status") or ""),
            text=str(data.get("text") or ""),
            answer=False,
        )
        if data.get("card") == "summary":
            snap = self.desk.snapshot(out.incident)
            names = await self._names(
                cards.user_ids(ChatMessage("incident_summary", "", {"incident": snap}))
            )
            return _card_response(cards.incident_summary(snap, names))
        people = d.outcome_reply(out).data.get("people", [])
        names = await self._names(people)
        return _message_response(cards.with_names(d.outcome_text(out), names))

    async def _names(self, ids: Iterable[str]) -> dict[str, str]:
        """Names of the people among ``ids`` from any surface (bot.people), none for the rest."""
        found = await self.people.names(self.settings.workspace, ids)
        return {i: n for i, n in found.items() if n != i}

    # -- lifecycle events -------------------------------------------------------------------

    async def conversation_update(self, context: TurnContext, state: TurnState) -> None:
        """The bot joined a team, chat or 1:1: say hello (and learn the service URL)."""
        turn = await self._turn(context)
        a = context.activity
        me = a.recipient.id if a.recipient else None
        if any(m.id == me for m in a.members_added or []):
            hello = (
                "Hi, I'm sitrep. Mention me with **declare** and a title to "
                "start an incident, or **help** for every command."
            )
            await self.desk.say(turn.where, ChatMessage("reply", hello, {"ours": True}))

    async def installation_update(self, context: TurnContext, state: TurnState) -> None:
        """Installed or removed somewhere: just remember the service URL."""
        await self._turn(context)

    async def error(self, context: TurnContext, err: Exception) -> None:
        """An error escaped a route: log it; Teams gets a 500 and the user sees nothing odd."""
        log.error("teams turn failed", exc_info=err, extra={"activity_type": context.activity.type})


_VERBS = {
    cards.VERB_ACK: d.ACK,
    cards.VERB_RESOLVE: d.RESOLVE,
    cards.VERB_STATUS: d.STATUS,
    cards.VERB_UPDATE: d.UPDATE,
    VERB_PUBLIC_CONFIRM: d.PUBLISH,
}


def missing_room_setting(settings: Settings) -> str | None:
    """Why declaring in Teams could not open a room (no incidents channel), or ``None``.

    Incident threads start in ``SITREP_TEAMS_INCIDENTS_CHANNEL_ID`` unless sitrep creates a
    channel per incident; without either, a declared incident would wait for a room forever.
    """
    if settings.teams_incidents_channel_id or settings.teams_create_channels:
        return None
    return (
        "Teams has no incidents channel to open incident rooms in: set "
        "SITREP_TEAMS_INCIDENTS_CHANNEL_ID (a channel id, 19:…@thread.tacv2; in the Microsoft "
        "365 Agents Playground its General channel, team-id) or SITREP_TEAMS_CREATE_CHANNELS=true."
    )


def _number(value: Any) -> int | None:
    try:
        return parse_ref(value if isinstance(value, int) else str(value))
    except (DomainError, ValueError):
        return None


def _card_response(rendered: cards.RenderedCard) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(
        status_code=HTTPStatus.OK, type=cards.CONTENT_TYPE, value=rendered.card
    )


def _message_response(text: str) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(
        status_code=HTTPStatus.OK,
        type="application/vnd.microsoft.activity.message",
        value=cards.plain(text, 500),
    )
