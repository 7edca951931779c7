"""Two sitrep servers for two workspaces on ONE database, each with its own Slack.

Each server declares a public and a private incident through signed slash commands, receives
an alert group (the same Alertmanager group key in both), owes reminders, a stakeholder digest
and an overdue action-item DM. Each fake Slack must receive all of its own workspace's traffic
and none of the other's: a worker or scheduler that reads the other workspace's rows would send
them with the wrong token into the wrong Slack.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.outbox_types import OutboxState
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.app import create_app
from handlers.appkeys import RUNTIME
from handlers.scheduler import SCHEDULER
from tests.conftest import T0
from tests.fakes.slack_api import ALICE, BOB, BOT_USER_ID, Channel, FakeSlackApi
from tests.fakes.slack_signing import sign_slack_request
from tests.slack_flow.test_slack_replays import command_body

Client = TestClient[Any, Any]
AM_TOKEN = "am-token-isolation"
# Both workspaces' Alertmanager groups share this key, as two teams' identical rules would.
GROUP_KEY = '{}:{alertname="DiskFull"}'
SEEDED = {"general", "incidents", "alerts"}


@dataclass
class Workspace:
    """One workspace: its server, its Slack, and the word every text of it carries."""

    name: str
    marker: str
    secret: str
    slack: FakeSlackApi
    client: Client

    @property
    def runtime(self) -> Runtime:
        """The server's service graph."""
        runtime: Runtime = self.client.app[RUNTIME]
        return runtime

    async def command(self, text: str) -> None:
        """A signed ``/incident`` slash command from Alice in this workspace's Slack."""
        body = command_body(self.slack, text, team_domain=self.name)
        headers = {
            **sign_slack_request(self.secret, body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        resp = await self.client.post("/slack/events", data=body, headers=headers)
        assert resp.status == 200, await resp.text()

    async def alert(self) -> None:
        """An Alertmanager notification whose alert text names this workspace."""
        alert = {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "severity": "warning", "host": self.marker},
            "annotations": {"summary": f"{self.marker} disk almost full"},
            "startsAt": "2026-11-23T08:59:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "bca19f25a6783506",
        }
        payload = {
            "version": "4",
            "status": "firing",
            "receiver": "sitrep",
            "groupKey": GROUP_KEY,
            "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": alert["labels"],
            "commonAnnotations": alert["annotations"],
            "externalURL": "http://127.0.0.1:9093",
            "truncatedAlerts": 0,
            "alerts": [alert],
        }
        resp = await self.client.post(
            "/webhooks/alertmanager",
            data=json.dumps(payload),
            headers={"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": "application/json"},
        )
        assert resp.status < 300, await resp.text()

    async def settled(self) -> bool:
        """Nothing of this workspace is waiting in the outbox."""
        waiting = [OutboxState.PENDING, OutboxState.CLAIMED]
        rows = await self.runtime.db.run(lambda r: r.list_outbox(states=waiting, limit=10_000))
        return not [row for row in rows if row.workspace == self.name]

    def calls_text(self) -> str:
        """Every argument this Slack was sent, as one lower-case string."""
        return "\n".join(json.dumps(call.args, default=str) for call in self.slack.calls).lower()

    def posts(self, channel: Channel) -> list[str]:
        """Texts of successful posts and edits in ``channel`` (named by id or by name)."""
        return [
            str(call.args.get("text", ""))
            for call in self.slack.calls
            if call.method in ("chat.postMessage", "chat.update")
            and call.ok
            and call.args.get("channel") in (channel.id, channel.name)
        ]


async def start_workspace(
    stack: AsyncExitStack, name: str, database_url: str, clock: FixedClock
) -> Workspace:
    """A fake Slack that takes only this workspace's token, and a server for the workspace."""
    token = f"xoxb-{name}-token"
    slack = await stack.enter_async_context(
        FakeSlackApi(team_id=f"T0{name.upper()}", valid_tokens=[token])
    )
    slack.add_channel("incidents", members=[ALICE, BOB, BOT_USER_ID])
    slack.add_channel("alerts", members=[ALICE, BOT_USER_ID])
    secret = f"{name}-signing-secret-0123456789"
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        workspace=name,
        public_url=f"https://{name}.sitrep.example.com",
        slack_bot_token=token,
        slack_signing_secret=secret,
        slack_api_url=slack.url,
        alertmanager_token=AM_TOKEN,
        alert_settle_seconds=0,
        outbox_poll_seconds=0.05,
        digest_cron="0 9 * * *",
        action_item_reminder_cron="0 9 * * *",
        postmortem_reminder_days=0,
    )
    app = create_app(settings, clock=clock, port_factories=[])
    client = await stack.enter_async_context(TestClient(TestServer(app, host="127.0.0.1")))
    return Workspace(name, f"{name}ws", secret, slack, client)


@pytest_asyncio.fixture
async def workspaces(database_url: str) -> AsyncIterator[tuple[Workspace, Workspace]]:
    """Workspaces alpha and beta, served by two apps on one database."""
    clock = FixedClock(T0)
    async with AsyncExitStack() as stack:
        # One after the other: each start migrates the shared database.
        alpha = await start_workspace(stack, "alpha", database_url, clock)
        beta = await start_workspace(stack, "beta", database_url, clock)
        yield alpha, beta


async def all_settled(spaces: tuple[Workspace, ...], within: float = 60.0) -> None:
    """Wait until neither workspace has anything pending (twice in a row, to be sure)."""
    deadline = time.monotonic() + within
    calm = 0
    while calm < 2:
        if time.monotonic() > deadline:
            raise AssertionError("outboxes did not drain")
        calm = calm + 1 if all([await w.settled() for w in spaces]) else 0
        await asyncio.sleep(0.1)


async def test_each_workspace_slack_gets_all_of_its_own_traffic_and_none_of_the_other(
    workspaces: tuple[Workspace, Workspace],
) -> None:
    alpha, beta = workspaces
    clock: FixedClock = alpha.runtime.clock  # type: ignore[assignment]
    for w in workspaces:
        await w.command(f"declare {w.marker} API down sev2")
        await w.command(f"declare {w.marker} secret breach sev1 private")
        await w.alert()
    for w in workspaces:
        # Wait for both declarations to commit (slash commands are acked first).
        for _ in range(200):
            listed = await w.runtime.service.list(w.name, open_only=True, limit=10)
            if len(listed) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(listed) == 2
        await w.runtime.service.execute(
            w.name,
            1,
            c.AddActionItem(f"{w.marker} follow-up", owner=ALICE, due=T0 + timedelta(hours=1)),
            Actor(ALICE, "alice"),
        )
    await all_settled(workspaces)

    # A reminder is due, then the next morning: escalation, digest and action-item DMs.
    for when in (T0 + timedelta(minutes=20), T0 + timedelta(days=1)):
        clock.set(when)
        for w in workspaces:
            report = await w.client.app[SCHEDULER].tick(when)
            assert not report.errors
        await all_settled(workspaces)

    for me, other in ((alpha, beta), (beta, alpha)):
        sent = me.calls_text()
        assert other.marker not in sent, f"{me.name}'s Slack received {other.name}'s traffic"
        assert all(call.ok for call in me.slack.calls if call.method.startswith("chat.")), [
            (call.method, call.response) for call in me.slack.calls if not call.ok
        ]
        # Both incident rooms, the private one private, each with its reminder.
        rooms = [ch for ch in me.slack.channels() if ch.name not in SEEDED and not ch.is_im]
        assert sorted(ch.is_private for ch in rooms) == [False, True], rooms
        for room in rooms:
            texts = me.posts(room)
            assert any(me.marker in t for t in texts), (room.name, texts)
            assert any("stakeholder update" in t for t in texts), (room.name, texts)
        broadcast = me.slack.channel_by_name("incidents")
        alerts = me.slack.channel_by_name("alerts")
        assert broadcast is not None and alerts is not None
        announced = me.posts(broadcast)
        assert any(f"{me.marker} API down" in t for t in announced), announced
        [digest] = [t for t in announced if "open incident" in t]
        assert f"{me.marker} API down" in digest and "secret" not in digest
        assert any(f"{me.marker} disk almost full" in t for t in me.posts(alerts))
        dm_id = me.slack.dm_channel(ALICE)
        dm = me.slack.channel(dm_id) if dm_id else None
        assert dm is not None
        assert any(f"{me.marker} follow-up" in t for t in me.posts(dm)), me.posts(dm)
        # Nothing lost: every row of the workspace went out through its own Slack.
        rows = await me.runtime.db.run(lambda r: r.list_outbox(limit=10_000))
        states = {r.state for r in rows if r.workspace == me.name}
        assert states and states <= {OutboxState.DELIVERED, OutboxState.SUPERSEDED}, states
