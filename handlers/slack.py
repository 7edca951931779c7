"""Slack traffic → core commands. Ack at once, then work; never call chat APIs for others here.

What people see is planned by the core and delivered by the outbox. The exceptions are
Slack's synchronous UI calls that must happen within seconds of a click (``views.open``
with its ``trigger_id``) and reads (fetching a pinned message's text).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chatops import grammar as g
from bot.chatops.commands import incident_command
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import DomainError, NotFound
from bot.domain.metrics import compute_metrics, format_duration
from bot.domain.model import Incident, Status
from bot.domain.policy import UnknownSeverity
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage, RoomRef
from bot.repository import Repo
from bot.runtime import Runtime
from bot.service import Outcome
from handlers.chat_alerts import create_maintenance_from_chat, declare_from_alert_group
from handlers.middleware import json_error
from integrations.slack import inbound, modals
from integrations.slack.escape import escape_mrkdwn, mention, unescape_slack
from integrations.slack.port import SlackPort

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[None]]
PIN_REACTIONS = frozenset({"pushpin", "round_pushpin"})
TIMELINE_SHOWN = 30


@dataclass
class SlackDeps:
    """What the Slack listeners need."""

    runtime: Runtime
    client: AsyncWebClient
    port: SlackPort


def mount(app: web.Application) -> None:
    """Add ``POST /slack/events`` (commands, interactivity and events share it)."""
    app.router.add_post("/slack/events", slack_events)


async def slack_events(request: web.Request) -> web.StreamResponse:
    """Verify, decode and check a Slack request, then hand it to Bolt.

    Nothing reaches Bolt unverified: a refusal is a 4xx with the reason and one short log
    line (method, path, reason, size), never the body.
    """
    from integrations.slack.setup import SLACK

    state = request.app[SLACK]
    if state.bolt is None or not state.http_enabled or not state.signing_secret:
        return json_error(
            404,
            "Slack HTTP mode is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET",
        )
    size = request.content_length
    try:
        body = await _read_body(request)
        size = len(body)
        inbound.verify_signature(request.headers, body, state.signing_secret, time.time())
        text = inbound.decode(body, _charset(request))
        body_json = inbound.parse(text, _content_type(request))
    except inbound.Refused as exc:
        inbound.log_refusal(request.method, request.path, exc.reason, size)
        return json_error(exc.status, exc.reason)
    bolt_request = inbound.bolt_request(text, body_json, request.query_string, request.headers)
    return await to_aiohttp_response(await state.bolt.async_dispatch(bolt_request))


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > inbound.MAX_BODY:
        raise inbound.Refused(413, "body is over the 1 MiB limit")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise inbound.Refused(413, "body is over the 1 MiB limit") from None
    if len(body) > inbound.MAX_BODY:
        raise inbound.Refused(413, "body is over the 1 MiB limit")
    return body


def _content_type(request: web.Request) -> str | None:
    # Bolt's reading of the header (the part before ";"), so both parse the body alike.
    value = request.headers.get("Content-Type")
    return value.split(";")[0] if value else None


def _charset(request: web.Request) -> str | None:
    value = request.headers.get("Content-Type") or ""
    for param in value.split(";")[1:]:
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset":
            return charset.strip().strip('"')
    return None


def register(bolt: AsyncApp, deps: SlackDeps) -> None:
    """Attach every listener to a fresh Bolt app (nothing is registered at import time)."""
    h = _Listeners(deps)
    bolt.command("/incident")(h.command)
    bolt.action("sitrep.ack")(h.button_ack)
    bolt.action("sitrep.resolve")(h.button_resolve)
    bolt.action("sitrep.status")(h.select_status)
    bolt.action("sitrep.update")(h.button_update)
    bolt.action("sitrep.declare_from_alert")(h.button_declare_from_alert)
    bolt.view("sitrep.declare")(h.submit_declare)
    bolt.view("sitrep.update")(h.submit_update)
    bolt.shortcut("sitrep.add_to_timeline")(h.shortcut_capture)
    bolt.event("reaction_added")(h.reaction_added)
    bolt.event({"type": "message", "subtype": "message_changed"})(h.message_changed)
    bolt.event({"type": "message", "subtype": "message_deleted"})(h.message_deleted)
    bolt.event("message")(h.ignore)
    bolt.event("reaction_removed")(h.ignore)
    bolt.event("app_mention")(h.ignore)
    # Whatever else Slack sends (link buttons, closed modals, other events) is acknowledged:
    # unmatched, Bolt would answer 404, which Slack retries, and log the whole body.
    anything = re.compile(".*")
    bolt.action(anything)(h.ack_only)
    bolt.view(anything)(h.ack_only)
    bolt.view({"type": "view_closed", "callback_id": anything})(h.ack_only)
    bolt.shortcut(anything)(h.ack_only)
    bolt.event(anything)(h.ignore)


class _Listeners:
    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps
        self.rt = deps.runtime
        self.service = deps.runtime.service
        self.workspace = deps.runtime.settings.workspace

    # -- plumbing ----------------------------------------------------------------------------

    async def _same_team(self, body: dict[str, Any]) -> bool:
        """One install serves one workspace; requests from any other team are refused."""
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        _, ours = await self.deps.port.identity()
        if team and ours and team != ours:
            log.warning("request from another Slack team refused", extra={"team": team})
            return False
        return True

    async def reply(
        self, channel: str, user: str, text: str, *, ours: bool = False, key: str | None = None
    ) -> None:
        """An ephemeral answer to the person who asked, delivered through the outbox.

        ``ours`` marks text sitrep built itself with user content already escaped, so the
        renderer keeps its mentions; anything else is escaped on the way out. ``key`` is the
        request's intake key: a replayed request gets no second answer.
        """
        message = ChatMessage("reply", text, {"user": user, "ours": ours})
        intent = OutboxIntent(
            workspace=self.workspace,
            platform="slack",
            ordering_key=f"reply:{user}",
            action=Action.POST.value,
            payload={"room_ref": RoomRef("slack", channel).to_json(), "message": message.to_json()},
            idempotency_key=f"reply:{uuid.uuid4().hex}",
        )
        now = self.rt.clock.now()

        def work(repo: Repo) -> None:
            if key is None or repo.first_sighting(f"{key}:reply", now):
                repo.enqueue([intent], now)

        await self.rt.db.run(work)
        if self.rt.worker is not None:
            self.rt.worker.wake()

    async def first_sighting(self, key: str | None) -> bool:
        """Claim a request's intake key for work outside the database (opening a form)."""
        if key is None:
            return True
        now = self.rt.clock.now()
        return await self.rt.db.run(lambda repo: repo.first_sighting(key, now))

    def actor(self, user: dict[str, Any] | str) -> Actor:
        if isinstance(user, str):
            return Actor(user)
        return Actor(user.get("id", ""), user.get("username") or user.get("name") or "")

    async def room_incident(self, channel: str) -> Incident | None:
        ws = self.workspace
        return await self.rt.db.run(lambda repo: repo.incident_for_room(ws, "slack", channel))

    async def run(
        self, number: int, cmd: c.Command, actor: Actor, *, dedup: str | None = None
    ) -> Outcome:
        return await self.service.execute(self.workspace, number, cmd, actor, dedup_key=dedup)

    async def guarded(
        self, channel: str, user: str, work: Awaitable[None], key: str | None = None
    ) -> None:
        """Run ``work``; turn refusals into an ephemeral line instead of silence."""
        try:
            await work
        except g.GrammarError as exc:
            await self.reply(channel, user, f"{exc}\nUsage: `{exc.usage}`", key=key)
        except (DomainError, UnknownSeverity) as exc:
            await self.reply(channel, user, str(exc), key=key)
        except Exception:
            log.exception("slack command failed")
            await self.reply(
                channel, user, "Something went wrong on our side; it is logged.", key=key
            )

    # -- /incident ---------------------------------------------------------------------------

    async def command(self, ack: Ack, body: dict[str, Any]) -> None:
        if not await self._same_team(body):
            await ack(text="This sitrep instance serves a different Slack workspace.")
            return
        await ack()
        user, channel = body.get("user_id", ""), body.get("channel_id", "")
        actor = Actor(user, body.get("user_name", ""))
        # Slack sends typed &, < and > already escaped; parse what the person typed.
        text = unescape_slack(body.get("text", ""))
        key = inbound.intake_key(body)
        await self.guarded(channel, user, self._command(text, actor, channel, body, key), key)

    async def _command(
        self, text: str, actor: Actor, channel: str, body: dict[str, Any], key: str | None
    ) -> None:
        parsed = g.parse(text)
        user = actor.id
        match parsed:
            case g.OpenDeclareForm():
                await self._open_declare_modal(body.get("trigger_id", ""), channel, key)
                return
            case g.Declare(title=title, severity=sev, private=private):
                out = await self.service.declare(
                    self.workspace,
                    c.Declare(title, sev, private=private, origin="slack"),
                    actor,
                    dedup_key=key,
                )
                if out.replayed:
                    return  # the first delivery declared and answered
                inc = out.incident
                await self.reply(
                    channel,
                    user,
                    f"{inc.ref} declared ({inc.severity}): "
                    f"{inc.title}. Opening the incident room now.",
                    key=key,
                )
                return
            case g.ListIncidents(open_only=open_only):
                text = await self._list_text(open_only)
                await self.reply(channel, user, text, ours=True, key=key)
                return
            case g.Help():
                await self.reply(channel, user, g.HELP_TEXT, key=key)
                return
            case g.Unknown(text=unknown):
                text = f"I don't know `{_code(unknown)}`.\n" + g.HELP_TEXT
                await self.reply(channel, user, text, key=key)
                return
            case g.Maintenance():
                await self.reply(
                    channel, user, await self._maintenance(parsed, actor, key), key=key
                )
                return
        incident = await self.room_incident(channel)
        if incident is None:
            await self.reply(
                channel,
                user,
                "This isn't an incident channel. Run that in the "
                "incident's channel, or start one with `/incident declare <title>`.",
                key=key,
            )
            return
        await self._incident_command(parsed, incident, actor, channel, body, key)

    async def _incident_command(
        self,
        parsed: g.ParsedCommand,
        inc: Incident,
        actor: Actor,
        channel: str,
        body: dict[str, Any],
        key: str | None,
    ) -> None:
        cmd = incident_command(parsed, self.rt.clock.now())
        if cmd is None:  # something Slack shows rather than a change
            match parsed:
                case g.OpenUpdateForm():
                    await self._open_update_modal(body.get("trigger_id", ""), inc, key)
                case g.ShowTimeline():
                    await self.reply(channel, actor.id, await self._timeline_text(inc), key=key)
                case g.ShowSummary():
                    await self.reply(channel, actor.id, await self._summary_text(inc), key=key)
                case _:
                    await self.reply(channel, actor.id, g.HELP_TEXT, key=key)
            return
        out = await self.run(inc.number, cmd, actor, dedup=key)
        if not out.replayed:
            await self.reply(channel, actor.id, _outcome_text(out), key=key)

    # -- buttons and modals ------------------------------------------------------------------

    async def _incident_from_action(self, body: dict[str, Any]) -> Incident | None:
        action = (body.get("actions") or [{}])[0]
        for candidate in (
            action.get("value"),
            action.get("block_id"),
            body.get("view", {}).get("private_metadata"),
        ):
            number = _number_from_value(candidate, self.workspace)
            if number is not None:
                try:
                    return await self.service.get(self.workspace, number)
                except NotFound:
                    return None
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        return await self.room_incident(channel) if channel else None

    async def _button(
        self, ack: Ack, body: dict[str, Any], make: Callable[[dict[str, Any]], c.Command | None]
    ) -> None:
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {})
        channel = (body.get("channel") or {}).get("id") or ""
        key = inbound.intake_key(body)

        async def work() -> None:
            inc = await self._incident_from_action(body)
            if inc is None:
                raise NotFound("that incident no longer exists")
            cmd = make((body.get("actions") or [{}])[0])
            if cmd is None:
                return
            out = await self.run(inc.number, cmd, self.actor(user), dedup=key)
            if not out.changed and not out.replayed:
                await self.reply(channel, user.get("id", ""), f"{inc.ref}: already done.", key=key)

        await self.guarded(channel, user.get("id", ""), work(), key)

    async def button_ack(self, ack: Ack, body: dict[str, Any]) -> None:
        await self._button(ack, body, lambda _a: c.Acknowledge())

    async def button_resolve(self, ack: Ack, body: dict[str, Any]) -> None:
        await self._button(ack, body, lambda _a: c.ChangeStatus(Status.RESOLVED))

    async def select_status(self, ack: Ack, body: dict[str, Any]) -> None:
        def make(action: dict[str, Any]) -> c.Command | None:
            value = (action.get("selected_option") or {}).get("value")
            return c.ChangeStatus(Status(value)) if value in set(Status) else None

        await self._button(ack, body, make)

    async def button_update(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or ""
        key = inbound.intake_key(body)

        async def work() -> None:
            inc = await self._incident_from_action(body)
            if inc is None:
                raise NotFound("that incident no longer exists")
            await self._open_update_modal(body.get("trigger_id", ""), inc, key)

        await self.guarded(channel, user, work(), key)

    async def button_declare_from_alert(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {})
        channel = (body.get("channel") or {}).get("id") or ""
        group = ((body.get("actions") or [{}])[0]).get("value", "")
        # Declaring for a group is idempotent (a second press finds the incident); the key
        # keeps a replayed press from answering twice.
        key = inbound.intake_key(body)

        async def work() -> None:
            text = await self._declare_from_alert(group, self.actor(user))
            await self.reply(channel, user.get("id", ""), text, key=key)

        await self.guarded(channel, user.get("id", ""), work(), key)

    async def _open_declare_modal(self, trigger_id: str, channel: str, key: str | None) -> None:
        if not await self.first_sighting(key):
            return  # a replay: its trigger_id was used up by the first delivery
        policy = self.service.policy
        view = modals.declare_modal(
            severities=list(policy.names),
            default_severity=policy.default.name,
            channel_id=channel,
        )
        await self._views_open(trigger_id, view)

    async def _open_update_modal(self, trigger_id: str, inc: Incident, key: str | None) -> None:
        if not await self.first_sighting(key):
            return  # a replay: its trigger_id was used up by the first delivery
        ws, number = self.workspace, inc.number

        def last_update(repo: Repo) -> str:
            assert inc.id is not None
            updates = repo.status_updates(inc.id)
            return updates[-1].text if updates else ""

        prefill = await self.rt.db.run(last_update)
        await self._views_open(
            trigger_id, modals.update_modal(workspace=ws, number=number, prefill=prefill)
        )

    async def _views_open(self, trigger_id: str, view: dict[str, Any]) -> None:
        try:
            await self.deps.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            raise DomainError(
                f"Slack would not open the form ({exc.response.get('error')}); try again"
            ) from None

    async def submit_declare(self, ack: Ack, body: dict[str, Any]) -> None:
        values = body.get("view", {}).get("state", {}).get("values", {})
        fields, errors = modals.read_declare_submission(values)
        sev = fields.get("severity")
        if sev:
            try:
                self.service.policy.severity(sev)
            except UnknownSeverity as exc:
                errors[modals.SEVERITY_BLOCK] = str(exc)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {})
        actor = self.actor(user)
        channel = body.get("view", {}).get("private_metadata") or user.get("id", "")
        key = inbound.intake_key(body)

        async def work() -> None:
            out = await self.service.declare(
                self.workspace,
                c.Declare(
                    fields["title"],
                    sev,
                    fields.get("summary", ""),
                    bool(fields.get("private")),
                    fields.get("commander") or None,
                    origin="slack",
                ),
                actor,
                dedup_key=key,
            )
            if out.replayed:
                return  # the first submission declared and answered
            await self.reply(
                channel,
                actor.id,
                f"{out.incident.ref} declared "
                f"({out.incident.severity}). Opening the incident room now.",
                key=key,
            )

        await self.guarded(channel, actor.id, work(), key)

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
        number = _number_from_value(view.get("private_metadata"), self.workspace)
        if number is None:
            return
        key = inbound.intake_key(body)
        await self.guarded(
            user.get("id", ""),
            user.get("id", ""),
            self._discard(self.run(number, c.PostUpdate(text), self.actor(user), dedup=key)),
            key,
        )

    @staticmethod
    async def _discard(work: Awaitable[Any]) -> None:
        await work

    # -- timeline capture --------------------------------------------------------------------

    async def shortcut_capture(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        if not await self._same_team(body):
            return
        user = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")
        message = body.get("message") or {}
        key = inbound.intake_key(body)

        async def work() -> None:
            inc = await self.room_incident(channel)
            if inc is None:
                raise DomainError("Add to timeline works in incident channels only.")
            out = await self._capture(inc, channel, message, user, dedup=key)
            if out.replayed:
                return
            await self.reply(
                channel,
                user,
                f"Added to the {inc.ref} timeline."
                if out.changed
                else f"Already on the {inc.ref} timeline.",
                key=key,
            )

        await self.guarded(channel, user, work(), key)

    async def reaction_added(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("reaction") not in PIN_REACTIONS or not await self._same_team(body):
            return
        item = event.get("item") or {}
        channel, ts = item.get("channel", ""), item.get("ts", "")
        if item.get("type") != "message" or not channel or not ts:
            return
        inc = await self.room_incident(channel)
        if inc is None:
            return
        message = await self._fetch_message(channel, ts)
        if message is None:
            return
        await self._capture(
            inc,
            channel,
            message,
            event.get("user", ""),
            dedup=inbound.intake_key(body),
        )

    async def message_changed(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not await self._same_team(body):
            return
        channel = event.get("channel", "")
        message = event.get("message") or {}
        inc = await self.room_incident(channel)
        if inc is None or not message.get("ts"):
            return
        text = unescape_slack(str(message.get("text", "")))
        cmd = c.EditCapturedMessage(f"{channel}/{message['ts']}", text)
        await self.run(
            inc.number,
            cmd,
            Actor(message.get("user", "slack")),
            dedup=inbound.intake_key(body),
        )

    async def message_deleted(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not await self._same_team(body):
            return
        channel = event.get("channel", "")
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        inc = await self.room_incident(channel)
        if inc is None or not ts:
            return
        await self.run(
            inc.number,
            c.DeleteCapturedMessage(f"{channel}/{ts}"),
            Actor("slack"),
            dedup=inbound.intake_key(body),
        )

    async def ignore(self) -> None:
        """Events we subscribe to only for their subtypes; acked by Bolt."""

    async def ack_only(self, ack: Ack) -> None:
        """Interactions sitrep has nothing to do for."""
        await ack()

    async def _fetch_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        client = self.deps.client
        try:
            resp = await client.conversations_history(
                channel=channel, latest=ts, inclusive=True, limit=1
            )
            for m in resp.get("messages") or []:
                if m.get("ts") == ts:
                    return dict(m)
            resp = await client.conversations_replies(channel=channel, ts=ts, limit=1)
            for m in resp.get("messages") or []:
                if m.get("ts") == ts:
                    return dict(m)
        except SlackApiError as exc:
            log.warning(
                "could not fetch pinned message",
                extra={"channel": channel, "error": exc.response.get("error")},
            )
        return None

    async def _capture(
        self,
        inc: Incident,
        channel: str,
        message: dict[str, Any],
        by: str,
        dedup: str | None = None,
    ) -> Outcome:
        ts = str(message.get("ts", ""))
        link = ""
        try:
            resp = await self.deps.client.chat_getPermalink(channel=channel, message_ts=ts)
            link = str(resp.get("permalink", ""))
        except SlackApiError:
            pass  # the timeline entry is worth keeping without its link
        posted = _ts_to_datetime(ts)
        cmd = c.CaptureMessage(
            external_ref=f"{channel}/{ts}",
            author=str(message.get("user") or message.get("username") or "unknown"),
            # Slack escapes & < > in message text; the timeline stores what the person wrote.
            text=unescape_slack(str(message.get("text", ""))) or "(no text)",
            link=link,
            posted_at=posted,
        )
        return await self.run(inc.number, cmd, Actor(by), dedup=dedup)

    # -- text answers ------------------------------------------------------------------------

    async def _list_text(self, open_only: bool) -> str:
        incidents = await self.service.list(self.workspace, open_only=open_only, limit=20)
        if not incidents:
            return "No open incidents. :tada:" if open_only else "No incidents yet."
        lines = [
            f"*{i.ref}* {i.severity} · {i.status.value} · {escape_mrkdwn(i.title)}"
            + (f" · commander {mention(i.commander)}" if i.commander else "")
            for i in incidents
            if not i.private
        ]
        hidden = sum(1 for i in incidents if i.private)
        if hidden:
            lines.append(f"_{hidden} private incident(s) not shown._")
        return "\n".join(lines)

    async def _timeline_text(self, inc: Incident) -> str:
        detail = await self.service.detail(self.workspace, inc.number)
        entries = detail.timeline[-TIMELINE_SHOWN:]
        lines = [f"*{inc.ref} timeline* (UTC, last {len(entries)} of {len(detail.timeline)})"]
        lines += [f"`{e.at:%H:%M:%S}` {e.text}" for e in entries]
        return "\n".join(lines)

    async def _summary_text(self, inc: Incident) -> str:
        detail = await self.service.detail(self.workspace, inc.number)
        m = compute_metrics(inc.declared_at, detail.timeline)
        i = detail.incident
        return (
            f"*{i.ref}: {i.title}*\n{i.severity} · {i.status.value} · commander "
            f"{i.commander or 'unassigned'}\n{i.summary or '_no summary yet_'}\n"
            f"Time to acknowledge {format_duration(m.time_to_acknowledge)} · mitigate "
            f"{format_duration(m.time_to_mitigate)} · resolve {format_duration(m.time_to_resolve)}"
        )

    async def _maintenance(self, parsed: g.Maintenance, actor: Actor, key: str | None) -> str:
        return await create_maintenance_from_chat(self.rt, parsed, actor, dedup_key=key)

    async def _declare_from_alert(self, group: str, actor: Actor) -> str:
        return await declare_from_alert_group(self.rt, group, actor)


def _outcome_text(out: Outcome) -> str:
    if not out.changed:
        return f"{out.incident.ref}: nothing to change."
    return "\n".join(f"{out.incident.ref}: {e.text}" for e in out.events)


def _number_from_value(value: Any, workspace: str) -> int | None:
    if not isinstance(value, str) or ":" not in value:
        return None
    ws, _, number = value.rpartition(":")
    if not number.isdigit():
        return None
    if ws and ws.split(":")[-1] != workspace:
        return None
    return int(number)


def _ts_to_datetime(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError):
        return None


def _code(text: str) -> str:
    return text.replace("`", "'")[:100]
