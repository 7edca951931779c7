"""A fake Slack Socket Mode endpoint: ``apps.connections.open`` plus the WebSocket behind it.

It speaks the envelope protocol: ``hello`` on connect, then envelopes the test sends
(``slash_commands``, ``interactive``, ``events_api``) that the app must ack by
``envelope_id`` — as Slack requires within 3 seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_api import FakeSlackApi

JsonDict = dict[str, Any]


class FakeSocketMode:
    """Hands out a WebSocket URL through the fake Web API and relays envelopes over it."""

    def __init__(self, api: FakeSlackApi, *, app_token_prefix: str = "xapp-") -> None:
        self.api = api
        self.app_token_prefix = app_token_prefix
        self.acks: dict[str, JsonDict] = {}
        self._ids = itertools.count(1)
        self._socket: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._waiters: dict[str, asyncio.Future[JsonDict]] = {}
        self._runner: web.AppRunner | None = None
        self.ws_url = ""

    async def __aenter__(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.ws_url = f"ws://{host}:{port}/link"
        # Teach the Web API fake the one Socket Mode method it lacks.
        self.api._handlers["apps.connections.open"] = lambda _args: {"url": self.ws_url}
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_connected(self, within: float = 10) -> None:
        """Wait for the app's WebSocket."""
        await asyncio.wait_for(self._connected.wait(), within)

    async def send(self, kind: str, payload: JsonDict, within: float = 3.0) -> JsonDict:
        """Send an envelope and return the app's ack (fails if none ``within`` seconds)."""
        assert self._socket is not None, "app is not connected"
        envelope_id = f"env-{next(self._ids)}"
        waiter: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._waiters[envelope_id] = waiter
        await self._socket.send_str(
            json.dumps(
                {
                    "envelope_id": envelope_id,
                    "type": kind,
                    "payload": payload,
                    "accepts_response_payload": kind != "events_api",
                    "retry_attempt": 0,
                    "retry_reason": "",
                }
            )
        )
        return await asyncio.wait_for(waiter, within)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._socket = ws
        await ws.send_str(
            json.dumps(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0SITREP"}}
            )
        )
        self._connected.set()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            envelope_id = data.get("envelope_id")
            if envelope_id:
                self.acks[envelope_id] = data
                waiter = self._waiters.pop(envelope_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        return ws
