"""Slack's listeners: each translates one kind of payload into a desk call.

The desk (bot/chatops/desk.py) parses, finds the room's incident, runs the command and queues
the answer; what stays here is Slack's own: reading payloads, the team check, and opening
modals while a click's ``trigger_id`` is still fresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.chatops import desk as d
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import DomainError, InvalidCommand, NotFound
from bot.domain.limits import MAX_ID, is_number
from bot.domain.model import Incident, Status
from bot.domain.policy import UnknownSeverity
from bot.ports import ChatMessage, DeliveryError, RoomRef
from bot.runtime import Runtime
from bot.service import Outcome
from integrations.slack import inbound, modals
from integrations.slack.escape import unescape_slack
from integrations.slack.port import SlackPort
from integrations.slack.public_update import parse_value

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[None]]
PIN_REACTIONS = frozenset({"pushpin", "round_pushpin"})


@dataclass
class SlackDeps:
    """What the Slack listeners need."""

    runtime: Runtime
    port: SlackPort


class SlackListeners:
    """Slack's listeners: payloads in, desk calls out; forms opened here."""

    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps
        self.desk = deps.runtime.desk
        self.workspace = deps.runtime.settings.workspace

    async def _same_team(self, body: dict[str, Any]) -> bool:
        """One install serves one workspace; requests from any other team are refused."""
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        _, ours = await self.deps.port.identity()
        if team and ours and team != ours:
            log.warning("request from another Slack team refused", extra={"team": team})
            return False
        return True

    @staticmethod
    def where(channel: str, user: str) -> d.Where:
        """Answers go to the asker only (ephemeral), in the channel they asked in."""
        return d.Where("slack", RoomRef("slack", channel), private_to=user)

    @staticmethod
    def actor(user: dict[str, Any] | str) -> Actor:
        if isinstance(user, str):
            return Actor(user)
        return Actor(user.get("id", ""), user.get("username") or user.get("name") or "")

    async def command(self, ack: Ack, body: dict[str, Any]) -> None:
        if not await self._same_team(body):
            await ack(text="This sitrep instance serves a different Slack workspace.")
            return
        await ack()
        user, channel = body.get("user_id", ""), body.get("channel_id", "")
        where, key = self.where(channel, user), inbound.intake_key(body)
        # Slack sends typed &, < and > already escaped; parse what the person typed.
        text = unescape_slack(body.get("text", ""))
        form = await self.desk.handle(where, Actor(user, body.get("user_name", "")), text, key)
        if form is not None:
            await self.desk.guarded(where, key, self._open_form(form, body, channel, key))

    async def _open_form(
        self, form: d.Form, body: dict[str, Any], channel: str, key: str | None
    ) -> None:
        if not await self.desk.claim(key):
            return  # a replay: its trigger_id was used up by the first delivery
        trigger = body.get("trigger_id", "")
        if form.incident is None:
            policy = self.desk.service.policy
            view = modals.declare_modal(
                severities=list(policy.names),
                default_severity=policy.default.name,
                channel_id=channel,
            )
        else:
            prefill = await self.desk.last_update(form.incident)
            view = modals.update_modal(
                workspace=self.workspace, number=form.incident.number, prefill=prefill
            )
        try:
            await self.deps.port.open_view(trigger, view)
        except DeliveryError as exc:
            raise DomainError(f"Slack would not open the form ({exc}); try again") from None

    # -- buttons and modals ------------------------------------------------------------------

    async def _incident_from_action(self, body: dict[str, Any]) -> Incident | None:
        action = (body.get("actions") or [{}])[0]
        for candidate in (
            action.get("value"),
            action.get("block_id"),
            body.get("view", {}).get("private_metadata"),
        ):
            number = number_from_value(candidate, self.workspace)
            if number is not None:
                return await self.desk.incident(number)
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        return await self.desk.room_incident(self.where(channel, "")) if channel else None

    async def _interaction(
        self, ack: Ack, body: dict[str, Any], work: Callable[[d.Where, str | None], Awaitable[None]]
    ) -> None:
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {}).get("id", "")
        where = self.where((body.get("channel") or {}).get("id") or "", user)
        key = inbound.intake_key(body)
        await self.desk.guarded(where, key, work(where, key))

    def _press(self, verb: str, body: dict[str, Any]) -> Callable[..., Awaitable[None]]:
        async def work(where: d.Where, key: str | None) -> None:
            inc = await self._incident_from_action(body)
            if inc is None:
                raise NotFound("that incident no longer exists")
            action = (body.get("actions") or [{}])[0]
            status = str((action.get("selected_option") or {}).get("value") or "")
            if verb == d.STATUS and status not in set(Status):
                return
            await self.desk.press(
                verb, where, self.actor(body.get("user", {})), inc.number, key, status=status
            )

        return work

    async def button_ack(self, ack: Ack, body: dict[str, Any]) -> None:
        await self._interaction(ack, body, self._press(d.ACK, body))

    async def button_resolve(self, ack: Ack, body: dict[str, Any]) -> None:
        await self._interaction(ack, body, self._press(d.RESOLVE, body))

    async def select_status(self, ack: Ack, body: dict[str, Any]) -> None:
        await self._interaction(ack, body, self._press(d.STATUS, body))

    async def button_update(self, ack: Ack, body: dict[str, Any]) -> None:
        async def work(where: d.Where, key: str | None) -> None:
            inc = await self._incident_from_action(body)
            if inc is None:
                raise NotFound("that incident no longer exists")
            await self._open_form(d.Form("update", inc), body, where.room.id, key)

        await self._interaction(ack, body, work)

    async def button_public_confirm(self, ack: Ack, body: dict[str, Any]) -> None:
        """Confirm of a previewed public update: publish exactly the previewed text."""
        value = parse_value(((body.get("actions") or [{}])[0]).get("value"))

        async def work(where: d.Where, key: str | None) -> None:
            number = number_from_value(value[0], self.workspace) if value else None
            if value is None or number is None:
                raise InvalidCommand("This button does not carry a public update.")
            cmd = d.press_command(d.PUBLISH, text=value[1])
            actor = self.actor(body.get("user", {}))
            await self.desk.run(where, number, cmd, actor, key, d.outcome_reply)

        await self._interaction(ack, body, work)

    async def button_public_cancel(self, ack: Ack, body: dict[str, Any]) -> None:
        """Cancel of a previewed public update: nothing is published."""

        async def work(where: d.Where, key: str | None) -> None:
            await self.desk.say(where, d.reply("Cancelled: nothing was published."), key)

        await self._interaction(ack, body, work)

    async def button_declare_from_alert(self, ack: Ack, body: dict[str, Any]) -> None:
        group = str(((body.get("actions") or [{}])[0]).get("value") or "")

        async def work(where: d.Where, key: str | None) -> None:
            # Declaring for a group is idempotent (a second press finds the incident); the
            # key keeps a replayed press from answering twice.
            await self.desk.declare_for_alerts(where, group, self.actor(body.get("user", {})), key)

        await self._interaction(ack, body, work)

    async def submit_declare(self, ack: Ack, body: dict[str, Any]) -> None:
        values = body.get("view", {}).get("state", {}).get("values", {})
        fields, errors = modals.read_declare_submission(values)
        sev = fields.get("severity")
        if sev:
            try:
                self.desk.service.policy.severity(sev)
            except UnknownSeverity as exc:
                errors[modals.SEVERITY_BLOCK] = str(exc)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {})
        channel = body.get("view", {}).get("private_metadata") or user.get("id", "")
        where, key = self.where(channel, user.get("id", "")), inbound.intake_key(body)
        cmd = c.Declare(
            fields["title"],
            sev,
            fields.get("summary", ""),
            bool(fields.get("private")),
            fields.get("commander") or None,
            origin="slack",
        )
        await self.desk.guarded(where, key, self.desk.declare(where, cmd, self.actor(user), key))

    async def submit_update(self, ack: Ack, body: dict[str, Any]) -> None:
        view = body.get("view", {})
        text = modals.read_update_submission(view.get("state", {}).get("values", {}))
        if not text:
            await ack(
                response_action="errors", errors={modals.UPDATE_BLOCK: "Write the update first."}
            )
            return
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {})
        number = number_from_value(view.get("private_metadata"), self.workspace)
        if number is None:
            return
        where, key = self.where(user.get("id", ""), user.get("id", "")), inbound.intake_key(body)
        cmd = c.PostUpdate(text)
        await self.desk.guarded(
            where, key, self.desk.run(where, number, cmd, self.actor(user), key)
        )

    # -- timeline capture --------------------------------------------------------------------

    async def shortcut_capture(self, ack: Ack, body: dict[str, Any]) -> None:
        message = body.get("message") or {}

        async def work(where: d.Where, key: str | None) -> None:
            inc = await self.desk.room_incident(where)
            if inc is None:
                raise DomainError("Add to timeline works in incident channels only.")
            await self._capture(inc, where, message, where.private_to or "", key, answer=True)

        await self._interaction(ack, body, work)

    async def reaction_added(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("reaction") not in PIN_REACTIONS or not await self._same_team(body):
            return
        item = event.get("item") or {}
        channel, ts = item.get("channel", ""), item.get("ts", "")
        if item.get("type") != "message" or not channel or not ts:
            return
        where = self.where(channel, event.get("user", ""))
        inc = await self.desk.room_incident(where)
        message = await self.deps.port.fetch_message(channel, ts) if inc is not None else None
        if inc is None or message is None:
            return
        await self._capture(inc, where, message, event.get("user", ""), inbound.intake_key(body))

    async def message_changed(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not await self._same_team(body):
            return
        message = event.get("message") or {}
        where = self.where(event.get("channel", ""), "")
        inc = await self.desk.room_incident(where)
        if inc is None or not message.get("ts"):
            return
        text = unescape_slack(str(message.get("text", "")))
        cmd = c.EditCapturedMessage(f"{where.room.id}/{message['ts']}", text)
        actor = Actor(message.get("user", "slack"))
        await self.desk.run(where, inc.number, cmd, actor, inbound.intake_key(body))

    async def message_deleted(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not await self._same_team(body):
            return
        where = self.where(event.get("channel", ""), "")
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        inc = await self.desk.room_incident(where)
        if inc is None or not ts:
            return
        cmd = c.DeleteCapturedMessage(f"{where.room.id}/{ts}")
        await self.desk.run(where, inc.number, cmd, Actor("slack"), inbound.intake_key(body))

    async def ignore(self) -> None:
        """Events we subscribe to only for their subtypes; acked by Bolt."""

    async def ack_only(self, ack: Ack) -> None:
        """Interactions sitrep has nothing to do for."""
        await ack()

    async def _capture(
        self,
        inc: Incident,
        where: d.Where,
        message: dict[str, Any],
        by: str,
        key: str | None,
        *,
        answer: bool = False,
    ) -> None:
        ts = str(message.get("ts", ""))
        link = await self.deps.port.permalink(where.room.id, ts)
        cmd = d.capture_command(
            f"{where.room.id}/{ts}",
            str(message.get("user") or message.get("username") or "unknown"),
            # Slack escapes & < > in message text; the timeline stores what the person wrote.
            unescape_slack(str(message.get("text", ""))),
            link,
            _ts_to_datetime(ts),
        )
        ref = inc.ref

        def captured(out: Outcome) -> ChatMessage:
            return d.reply(
                f"Added to the {ref} timeline."
                if out.changed
                else f"Already on the {ref} timeline."
            )

        await self.desk.run(where, inc.number, cmd, Actor(by), key, captured if answer else None)


def number_from_value(value: Any, workspace: str) -> int | None:
    """The incident number in a button value or form metadata (``workspace:number``).

    ASCII digits only and within an id's range: ``str.isdigit`` also accepts ``²``, which
    ``int`` refuses.
    """
    if not isinstance(value, str) or ":" not in value:
        return None
    ws, _, number = value.rpartition(":")
    if not is_number(number) or len(number) > len(str(MAX_ID)) or not 1 <= int(number) <= MAX_ID:
        return None
    if ws and ws.split(":")[-1] != workspace:
        return None
    return int(number)


def _ts_to_datetime(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError):
        return None
