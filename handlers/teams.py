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
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from aiohttp import web
from microsoft_agents.activity import Activity, AdaptiveCardInvokeResponse
from microsoft_agents.hosting.aiohttp import jwt_authorization_middleware, start_agent_process
from microsoft_agents.hosting.core import AgentApplication, TurnContext, TurnState

from bot.chatops import grammar as g
from bot.chatops.commands import incident_command
from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import DomainError
from bot.domain.model import Incident, Status
from bot.domain.policy import UnknownSeverity
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage, RoomRef
from bot.runtime import RUNTIME, Runtime
from bot.service import Outcome, parse_ref
from handlers.chat_alerts import create_maintenance_from_chat, declare_from_alert_group
from handlers.middleware import json_error
from integrations.teams import cards
from integrations.teams.directory import TeamsDirectory
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
TIMELINE_SHOWN = 30
_REF = re.compile(r"^\s*(INC-?\d+|#\d+)\b[\s:]*", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_CODE = re.compile(r"`([^`\n]+)`")


def register(app: web.Application) -> None:
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
    app.cleanup_ctx.append(_teams_stack)


async def _teams_stack(app: web.Application) -> AsyncIterator[None]:
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
        runtime.db,
        runtime.clock,
        s.workspace,
        default_service_url=s.teams_service_url,
        tenant_id=s.teams_tenant_id,
    )
    TeamsListeners(runtime, directory).attach(bot.agent)
    slot.bot, slot.directory = bot, directory
    log.info(
        "teams ready",
        extra={"app_id": s.teams_app_id or "(anonymous)", "anonymous": s.teams_allow_anonymous},
    )
    yield
    slot.bot = None
    await bot.close()


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


class TeamsListeners:
    """The agent's routes, translating activities into core commands."""

    def __init__(self, runtime: Runtime, directory: TeamsDirectory) -> None:
        self.rt = runtime
        self.service = runtime.service
        self.directory = directory
        self.workspace = runtime.settings.workspace

    def attach(self, agent: AgentApplication[TurnState]) -> None:
        """Register every route on a fresh agent (nothing is registered at import time)."""
        agent.adaptive_card.action_execute(re.compile(r"^sitrep\."))(self.card_action)
        agent.activity("message")(self.message)
        agent.activity("conversationUpdate")(self.conversation_update)
        agent.activity("installationUpdate")(self.installation_update)
        agent.error(self.error)

    # -- plumbing ---------------------------------------------------------------------------

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

    async def reply(self, turn: Turn, message: ChatMessage) -> None:
        """Answer in the conversation the command came from, through the outbox."""
        intent = OutboxIntent(
            workspace=self.workspace,
            platform="teams",
            ordering_key=f"reply:{turn.conversation}",
            action=Action.POST.value,
            payload={
                "room_ref": RoomRef(
                    "teams", turn.conversation, extra={"kind": "conversation"}
                ).to_json(),
                "message": message.to_json(),
            },
            idempotency_key=f"reply:{uuid.uuid4().hex}",
        )
        now = self.rt.clock.now()
        await self.rt.db.run(lambda repo: repo.enqueue([intent], now))
        if self.rt.worker is not None:
            self.rt.worker.wake()

    async def say(self, turn: Turn, text: str, *, ours: bool = False) -> None:
        """A text reply (``ours`` for our own markdown, e.g. help)."""
        await self.reply(turn, ChatMessage("reply", text, {"ours": ours}))

    async def guarded(self, turn: Turn, work: Awaitable[None]) -> None:
        """Run ``work``; turn refusals into a reply instead of silence."""
        try:
            await work
        except g.GrammarError as exc:
            await self.say(turn, f"{exc}\nUsage: {exc.usage}")
        except (DomainError, UnknownSeverity) as exc:
            await self.say(turn, str(exc))
        except Exception:
            log.exception("teams command failed")
            await self.say(turn, "Something went wrong on our side; it is logged.")

    async def room_incident(self, turn: Turn) -> Incident | None:
        """The incident whose room this conversation is."""
        incident_id = await self.directory.incident_for_conversation(
            turn.conversation, turn.channel_id
        )
        if incident_id is None:
            return None
        return await self.rt.db.run(lambda repo: repo.get_incident_by_id(incident_id))

    def missing_room_setting(self, private: bool) -> str | None:
        """What to set before a (non-private) incident can get a room in Teams, if anything."""
        return None if private else missing_room_setting(self.rt.settings)

    def snapshot(self, incident: Incident) -> IncidentSnapshot:
        """The incident as cards draw it."""
        s = self.rt.settings
        return incident_snapshot(incident, s.policy(), s.public_url)

    # -- messages ---------------------------------------------------------------------------

    async def message(self, context: TurnContext, state: TurnState) -> None:
        """A typed command: parse it and run it (in the room's incident, or a named one)."""
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
        await self.guarded(turn, self._command(turn, text))

    async def _command(self, turn: Turn, text: str) -> None:
        named: int | None = None
        match = _REF.match(text)
        if match:
            named = parse_ref(match.group(1))
            text = text[match.end() :]
        parsed = g.parse(text)
        match parsed:
            case g.OpenDeclareForm():
                await self.reply(turn, self._declare_form(""))
                return
            case g.Declare(title=title, severity=sev, private=private):
                missing = self.missing_room_setting(private)
                if missing:
                    await self.say(turn, missing)
                    return
                out = await self.service.declare(
                    self.workspace,
                    c.Declare(title, sev, private=private, origin="teams"),
                    turn.actor,
                    dedup_key=turn.dedup,
                )
                if out.replayed:
                    return  # Teams redelivered the activity; the first delivery answered
                inc = out.incident
                where = "a private room" if inc.private else "the incident room"
                await self.say(
                    turn, f"{inc.ref} declared ({inc.severity}): {inc.title}. Opening {where} now."
                )
                return
            case g.ListIncidents(open_only=open_only):
                await self._list(turn, open_only)
                return
            case g.Help():
                await self.say(turn, teams_markdown(g.HELP_TEXT), ours=True)
                return
            case g.Unknown(text=unknown):
                await self.reply(
                    turn,
                    ChatMessage(
                        "reply",
                        f'I don\'t know "{unknown[:100]}".',
                        {"help": teams_markdown(g.HELP_TEXT)},
                    ),
                )
                return
            case g.Maintenance():
                await self.say(
                    turn, await create_maintenance_from_chat(self.rt, parsed, turn.actor)
                )
                return
        incident = (
            await self.service.get(self.workspace, named)
            if named is not None
            else await self.room_incident(turn)
        )
        if incident is None:
            await self.say(
                turn,
                "This isn't an incident room. Run that in the incident's "
                "thread or chat, name it (INC-42 status identified), or start "
                "one with: incident declare <title>",
            )
            return
        await self._incident_command(turn, parsed, incident)

    async def _incident_command(self, turn: Turn, parsed: g.ParsedCommand, inc: Incident) -> None:
        cmd = incident_command(parsed, self.rt.clock.now())
        if cmd is None:  # something Teams shows rather than a change
            snapshot = {"incident": self.snapshot(inc)}
            match parsed:
                case g.OpenUpdateForm():
                    await self.reply(
                        turn, ChatMessage("update_form", f"Update {inc.ref}", snapshot)
                    )
                case g.ShowTimeline():
                    await self._timeline(turn, inc)
                case g.ShowSummary():
                    await self.reply(turn, ChatMessage("incident_summary", inc.ref, snapshot))
                case _:
                    await self.say(turn, teams_markdown(g.HELP_TEXT), ours=True)
            return
        in_room = await self._in_room(turn, inc)
        out = await self.service.execute(
            self.workspace, inc.number, cmd, turn.actor, from_room=in_room, dedup_key=turn.dedup
        )
        if not out.replayed:  # a redelivered activity was answered the first time
            await self.say(turn, await self.named(outcome_text(out), out))

    async def named(self, text: str, out: Outcome) -> str:
        """``text`` about ``out`` with the user ids its events name shown as display names."""
        ids = {i for e in out.events for i in (e.actor, e.data.get("user"), e.data.get("previous"))}
        names = await self.directory.names(str(i) for i in ids if i)
        return cards.with_names(text, names)

    async def _in_room(self, turn: Turn, inc: Incident) -> bool:
        room = await self.room_incident(turn)
        return room is not None and room.id == inc.id

    async def _list(self, turn: Turn, open_only: bool) -> None:
        incidents = await self.service.list(self.workspace, open_only=open_only, limit=25)
        data = {"incidents": [self.snapshot(i) for i in incidents], "open_only": open_only}
        title = "Open incidents" if open_only else "Recent incidents"
        await self.reply(turn, ChatMessage("digest", title, data))

    async def _timeline(self, turn: Turn, inc: Incident) -> None:
        detail = await self.service.detail(self.workspace, inc.number)
        entries = detail.timeline[-TIMELINE_SHOWN:]
        names = await self.directory.names(
            i for e in entries for i in (e.actor, e.data.get("user"), e.data.get("previous")) if i
        )
        lines = [f"{inc.ref} timeline (last {len(entries)}):"]
        lines += [f"{e.at:%Y-%m-%d %H:%M} UTC · {cards.with_names(e.text, names)}" for e in entries]
        await self.say(turn, "\n".join(lines))

    def _declare_form(self, title: str) -> ChatMessage:
        policy = self.rt.settings.policy()
        severities = [[s.name, s.description] for s in policy.severities]
        return ChatMessage(
            "declare_form",
            "Declare an incident",
            {"severities": severities, "default": policy.default.name, "title": title},
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
            missing = self.missing_room_setting(str(data.get("private")).lower() == "true")
            if missing:
                return _message_response(missing)
            out = await self.service.declare(
                self.workspace,
                c.Declare(
                    title,
                    str(data.get("severity") or "") or None,
                    summary=str(data.get("summary") or "").strip(),
                    private=str(data.get("private")).lower() == "true",
                    origin="teams",
                ),
                turn.actor,
                dedup_key=turn.dedup,
            )
            return _card_response(cards.declared(self.snapshot(out.incident)))
        if verb == cards.VERB_DECLARE_ALERTS:
            # A second click (or a redelivered invoke) finds the incident and says so.
            group = str(data.get("group") or "")
            return _message_response(await declare_from_alert_group(self.rt, group, turn.actor))
        number = _number(data.get("incident"))
        if number is None:
            return _message_response("That card is not about an incident.")
        cmd: c.Command
        if verb == cards.VERB_ACK:
            cmd = c.Acknowledge()
        elif verb == cards.VERB_RESOLVE:
            cmd = c.ChangeStatus(Status.RESOLVED)
        elif verb == cards.VERB_STATUS:
            cmd = c.ChangeStatus(
                Status(str(data.get("status") or "")), str(data.get("text") or "").strip()
            )
        elif verb == cards.VERB_UPDATE:
            text = str(data.get("text") or "").strip()
            if not text:
                return _message_response("Write the update first.")
            cmd = c.PostUpdate(text)
        else:
            return _message_response(f"Unknown action {verb!r}.")
        inc = await self.service.get(self.workspace, number)
        out = await self.service.execute(
            self.workspace,
            inc.number,
            cmd,
            turn.actor,
            from_room=await self._in_room(turn, inc),
            dedup_key=turn.dedup,
        )
        if data.get("card") == "summary":
            snap = self.snapshot(out.incident)
            names = await self.directory.names(
                cards.user_ids(ChatMessage("incident_summary", "", {"incident": snap}))
            )
            return _card_response(cards.incident_summary(snap, names))
        return _message_response(await self.named(outcome_text(out), out))

    # -- lifecycle events -------------------------------------------------------------------

    async def conversation_update(self, context: TurnContext, state: TurnState) -> None:
        """The bot joined a team, chat or 1:1: say hello (and learn the service URL)."""
        turn = await self._turn(context)
        a = context.activity
        me = a.recipient.id if a.recipient else None
        if any(m.id == me for m in a.members_added or []):
            await self.say(
                turn,
                "Hi, I'm sitrep. Mention me with **declare** and a title to "
                "start an incident, or **help** for every command.",
                ours=True,
            )

    async def installation_update(self, context: TurnContext, state: TurnState) -> None:
        """Installed or removed somewhere: just remember the service URL."""
        await self._turn(context)

    async def error(self, context: TurnContext, err: Exception) -> None:
        """An error escaped a route: log it; Teams gets a 500 and the user sees nothing odd."""
        log.error("teams turn failed", exc_info=err, extra={"activity_type": context.activity.type})


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


def teams_markdown(text: str) -> str:
    """Our Slack-flavoured help as Adaptive Card markdown, which has bold but no `code`."""
    return _CODE.sub(r"**\1**", text)


def outcome_text(out: Outcome) -> str:
    """What a command did, one line per event."""
    if out.replayed:
        return f"{out.incident.ref}: already done."
    if not out.changed:
        return f"{out.incident.ref}: nothing to change."
    return "\n".join(f"{out.incident.ref}: {e.text}" for e in out.events)


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
