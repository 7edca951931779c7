"""The Teams ChatPort: the outbox worker's hands on the Bot Connector and Microsoft Graph.

Rooms (``RoomRef.extra["kind"]``):

- ``thread`` (default): a new conversation in the incidents channel, started proactively with
  ``POST /v3/conversations``; its id is ``<channel>;messageid=<root>`` and everything for the
  incident is posted into it.
- ``channel``: a dedicated channel per incident made through Graph
  (``SITREP_TEAMS_CREATE_CHANNELS=true``); messages are top-level posts in it. The configured
  broadcast and alerts channels are ``channel`` rooms too; a message with a ``thread`` goes
  into that message's reply chain (``<channel>;messageid=<id>``).
- ``chat``: a Graph group chat for a private incident, with the bot installed in it.
- ``personal``: a private incident with a single person runs in their 1:1 chat with sitrep.

Teams has no pins and no channel topic for threads; those calls say what they do instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from bot.chatops.grammar import HELP_TEXT
from bot.config import Settings
from bot.people import PeopleDirectory
from bot.ports import ChatMessage, DeliveryError, MessageRef, RoomRef, RoomSpec, WellKnownRoom
from integrations.teams import cards
from integrations.teams.directory import TeamsDirectory
from integrations.teams.graph import GraphClient, GraphError, channel_display_name
from integrations.teams.public_update import preview_card
from integrations.teams.sdk import TeamsBot, card_activity
from integrations.teams.search_card import search_card

log = logging.getLogger(__name__)

PLATFORM = "teams"
MAX_NAME_ATTEMPTS = 10
DESCRIPTION_MAX = 1024


class TeamsPort:
    """ChatPort over one Teams tenant."""

    platform = PLATFORM

    def __init__(
        self,
        bot: TeamsBot,
        directory: TeamsDirectory,
        settings: Settings,
        graph: GraphClient | None = None,
        *,
        people: PeopleDirectory | None = None,
    ) -> None:
        self.bot = bot
        self.directory = directory
        self.settings = settings
        self.graph = graph
        self.people = people

    def well_known_room(self, workspace: str, name: WellKnownRoom) -> RoomRef | None:
        """The configured broadcast or alerts channel."""
        s = self.settings
        channel = s.teams_broadcast_channel_id if name == "broadcast" else s.teams_alerts_channel_id
        if not channel:
            return None
        return RoomRef(PLATFORM, channel, name, extra={"kind": "channel"})

    # -- rooms ------------------------------------------------------------------------------

    async def open_room(self, spec: RoomSpec) -> RoomRef:
        """A group chat when private, a Graph channel when configured, else a new thread."""
        if spec.private:
            return await self._open_private(spec)
        if self.settings.teams_create_channels:
            return await self._open_channel(spec)
        return await self._open_thread(spec)

    async def _open_thread(self, spec: RoomSpec) -> RoomRef:
        channel = self.settings.teams_incidents_channel_id
        if not channel:
            raise DeliveryError("SITREP_TEAMS_INCIDENTS_CHANNEL_ID is not set", permanent=True)
        service = await self.directory.service()
        root = cards.room_root(spec.incident_number, spec.title, "thread")
        thread, root_id = await self.bot.create_thread(
            service.url, channel, service.tenant_id, card_activity(root)
        )
        return RoomRef(
            PLATFORM,
            thread,
            f"INC-{spec.incident_number} {spec.title}",
            url=self._message_link(channel, root_id, service.tenant_id),
            extra={"kind": "thread", "channel_id": channel, "root_id": root_id},
        )

    async def _open_channel(self, spec: RoomSpec) -> RoomRef:
        graph, team = self._graph(), self.settings.teams_team_id
        if not team:
            raise DeliveryError(
                "SITREP_TEAMS_TEAM_ID is required to create channels", permanent=True
            )
        marker = _marker(spec)
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            suffix = "" if attempt == 1 else f" ({attempt})"
            name = channel_display_name(spec.incident_number, spec.title, suffix)
            try:
                channel = await graph.create_channel(team, name, _description(spec.title, marker))
            except GraphError as exc:
                if not exc.name_taken:
                    raise
                existing = await graph.find_channel(team, name)
                # Ours from an attempt that crashed before its ref was stored: reuse, don't fork.
                if existing and marker in str(existing.get("description") or ""):
                    channel = existing
                else:
                    continue
            return RoomRef(
                PLATFORM,
                str(channel["id"]),
                str(channel.get("displayName") or name),
                url=str(channel.get("webUrl") or ""),
                extra={"kind": "channel", "team_id": team, "marker": marker, "graph": True},
            )
        raise DeliveryError(
            f"no free channel name for INC-{spec.incident_number} after {MAX_NAME_ATTEMPTS} tries",
            permanent=True,
        )

    async def _open_private(self, spec: RoomSpec) -> RoomRef:
        people = list(spec.members) or await self.directory.incident_people(spec.incident_number)
        people = [p for p in dict.fromkeys(people) if cards.is_teams_user(p)]
        if not people:
            raise DeliveryError(
                f"private INC-{spec.incident_number} has nobody on Teams to hold its chat",
                permanent=True,
            )
        service = await self.directory.service()
        if len(people) == 1:
            # Graph will not build a group chat around one person; their 1:1 chat with sitrep
            # is just as private.
            conversation = await self.bot.create_personal(service.url, people[0], service.tenant_id)
            return RoomRef(
                PLATFORM,
                conversation,
                f"INC-{spec.incident_number} {spec.title}",
                extra={"kind": "personal", "user": people[0]},
            )
        graph = self._graph()
        entra = await self.directory.entra_ids(people)
        missing = [p for p in people if p not in entra]
        if missing:
            log.warning(
                "private incident: people without a known Entra id left out",
                extra={"incident": spec.incident_number, "missing": len(missing)},
            )
        if len(entra) < 2:
            raise DeliveryError(
                f"private INC-{spec.incident_number}: Entra ids unknown for {len(missing)} of "
                f"{len(people)} people (they must message sitrep in Teams once)",
                permanent=True,
            )
        topic = f"INC-{spec.incident_number} {spec.title}"[:250]
        chat = await graph.create_group_chat(topic, list(entra.values()))
        chat_id = str(chat["id"])
        if self.settings.teams_catalog_app_id:
            await graph.install_app(chat_id, self.settings.teams_catalog_app_id)
        else:
            log.warning(
                "SITREP_TEAMS_CATALOG_APP_ID unset: sitrep cannot add itself to the "
                "private chat; posts fail until someone adds the app"
            )
        return RoomRef(
            PLATFORM, chat_id, topic, url=str(chat.get("webUrl") or ""), extra={"kind": "chat"}
        )

    async def invite(self, room: RoomRef, users: list[str]) -> None:
        """Chats: add members through Graph. Threads and channels: page people with a mention.

        Every team member already sees a channel, so there is nobody to add; a mention is how
        Teams pulls someone into a thread (it notifies them and makes them follow it).
        """
        people = [u for u in dict.fromkeys(users) if cards.is_teams_user(u)]
        kind = room.extra.get("kind")
        if not people:
            return
        if kind == "chat":
            graph = self._graph()
            entra = await self.directory.entra_ids(people)
            for user in people:
                if user in entra:
                    await graph.add_chat_member(room.id, entra[user])
                else:
                    log.info("chat invite skipped: Entra id unknown", extra={"user": user})
            return
        if kind == "personal":
            others = [p for p in people if p != room.extra.get("user")]
            if others:
                names = await self._names(others)
                shown = ", ".join(names.get(p, "someone") for p in others)
                await self.post_message(
                    room,
                    ChatMessage(
                        "notice", f"Teams cannot add people to a 1:1 chat; {shown} was not added."
                    ),
                )
            return
        names = await self._names(people)
        await self._send(room.id, cards.paging(people, names))

    async def set_topic(self, room: RoomRef, topic: str, people: Sequence[str] = ()) -> None:
        """Graph channels: the channel description, ``people`` shown by name. Threads and
        chats: nothing.

        A thread has no topic of its own and renaming a group chat on every change would spam
        its members with rename notices; the pinned-in-spirit summary card, updated in place,
        carries the same line.
        """
        if room.extra.get("kind") != "channel" or not room.extra.get("graph"):
            return
        # As in notices: ids nobody can name stay ids.
        topic = cards.with_names(topic, await self._names(people))
        team = str(room.extra.get("team_id") or self.settings.teams_team_id or "")
        marker = str(room.extra.get("marker") or "")
        await self._graph().update_channel(team, room.id, _description(topic, marker))

    # -- messages ---------------------------------------------------------------------------

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        """Post a card; with ``thread`` in a channel, as a reply in that message's chain."""
        conversation = room.id
        if thread is not None and room.extra.get("kind") == "channel":
            conversation = f"{room.id.split(';', 1)[0]};messageid={thread.id}"
        rendered = await self._render(message)
        activity_id = await self._send(conversation, rendered)
        return MessageRef(PLATFORM, conversation, activity_id)

    async def update_message(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        """Replace a card in place (``PUT /v3/conversations/{id}/activities/{id}``)."""
        rendered = await self._render(message)
        service = await self.directory.service()
        await self.bot.update(
            service.url, ref.room_id, ref.id, card_activity(rendered), service.tenant_id
        )
        return ref

    async def pin(self, ref: MessageRef) -> None:
        """Nothing: bots cannot pin in Teams. The summary card stays current by being updated."""

    async def bookmark(self, room: RoomRef, title: str, url: str) -> None:
        """Post the link as a card with an "Open" button.

        Teams' equivalent of a bookmark is a channel tab, which needs ``TeamsTab.Create``
        on top of everything else; a link card in the room is honest and needs nothing more.
        """
        if not url.startswith(("https://", "http://")):
            log.info("bookmark skipped: not an http(s) link", extra={"title": title})
            return
        await self._send(room.id, cards.link(title, url))

    async def send_direct(self, workspace: str, user: str, message: ChatMessage) -> MessageRef:
        """Open (or reuse) the 1:1 chat with ``user`` and post there."""
        if not cards.is_teams_user(user):
            raise DeliveryError(f"not a Teams user id: {user!r}", permanent=True)
        service = await self.directory.service()
        conversation = await self.bot.create_personal(service.url, user, service.tenant_id)
        return await self.post_message(
            RoomRef(PLATFORM, conversation, extra={"kind": "personal"}), message
        )

    # -- helpers ----------------------------------------------------------------------------

    async def _names(self, ids: Iterable[str]) -> dict[str, str]:
        """Names of ``ids`` from the people directory (any platform's ids, the web's, the
        API's), else from the Teams roster alone; ids nobody can name are left out."""
        wanted = [i for i in ids if i]
        if not wanted:
            return {}
        if self.people is None:
            return await self.directory.names(wanted)
        found = await self.people.names(self.directory.workspace, wanted)
        return {i: n for i, n in found.items() if n != i}

    async def _render(self, message: ChatMessage) -> cards.RenderedCard:
        names = await self._names(cards.user_ids(message))
        if names and message.text:
            # Notices carry ids in their text; people should read names.
            message = replace(message, text=cards.with_names(message.text, names))
        return render_message(message, names)

    async def _send(self, conversation: str, rendered: cards.RenderedCard) -> str:
        service = await self.directory.service()
        return await self.bot.send(
            service.url, conversation, card_activity(rendered), service.tenant_id
        )

    def _graph(self) -> GraphClient:
        if self.graph is None:
            raise DeliveryError(
                "Microsoft Graph is not available (no Teams credentials)", permanent=True
            )
        return self.graph

    def _message_link(self, channel: str, message_id: str, tenant: str | None) -> str:
        team = self.settings.teams_team_id
        if not team or not message_id:
            return ""
        query = f"groupId={quote(team)}&parentMessageId={quote(message_id)}"
        if tenant:
            query += f"&tenantId={quote(tenant)}"
        return f"https://teams.microsoft.com/l/message/{quote(channel)}/{quote(message_id)}?{query}"


def render_message(message: ChatMessage, names: dict[str, str]) -> cards.RenderedCard:
    """Cards for the core's kinds plus the Teams-only ones the handler asks for."""
    data: dict[str, Any] = message.data or {}
    if message.kind == "reply":
        return _reply(message, data, names)
    if message.kind == "declare_form":
        severities = [(str(s[0]), str(s[1])) for s in data.get("severities", [])]
        return cards.declare_form(
            severities, str(data.get("default", "")), str(data.get("title", ""))
        )
    if message.kind == "update_form" and isinstance(data.get("incident"), dict):
        return cards.update_prompt(data["incident"])
    return cards.render(message, names)


def _reply(message: ChatMessage, data: dict[str, Any], names: dict[str, str]) -> cards.RenderedCard:
    """The desk's neutral reply (``data["shows"]``) as Teams draws it."""
    help_text = cards.teams_markdown(HELP_TEXT)
    match data.get("shows"):
        case "usage":
            return cards.reply(f"{message.text}\nUsage: {data.get('usage', '')}")
        case "help":
            return cards.reply(help_text, ours=True)
        case "unknown":
            return cards.reply(
                f'I don\'t know "{str(data.get("unknown", ""))[:100]}".', help_text=help_text
            )
        case "not_a_room":
            return cards.reply(
                "This isn't an incident room. Run that in the incident's thread or chat, name "
                "it (INC-42 status identified), or start one with: incident declare <title>"
            )
        case "list":
            return cards.digest(data, message.text)
        case "search":
            return search_card(data, message.text)
        case "public_preview":
            return preview_card(data, message.text)
        case "summary" if isinstance(data.get("incident"), dict):
            return cards.incident_summary(data["incident"], names)
        case "timeline":
            entries = [e for e in data.get("entries") or [] if isinstance(e, dict)]
            lines = [f"{data.get('ref', '')} timeline (last {len(entries)}):"]
            for e in entries:
                at = str(e.get("at") or "")[:16].replace("T", " ")
                lines.append(f"{at} UTC · {cards.with_names(str(e.get('text', '')), names)}")
            return cards.reply("\n".join(lines))
    return cards.reply(
        message.text, ours=bool(data.get("ours")), help_text=str(data.get("help") or "")
    )


def _marker(spec: RoomSpec) -> str:
    return f"sitrep:{spec.workspace}:INC-{spec.incident_number}"


def _description(text: str, marker: str) -> str:
    tail = f"\n{marker}" if marker else ""
    body = text[: DESCRIPTION_MAX - len(tail)]
    return body + tail
