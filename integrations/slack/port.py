"""The Slack ChatPort: the outbox worker's hands on the Slack Web API.

Each method is one or two Web API calls. Errors become ``DeliveryError``: rate limits carry
``Retry-After``, errors a retry cannot fix (bad auth, bad blocks, archived channel) are
permanent so the message is parked instead of retried forever.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import DELIVERY_KEY
from bot.people import PeopleDirectory, named_message, people_in
from bot.ports import ChatMessage, DeliveryError, MessageRef, RoomRef, RoomSpec, WellKnownRoom
from integrations.slack.blocks import render
from integrations.slack.escape import escape_plain
from integrations.slack.naming import channel_name, next_candidate

log = logging.getLogger(__name__)

EPHEMERAL_FALLBACK = frozenset(
    {"user_not_in_channel", "not_in_channel", "channel_not_found", "is_archived"}
)
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
# Message metadata tags every post with its outbox key, so a retry after a crash can look in
# the channel (or thread) for the message the dead process already posted.
DELIVERY_EVENT = "sitrep_delivery"
# How far back a retry looks; a crashed delivery is retried within minutes, so its message
# is among the channel's latest.
LOOKBACK = 200
MAX_NAME_ATTEMPTS = 20
TOPIC_LIMIT = 250

# Errors that no retry will fix; the message is parked for a person to look at.
PERMANENT = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "channel_not_found",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "restricted_action",
        "user_not_found",
        "invalid_name_specials",
        "invalid_name_maxlength",
        "invalid_name_required",
        "invalid_name_punctuation",
        "invalid_arguments",
        "too_long",
        "thread_not_found",
    }
)


class SlackPort:
    """ChatPort over one workspace's bot token."""

    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        broadcast_channel: str,
        alerts_channel: str,
        channel_prefix: str = "inc",
    ) -> None:
        self.client = client
        self.broadcast_channel = broadcast_channel.lstrip("#")
        self.alerts_channel = alerts_channel.lstrip("#")
        self.channel_prefix = channel_prefix
        self._bot_user: str | None = None
        self._team: str | None = None
        self._channel_ids: dict[str, str] = {}
        # Names for the ids Slack cannot render itself (Teams, web and API people); see
        # show_people_from.
        self.people: PeopleDirectory | None = None
        self.workspace = ""

    def show_people_from(self, people: PeopleDirectory, workspace: str) -> None:
        """Name non-Slack ids in messages from ``people`` (Slack ids stay ``<@U…>`` mentions)."""
        self.people, self.workspace = people, workspace

    async def _render(self, message: ChatMessage) -> tuple[str, list[dict[str, Any]]]:
        # A notice's text is plain (escaped): a Slack id in it would show as the raw id, and
        # a mention would ping whoever acted. Its people are shown by name instead.
        return render(await self._named(message, slack_users=message.kind == "notice"))

    async def _named(self, message: ChatMessage, *, slack_users: bool = False) -> ChatMessage:
        """``message`` with its people shown by name: only non-Slack ids, unless
        ``slack_users`` (where Slack renders no ``<@U…>`` mentions); unknown ids stay ids."""
        # Whom a notice addresses keeps their id: the renderer turns it into the ping.
        addressed = {str((message.data or {}).get(k) or "") for k in ("mention", "escalate_to")}
        wanted = {
            u
            for u in people_in(message)
            if not USER_ID.match(u) or (slack_users and u not in addressed)
        }
        if wanted and self.people is not None:
            try:
                names = await self.people.names(self.workspace, wanted)
            except Exception as exc:  # a name is cosmetic: the message still goes out
                log.warning("slack: naming people failed: %s", type(exc).__name__)
            else:
                message = named_message(message, names)
        return message

    async def identity(self) -> tuple[str, str]:
        """(bot user id, team id), from ``auth.test`` once."""
        if self._bot_user is None or self._team is None:
            resp = await self._call("auth.test")
            self._bot_user = str(resp.get("user_id", ""))
            self._team = str(resp.get("team_id", ""))
        return self._bot_user, self._team

    def well_known_room(self, workspace: str, name: WellKnownRoom) -> RoomRef | None:
        """The broadcast or alerts channel, by name (chat.postMessage accepts names)."""
        channel = self.broadcast_channel if name == "broadcast" else self.alerts_channel
        return RoomRef(self.platform, channel, channel) if channel else None

    async def open_room(self, spec: RoomSpec) -> RoomRef:
        """Create ``inc-<n>-<slug>``; on ``name_taken`` try the next free name."""
        base = channel_name(spec.incident_number, spec.title, prefix=self.channel_prefix)
        name = base
        for attempt in range(2, MAX_NAME_ATTEMPTS + 2):
            try:
                resp = await self._call("conversations.create", name=name, is_private=spec.private)
            except DeliveryError as exc:
                if str(exc) != "name_taken":
                    raise
                # A retry after a lost answer (timeout, crash) finds the channel it created:
                # adopt it rather than open a second room for the same incident.
                own = None if spec.private else await self._own_channel(name)
                if own is not None:
                    return await self._room(own)
                name = next_candidate(base, attempt)
                continue
            return await self._room(resp["channel"])
        raise DeliveryError(f"no free channel name after {MAX_NAME_ATTEMPTS} tries: {base}")

    async def _room(self, channel: dict[str, Any]) -> RoomRef:
        _, team = await self.identity()
        url = f"https://app.slack.com/client/{team}/{channel['id']}" if team else ""
        return RoomRef(self.platform, channel["id"], channel.get("name", ""), url)

    async def _own_channel(self, name: str) -> dict[str, Any] | None:
        """The live public channel called ``name`` if this bot created it, else None."""
        bot, _ = await self.identity()
        channel = await self._public_channel(name)
        return channel if channel is not None and bot and channel.get("creator") == bot else None

    async def _public_channel(self, name: str) -> dict[str, Any] | None:
        """The live public channel called ``name``, paging through the list; ids seen on the
        way are remembered for ``_channel_id``."""
        cursor: str | None = None
        while True:
            resp = await self._call(
                "conversations.list",
                types="public_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            found = None
            for channel in resp.get("channels") or []:
                self._channel_ids[str(channel.get("name"))] = str(channel["id"])
                if channel.get("name") == name:
                    found = channel
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if found is not None or cursor is None:
                return found

    async def invite(self, room: RoomRef, users: list[str]) -> None:
        """Invite people one by one, so one bad id doesn't block the others."""
        bot, _ = await self.identity()
        for user in users:
            if not USER_ID.match(user) or user == bot:
                continue  # CLI/API actors and our own bot are not Slack users to invite
            try:
                await self._call("conversations.invite", channel=room.id, users=user)
            except DeliveryError as exc:
                if str(exc) in (
                    "already_in_channel",
                    "cant_invite_self",
                    "user_not_found",
                    "user_is_restricted",
                    "cant_invite",
                ):
                    log.info("invite skipped", extra={"user": user, "reason": str(exc)})
                    continue
                raise

    async def set_topic(self, room: RoomRef, topic: str, people: Sequence[str] = ()) -> None:
        """Set the channel topic (Slack caps it at 250 characters), ``people`` shown by name;
        neither titles nor names can ping."""
        # A topic "does not support formatting" (Slack's API docs): a <@U…> mention would show
        # as typed, so Slack users are named here too, through the same path as notices.
        line = ChatMessage("topic", topic, {"people": list(people)})
        topic = escape_plain((await self._named(line, slack_users=True)).text)
        if len(topic) > TOPIC_LIMIT:
            topic = topic[: TOPIC_LIMIT - 1] + "…"
        await self._call("conversations.setTopic", channel=room.id, topic=topic)

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        """Post (or, for ``reply`` messages, post ephemerally to one user)."""
        text, blocks = await self._render(message)
        if message.kind == "reply" and message.data.get("user"):
            user = message.data["user"]
            try:
                await self._call(
                    "chat.postEphemeral", channel=room.id, user=user, text=text, blocks=blocks
                )
            except DeliveryError as exc:
                # Ephemeral messages need the asker (and us) in the channel; a DM always works.
                if str(exc) not in EPHEMERAL_FALLBACK:
                    raise
                return await self.send_direct("", user, message)
            return MessageRef(self.platform, room.id, "ephemeral")
        args: dict[str, Any] = {
            "channel": room.id,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread is not None:
            args["thread_ts"] = thread.id
        key = DELIVERY_KEY.get()
        if key is not None:
            args["metadata"] = {"event_type": DELIVERY_EVENT, "event_payload": {"key": key}}
        try:
            resp = await self._call("chat.postMessage", **args)
        except DeliveryError as exc:
            if str(exc) != "not_in_channel":
                raise
            # The broadcast channel may be public and not yet joined: join once and retry.
            await self._call("conversations.join", channel=room.id)
            resp = await self._call("chat.postMessage", **args)
        channel = str(resp["channel"])
        if room.id != channel:
            self._channel_ids[room.id] = channel  # posted by name: remember its id
        return MessageRef(self.platform, channel, str(resp["ts"]))

    async def find_posted(
        self, room: RoomRef, key: str, thread: MessageRef | None = None
    ) -> MessageRef | None:
        """The message an earlier attempt posted under outbox ``key``, found by its metadata."""
        channel = thread.room_id if thread is not None else await self._channel_id(room)
        if channel is None:
            return None
        history: dict[str, Any] = {"channel": channel, "include_all_metadata": True}
        try:
            if thread is not None:
                resp = await self._call("conversations.replies", ts=thread.id, **history)
            else:
                resp = await self._call("conversations.history", limit=LOOKBACK, **history)
        except DeliveryError as exc:
            if str(exc) in ("not_in_channel", "channel_not_found"):
                return None  # we cannot have posted where we cannot read
            raise
        for message in resp.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == DELIVERY_EVENT and payload.get("key") == key:
                return MessageRef(self.platform, channel, str(message["ts"]))
        return None

    async def _channel_id(self, room: RoomRef) -> str | None:
        """A channel's id; the broadcast and alerts channels are configured by name."""
        if CHANNEL_ID.match(room.id):
            return room.id
        name = room.id.lstrip("#")
        if name not in self._channel_ids:
            await self._public_channel(name)
        return self._channel_ids.get(name)

    async def update_message(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        """Edit a message in place."""
        text, blocks = await self._render(message)
        await self._call("chat.update", channel=ref.room_id, ts=ref.id, text=text, blocks=blocks)
        return ref

    async def pin(self, ref: MessageRef) -> None:
        """Pin a message; pinning twice is fine."""
        try:
            await self._call("pins.add", channel=ref.room_id, timestamp=ref.id)
        except DeliveryError as exc:
            if str(exc) != "already_pinned":
                raise

    async def bookmark(self, room: RoomRef, title: str, url: str) -> None:
        """Add a link bookmark to the channel."""
        await self._call(
            "bookmarks.add", channel_id=room.id, title=title[:100], type="link", link=url
        )

    async def send_direct(self, workspace: str, user: str, message: ChatMessage) -> MessageRef:
        """Open a DM with ``user`` and post there."""
        if not USER_ID.match(user):
            raise DeliveryError(f"not a Slack user id: {user!r}", permanent=True)
        resp = await self._call("conversations.open", users=user)
        channel = resp["channel"]["id"]
        return await self.post_message(RoomRef(self.platform, channel), message)

    # -- for the listeners: a modal opened while the click is fresh, and reads ------------------

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal now (its ``trigger_id`` expires in seconds); DeliveryError names
        Slack's refusal."""
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            raise DeliveryError(str(exc.response.get("error")), permanent=True) from None

    async def fetch_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A message (top-level or in a thread) by its timestamp, or None."""
        try:
            resp = await self.client.conversations_history(
                channel=channel, latest=ts, inclusive=True, limit=1
            )
            for m in resp.get("messages") or []:
                if m.get("ts") == ts:
                    return dict(m)
            resp = await self.client.conversations_replies(channel=channel, ts=ts, limit=1)
            for m in resp.get("messages") or []:
                if m.get("ts") == ts:
                    return dict(m)
        except SlackApiError as exc:
            log.warning(
                "could not fetch pinned message",
                extra={"channel": channel, "error": exc.response.get("error")},
            )
        return None

    async def permalink(self, channel: str, ts: str) -> str:
        """A message's permalink ("" when Slack will not say)."""
        try:
            resp = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError:
            return ""  # a timeline entry is worth keeping without its link
        return str(resp.get("permalink", ""))

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            resp = await self.client.api_call(method, json=_drop_none(kwargs))
        except SlackApiError as exc:
            raise _delivery_error(exc) from None
        except (ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{method}: {type(exc).__name__}: {exc}") from None
        return resp.data


def _drop_none(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def _delivery_error(exc: SlackApiError) -> DeliveryError:
    resp = exc.response
    status = getattr(resp, "status_code", 200)
    data = resp.data if isinstance(getattr(resp, "data", None), dict) else {}
    error = str(data.get("error") or f"http_{status}")
    if status == 429 or error == "ratelimited":
        headers = getattr(resp, "headers", {}) or {}
        retry_after = _retry_after(headers)
        return DeliveryError(error, retry_after=retry_after)
    if status >= 500:
        return DeliveryError(error)
    return DeliveryError(error, permanent=error in PERMANENT)


def _retry_after(headers: Any) -> float:
    for key in ("Retry-After", "retry-after"):
        value = headers.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                break
    return 1.0
