"""Teams traffic → core commands: ``POST /api/messages`` through the SDK's JWT check and adapter.

Messages (an @mention in a channel or group chat, anything in a 1:1 chat) go through the
shared chat grammar; Adaptive Card ``Action.Execute`` invokes become commands and answer with
the refreshed card. What people see afterwards is planned by the core and delivered by the
outbox, replies included; the only synchronous answer is the invoke response Teams waits for.
"""

from __future__ import annotations

import html
import logging
import re
import uuid
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from aiohttp import web
from microsoft_agents.activity import Activity, AdaptiveCardInvokeResponse
from microsoft_agents.hosting.aiohttp import jwt_authorization_middleware, start_agent_process
from microsoft_agents.hosting.core import AgentApplication, TurnContext, TurnState

from bot.chatops import desk as d
from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import DomainError
from bot.domain.policy import UnknownSeverity
from bot.ports import ChatMessage, RoomRef
from bot.runtime import RUNTIME, Runtime
from bot.service import parse_ref
from handlers.middleware import json_error
from handlers.platform import Platform
from integrations.teams import cards
from integrations.teams.directory import TeamsDirectory
from integrations.teams.factory import teams_ports
from integrations.teams.sdk import (
    TEAMS,
    TeamsBot,
    TeamsSlot,
    auth_configuration,
    teams_configured,
    token_problem,
)

log = logging.getLogger(__name__)

ANONYMOUS_WARNING = (
    "TEAMS ANONYMOUS MODE IS ON (SITREP_TEAMS_ALLOW_ANONYMOUS=true): POST /api/messages "
    "accepts requests WITHOUT a Bot Framework token and anyone who can reach this server can "
    "act as any Teams user. Use it for local development only, never in production."
)
_REF = re.compile(r"^\s*(INC-?\d+|#\d+)\b[\s:]*", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def mount(app: web.Application) -> None:
    """Mount ``POST /api/messages`` when Teams is configured; the SDK stack starts with the app."""
    settings = app[RUNTIME].settings
    if not teams_configured(settings):
        return
    config = auth_configuration(settings)
    app[TEAMS] = TeamsSlot(config)
    # The SDK's JWT middleware looks its settings up under this fixed string key.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["agent_configuration"] = config
    app.router.add_post("/api/messages", messages)


async def teams_context(app: web.Application) -> AsyncIterator[None]:
    """Run the SDK stack and the listeners; the Teams port joins the runtime while it runs."""
    if TEAMS not in app:
        yield
        return
    runtime, slot = app[RUNTIME], app[TEAMS]
    s = runtime.settings
    if s.teams_allow_anonymous:
        log.warning(ANONYMOUS_WARNING)
    missing = missing_room_setting(s)
    if missing:
        log.error(missing)
    if s.teams_app_id and s.teams_app_password is None:
        log.error(
            "SITREP_TEAMS_APP_ID is set but SITREP_TEAMS_APP_PASSWORD is not: Teams "
            "will refuse every message sitrep sends"
        )
    bot = TeamsBot(s, slot.config, slot.token_provider_factory)
    directory = TeamsDirectory(
        runtime.units,
        runtime.clock,
        s.workspace,
        default_service_url=s.teams_service_url,
        tenant_id=s.teams_tenant_id,
    )
    TeamsListeners(runtime, directory).attach(bot.agent)
    slot.bot, slot.directory = bot, directory
    if "teams" not in runtime.ports:
        runtime.ports.update(await teams_ports(app))
    log.info(
        "teams ready",
        extra={"app_id": s.teams_app_id or "(anonymous)", "anonymous": s.teams_allow_anonymous},
    )
    yield
    slot.bot = None
    await bot.close()


PLATFORM = Platform("teams", mount, teams_context)


async def messages(request: web.Request) -> web.StreamResponse:
    """Validate the caller's JWT (the SDK's middleware), then let the adapter run the turn."""
    problem = token_problem(request.headers.get("Authorization"))
    if problem is not None:
        # One short line and a 401, never the token itself (it may be a real one, mangled).
        log.warning("teams: refused a request: %s", problem)
        return json_error(401, f"Invalid Bot Framework token: {problem}")
    response = await jwt_authorization_middleware(request, _process)
    return cast(web.StreamResponse, response)


async def _process(request: web.Request) -> web.StreamResponse:
    slot = request.app[TEAMS]
    if slot.bot is None or not request.app[RUNTIME].accepting:
        return json_error(503, "sitrep is starting or stopping; Teams will retry")
    response = await start_agent_process(request, slot.bot.agent, slot.bot.adapter)
    return response if response is not None else web.Response(status=202)


# -- listeners --------------------------------------------------------------------------------


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
        tenant = (a.conversation.tenant_id if a.conversation else None) or _tenant(a)
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
            channel_id=_channel_id(a),
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
        match = _REF.match(text)
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
        verb = _verb(context.activity)
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
            names = await self.directory.names(
                cards.user_ids(ChatMessage("incident_summary", "", {"incident": snap}))
            )
            return _card_response(cards.incident_summary(snap, names))
        people = d.outcome_reply(out).data.get("people", [])
        names = await self.directory.names(people)
        return _message_response(cards.with_names(d.outcome_text(out), names))

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
}


# -- helpers -----------------------------------------------------------------------------------


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


def command_text(activity: Activity) -> str:
    """The command someone typed, with mentions of people turned into their Teams ids.

    The SDK has already removed the mention of the bot itself; other people become ``@<id>``.
    Teams sends message text as
    light HTML (``<at>``, ``<p>``, ``&nbsp;``), so tags are dropped and entities decoded.
    """
    text = activity.text or ""
    me = activity.recipient.id if activity.recipient else None
    for mention in activity.get_mentions():
        who = mention.mentioned
        if who is None or not who.id or who.id == me or not mention.text:
            continue
        # "@<id>" is how the grammar recognises a person (commander @…, action … @owner).
        text = text.replace(mention.text, f" @{who.id} ")
    text = _TAG.sub(" ", text)
    text = html.unescape(text).replace("\xa0", " ")
    return " ".join(text.split())


def _channel_id(activity: Activity) -> str | None:
    data = activity.channel_data
    if isinstance(data, dict):
        channel = data.get("channel") or {}
        return str(channel.get("id")) if isinstance(channel, dict) and channel.get("id") else None
    channel = getattr(data, "channel", None)
    if isinstance(channel, dict):
        return str(channel.get("id")) if channel.get("id") else None
    return getattr(channel, "id", None) if channel is not None else None


def _tenant(activity: Activity) -> str | None:
    data = activity.channel_data
    tenant = data.get("tenant") if isinstance(data, dict) else getattr(data, "tenant", None)
    if isinstance(tenant, dict):
        return str(tenant.get("id")) if tenant.get("id") else None
    return getattr(tenant, "id", None) if tenant is not None else None


def _verb(activity: Activity) -> str:
    value = activity.value if isinstance(activity.value, dict) else {}
    action = value.get("action") or {}
    return str(action.get("verb") or "") if isinstance(action, dict) else ""


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
