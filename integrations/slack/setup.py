"""Slack wiring: client, port, Bolt app and (optionally) Socket Mode, owned by a cleanup_ctx.

HTTP mode needs ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET``; Socket Mode needs
``SLACK_BOT_TOKEN`` and ``SLACK_APP_TOKEN``. Without a bot token Slack is off and its
messages wait in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.config import Settings
from bot.ports import ChatPort, DeliveryError
from integrations.slack.client import make_client
from integrations.slack.inbound import signed_only
from integrations.slack.port import SlackPort

log = logging.getLogger(__name__)


@dataclass
class SlackState:
    """What the /slack/events route needs once Slack is up."""

    bolt: AsyncApp | None = None
    port: SlackPort | None = None
    http_enabled: bool = False
    signing_secret: str | None = None
    socket_handler: Any = None


SLACK = web.AppKey("slack", SlackState)


# Attaches the listeners to a fresh Bolt app (the handlers module provides it).
Attach = Callable[[AsyncApp, SlackPort], None]


@asynccontextmanager
async def start_slack(
    state: SlackState, s: Settings, ports: dict[str, ChatPort], attach: Attach
) -> AsyncIterator[None]:
    """Run Slack for the life of the block: its port joins ``ports`` while it is up."""
    if s.slack_bot_token is None or "slack" in ports:
        yield
        return
    token = s.slack_bot_token.get_secret_value()
    secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else None
    app_token = s.slack_app_token.get_secret_value() if s.slack_app_token else None
    if secret is None and app_token is None:
        raise RuntimeError(
            "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor "
            "SLACK_APP_TOKEN (Socket Mode) is"
        )
    client = make_client(token, s.slack_api_url)
    port = SlackPort(
        client,
        broadcast_channel=s.slack_broadcast_channel,
        alerts_channel=s.slack_alerts_channel,
        channel_prefix=s.slack_channel_prefix,
    )
    bolt = AsyncApp(
        client=client,
        signing_secret=secret or "",
        # Bolt's own check logs the whole body of every badly signed request; signed_only
        # below checks the same signature and logs one short line.
        request_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("sitrep.slack.bolt"),
    )
    try:
        # Learn who we are now, not while a person waits for /incident to be acknowledged.
        await asyncio.wait_for(port.identity(), timeout=5)
    except (DeliveryError, TimeoutError) as exc:
        log.warning(
            "slack auth.test failed at start; retrying on first use", extra={"error": str(exc)}
        )
    if secret is not None:
        bolt.use(signed_only(secret))
    attach(bolt, port)
    state.bolt, state.port, state.http_enabled = bolt, port, secret is not None
    state.signing_secret = secret
    ports["slack"] = port
    if app_token:
        state.socket_handler = AsyncSocketModeHandler(bolt, app_token)
        await state.socket_handler.connect_async()
        log.info("slack socket mode connected")
    log.info("slack ready", extra={"http": state.http_enabled, "socket_mode": bool(app_token)})
    try:
        yield
    finally:
        if state.socket_handler is not None:
            await state.socket_handler.close_async()
        state.bolt = None
        ports.pop("slack", None)
