"""Slack's endpoint and wiring: ``POST /slack/events`` verified, then handed to Bolt.

The listeners (handlers/slack_listeners.py) translate each payload into a desk call. What
people see is planned by the core and delivered by the outbox.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from handlers.appkeys import RUNTIME
from handlers.middleware import json_error
from handlers.platform import Platform
from handlers.slack_listeners import SlackDeps, SlackListeners, number_from_value
from integrations.slack import inbound
from integrations.slack.people import SlackPeople
from integrations.slack.port import SlackPort
from integrations.slack.setup import SLACK, SlackState, start_slack

__all__ = ["PLATFORM", "number_from_value", "register", "slack_events"]

log = logging.getLogger(__name__)


def mount(app: web.Application) -> None:
    """Add ``POST /slack/events`` (commands, interactivity and events share it)."""
    app[SLACK] = SlackState()
    app.router.add_post("/slack/events", slack_events)


async def slack_context(app: web.Application) -> AsyncIterator[None]:
    """Start Slack (client, port, Bolt, Socket Mode) with the listeners attached."""
    runtime = app[RUNTIME]

    def attach(bolt: AsyncApp, port: SlackPort) -> None:
        register(bolt, SlackDeps(runtime=runtime, port=port))
        runtime.people.add_source(SlackPeople(port.client))
        port.show_people_from(runtime.people, runtime.settings.workspace)

    async with start_slack(app[SLACK], runtime.settings, runtime.ports, attach):
        yield


PLATFORM = Platform("slack", mount, slack_context)


async def slack_events(request: web.Request) -> web.StreamResponse:
    """Verify, decode and check a Slack request, then hand it to Bolt.

    Nothing reaches Bolt unverified: a refusal is a 4xx with the reason and one short log
    line (method, path, reason, size), never the body.
    """
    state = request.app[SLACK]
    if state.bolt is None or not state.http_enabled or not state.signing_secret:
        return json_error(
            404,
            "Slack HTTP mode is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET",
        )
    size = request.content_length
    try:
        body = await inbound.read_body(request)
        size = len(body)
        inbound.verify_signature(request.headers, body, state.signing_secret, time.time())
        text = inbound.decode(body, inbound.charset(request.headers))
        body_json = inbound.parse(text, inbound.content_type(request.headers))
    except inbound.Refused as exc:
        inbound.log_refusal(request.method, request.path, exc.reason, size)
        return json_error(exc.status, exc.reason)
    bolt_request = inbound.bolt_request(text, body_json, request.query_string, request.headers)
    return await to_aiohttp_response(await state.bolt.async_dispatch(bolt_request))


def register(bolt: AsyncApp, deps: SlackDeps) -> None:
    """Attach every listener to a fresh Bolt app (nothing is registered at import time)."""
    h = SlackListeners(deps)
    bolt.command("/incident")(h.command)
    bolt.action("sitrep.ack")(h.button_ack)
    bolt.action("sitrep.resolve")(h.button_resolve)
    bolt.action("sitrep.status")(h.select_status)
    bolt.action("sitrep.update")(h.button_update)
    bolt.action("sitrep.declare_from_alert")(h.button_declare_from_alert)
    bolt.action("sitrep.public_confirm")(h.button_public_confirm)
    bolt.action("sitrep.public_cancel")(h.button_public_cancel)
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
