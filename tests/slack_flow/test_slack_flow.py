"""The whole Slack flow over real HTTP: signed requests in, the fake Slack Web API out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from bot.outbox_types import OutboxState
from bot.runtime import Runtime
from tests.fakes.slack_api import ALICE, BOB, BOT_USER_ID, CAROL, GENERAL_ID, TEAM_ID, FakeSlackApi
from tests.fakes.slack_signing import sign_slack_request

Client = TestClient[Any, Any]
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as api:
        api.add_channel("incidents", members=[ALICE, BOB])
        api.add_channel("alerts", members=[ALICE])
        yield api


def slack_settings(fake: FakeSlackApi) -> dict[str, Any]:
    """Slack over HTTP against the fake, signed with ``SECRET``; Carol an admin."""
    return {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.url,
        "admins": [CAROL],
    }


@pytest.fixture
def settings_overrides(fake: FakeSlackApi) -> dict[str, Any]:
    return slack_settings(fake)


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll until ``check()`` is truthy (the bot acks first and works after)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def poll(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    """Like ``eventually`` for checks that must query the database."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def settle(runtime: Runtime, within: float = 15.0) -> None:
    """Wait until the outbox has nothing pending or claimed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        depth = await runtime.db.run(lambda repo: repo.outbox_depth())
        if not [d for d in depth if d[1] in ("pending", "claimed")]:
            await asyncio.sleep(0.05)
            depth = await runtime.db.run(lambda repo: repo.outbox_depth())
            if not [d for d in depth if d[1] in ("pending", "claimed")]:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox did not drain: {depth}")


def block_action(
    api: FakeSlackApi,
    action_id: str,
    value: str = "",
    *,
    user: str = ALICE,
    channel: str = GENERAL_ID,
    selected: str | None = None,
) -> dict[str, Any]:
    """``user`` presses a button with ``value`` (or picks ``selected`` from a menu) on a
    message in ``channel``: the block_actions payload Slack sends."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b"}
    if selected is None:
        action |= {"type": "button", "value": value}
    else:
        action |= {"type": "static_select", "selected_option": {"value": selected}}
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower()},
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel},
        "trigger_id": api.mint_trigger_id(),
        "actions": [{**action, "action_ts": str(time.time())}],
    }


class Slack:
    """Sends what Slack would send, signed."""

    def __init__(self, client: Client, fake: FakeSlackApi) -> None:
        self.client = client
        self.fake = fake
        self._event = 0

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        ts: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> Any:
        signed = sign_slack_request(secret, body, ts)
        h = {**signed, "Content-Type": content_type, **(headers or {})}
        return await self.client.post("/slack/events", data=body, headers=h)

    async def command(
        self, text: str, *, user: str = ALICE, channel: str = GENERAL_ID, team: str = TEAM_ID
    ) -> Any:
        form = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "x",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/incident",
            "text": text,
            "api_app_id": "A0SITREP",
            "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
            "trigger_id": self.fake.mint_trigger_id(),
        }
        return await self.post(urlencode(form).encode(), "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> Any:
        payload.setdefault("team", {"id": TEAM_ID, "domain": "fake"})
        payload.setdefault("api_app_id", "A0SITREP")
        payload.setdefault("token", "legacy")
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded")

    async def button(
        self,
        action_id: str,
        value: str,
        *,
        user: str = ALICE,
        channel: str = GENERAL_ID,
        selected: str | None = None,
    ) -> Any:
        return await self.interaction(
            block_action(self.fake, action_id, value, user=user, channel=channel, selected=selected)
        )

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> Any:
        self._event += 1
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A0SITREP",
                "type": "event_callback",
                "event_id": event_id or f"Ev{self._event:06d}",
                "event_time": int(time.time()),
                "event": event,
            }
        ).encode()
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else None
        )
        return await self.post(body, "application/json", headers=headers)


@pytest_asyncio.fixture
async def slack(client: Client, fake: FakeSlackApi) -> Slack:
    return Slack(client, fake)


async def declare(
    slack: Slack, runtime: Runtime, text: str = "declare Checkout is down sev2", **kw: Any
) -> str:
    resp = await slack.command(text, **kw)
    assert resp.status == 200
    await eventually(lambda: slack.fake.called("conversations.create"))
    await settle(runtime)
    channels = [c for c in slack.fake.channels() if c.name.startswith("inc-")]
    return channels[-1].id


# -- security ----------------------------------------------------------------------------------


async def test_unsigned_badly_signed_and_stale_requests_get_401_and_leave_no_trace(
    slack: Slack, runtime: Runtime, client: Client
) -> None:
    body = urlencode(
        {
            "command": "/incident",
            "text": "declare x",
            "team_id": TEAM_ID,
            "user_id": ALICE,
            "channel_id": GENERAL_ID,
        }
    ).encode()
    ctype = "application/x-www-form-urlencoded"
    unsigned = await client.post("/slack/events", data=body, headers={"Content-Type": ctype})
    bad = await slack.post(body, ctype, secret="not-the-secret")
    stale = await slack.post(body, ctype, ts=int(time.time()) - 6 * 60)
    assert (unsigned.status, bad.status, stale.status) == (401, 401, 401)
    await asyncio.sleep(0.2)
    assert await runtime.service.list("default") == []
    assert await runtime.db.run(lambda r: r.list_outbox()) == []


async def test_requests_from_another_workspace_are_refused(slack: Slack, runtime: Runtime) -> None:
    resp = await slack.command("declare Not yours", team="T9OTHER")
    assert resp.status == 200
    assert "different Slack workspace" in await resp.text()
    await asyncio.sleep(0.2)
    assert await runtime.service.list("default") == []


# -- declare and the incident room ---------------------------------------------------------------


async def test_declare_builds_the_room_and_announces_it(slack: Slack, runtime: Runtime) -> None:
    fake = slack.fake
    resp = await slack.command("declare Checkout is down sev2")
    assert resp.status == 200
    room = await declare_room(slack, runtime)
    channel = fake.channel(room)
    assert channel is not None and channel.name == "inc-1-checkout-is-down"
    assert not channel.is_private
    assert ALICE in fake.members(room)
    assert "SEV2" in fake.topic(room) and "investigating" in fake.topic(room)
    pinned = fake.pins(room)
    assert len(pinned) == 1
    summary = fake.message(room, pinned[0])
    assert summary is not None and "INC-1" in summary.text
    assert [b.title for b in fake.bookmarks(room)] == ["INC-1 incident page"]
    incidents_ch = fake.channel_by_name("incidents")
    assert incidents_ch is not None
    broadcast = fake.messages(incidents_ch.id)
    assert len(broadcast) == 1 and "Checkout is down" in broadcast[0].text
    replies = fake.ephemerals(GENERAL_ID)
    assert any("INC-1 declared" in e.text for e in replies)


async def declare_room(slack: Slack, runtime: Runtime) -> str:
    await eventually(lambda: slack.fake.called("pins.add"))
    await settle(runtime)
    return [c for c in slack.fake.channels() if c.name.startswith("inc-")][-1].id


async def test_channel_name_collision_takes_the_next_free_name(
    slack: Slack, runtime: Runtime
) -> None:
    slack.fake.add_channel("inc-1-db-down", members=[ALICE])
    await slack.command("declare DB down")
    room = await declare_room(slack, runtime)
    channel = slack.fake.channel(room)
    assert channel is not None and channel.name == "inc-1-db-down-2"
    errors = [c.response.get("error") for c in slack.fake.calls_to("conversations.create")]
    assert errors == ["name_taken", None]


async def test_unicode_and_overlong_titles_make_valid_channel_names(
    slack: Slack, runtime: Runtime
) -> None:
    await slack.command("declare Düsseldorf Zahlungen ausgefallen 🔥 " + "x" * 150)
    room = await declare_room(slack, runtime)
    channel = slack.fake.channel(room)
    assert channel is not None
    assert channel.name.startswith("inc-1-dusseldorf-zahlungen-ausgefallen")
    assert len(channel.name) <= 80


async def test_private_incident_gets_a_private_channel_and_no_broadcast(
    slack: Slack, runtime: Runtime
) -> None:
    await slack.command("declare Credential leak sev1 private")
    room = await declare_room(slack, runtime)
    channel = slack.fake.channel(room)
    assert channel is not None and channel.is_private
    incidents_ch = slack.fake.channel_by_name("incidents")
    assert incidents_ch is not None and slack.fake.messages(incidents_ch.id) == []
    await slack.command("update Keys rotated", channel=room)
    await eventually(lambda: any("Keys rotated" in m.text for m in slack.fake.messages(room)))
    await settle(runtime)
    assert slack.fake.messages(incidents_ch.id) == []


# -- commands in the room ----------------------------------------------------------------------


async def test_remind_snoozes_and_stops_reminders_from_the_room(
    slack: Slack, runtime: Runtime
) -> None:
    await slack.command("declare API latency sev2")
    room = await declare_room(slack, runtime)
    assert (await slack.command("remind 90", channel=room)).status == 200
    expected = runtime.clock.now() + timedelta(minutes=90)

    async def due() -> Any:
        inc = await runtime.service.get("default", 1)
        return inc.next_update_due_at == expected and inc

    assert await poll(due)
    assert (await slack.command("remind off", channel=room)).status == 200

    async def off() -> bool:
        inc = await runtime.service.get("default", 1)
        return not inc.reminders_enabled and inc.next_update_due_at is None

    assert await poll(off)
    # The answers arrive through the outbox, after the change is committed.
    await eventually(
        lambda: any("reminders turned off" in e.text.lower() for e in slack.fake.ephemerals())
    )
    assert any("snoozed until" in e.text for e in slack.fake.ephemerals())


async def test_room_commands_drive_the_incident(slack: Slack, runtime: Runtime) -> None:
    fake = slack.fake
    await slack.command("declare API latency sev3")
    room = await declare_room(slack, runtime)
    for text in (
        "status identified",
        f"commander <@{BOB}|bob>",
        f"comms <@{CAROL}>",
        "sev 2",
        "note cache hit rate dropped",
        "action Add latency SLO alert",
        "update Rolled back the deploy; latency recovering",
    ):
        resp = await slack.command(text, channel=room)
        assert resp.status == 200
    inc = await eventually_incident(
        runtime,
        lambda i: i.comms_lead == CAROL and i.severity == "SEV2" and i.last_update_at is not None,
    )
    assert inc.status.value == "identified" and inc.commander == BOB
    await settle(runtime)
    assert BOB in fake.members(room) and CAROL in fake.members(room)
    assert "Commander: bob · " in fake.topic(room)  # by name: Slack shows a topic as typed
    incidents_ch = fake.channel_by_name("incidents")
    assert incidents_ch is not None
    top = fake.messages(incidents_ch.id)
    assert len([m for m in top if m.thread_ts is None]) == 1  # one message per incident
    thread = fake.thread(incidents_ch.id, top[0].ts)
    assert any("Rolled back the deploy" in m.text for m in thread)
    assert "SEV2" in top[0].text  # updated in place
    detail = await runtime.service.detail("default", 1)
    kinds = [e.kind.value for e in detail.timeline]
    assert "note" in kinds and "action_item_added" in kinds
    assert [a.text for a in detail.action_items] == ["Add latency SLO alert"]

    await slack.command("resolve Deploy rolled back", channel=room)
    await eventually_incident(runtime, lambda i: i.status.value == "resolved")
    await slack.command("close", channel=room)
    await eventually_incident(runtime, lambda i: i.status.value == "closed")


async def eventually_incident(runtime: Runtime, pred: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inc = await runtime.service.get("default", 1)
        if pred(inc):
            return inc
        await asyncio.sleep(0.03)
    raise AssertionError(f"incident never matched: {inc}")


async def test_invalid_transition_and_unknown_input_answer_ephemerally(
    slack: Slack, runtime: Runtime
) -> None:
    await slack.command("declare Queue stuck")
    room = await declare_room(slack, runtime)
    await slack.command("status closed", channel=room)
    await slack.command("frobnicate the widgets", channel=room)
    await slack.command("timeline", channel=GENERAL_ID)
    texts = await eventually(
        lambda: (
            [
                e.text
                for e in slack.fake.ephemerals()
                if "allowed" in e.text
                or "don't know" in e.text
                or "isn't an incident channel" in e.text
            ]
            if len(slack.fake.ephemerals()) >= 4
            else None
        )
    )
    joined = "\n".join(texts)
    assert "allowed: identified, monitoring, resolved" in joined
    assert "don't know" in joined
    assert "isn't an incident channel" in joined
    inc = await runtime.service.get("default", 1)
    assert inc.status.value == "investigating"


async def test_closing_a_sev1_is_limited_to_commander_and_admins(
    slack: Slack, runtime: Runtime
) -> None:
    await slack.command("declare Total outage sev1")
    room = await declare_room(slack, runtime)
    await slack.command("resolve", channel=room)
    await eventually_incident(runtime, lambda i: i.status.value == "resolved")
    await slack.command("close", channel=room, user=BOB)
    await eventually(
        lambda: any("only the commander or an admin" in e.text for e in slack.fake.ephemerals())
    )
    assert (await runtime.service.get("default", 1)).status.value == "resolved"
    await slack.command("close", channel=room, user=CAROL)  # CAROL is an admin
    await eventually_incident(runtime, lambda i: i.status.value == "closed")


async def test_user_text_cannot_ping_channel(slack: Slack, runtime: Runtime) -> None:
    await slack.command("declare <!channel> @here everyone look sev2")
    room = await declare_room(slack, runtime)
    await slack.command("update <!everyone> <http://evil.example|click> @channel", channel=room)
    await eventually(lambda: len(slack.fake.messages(room)) >= 2)
    await settle(runtime)
    posted = [c.args for c in slack.fake.calls_to("chat.postMessage")]
    posted += [c.args for c in slack.fake.calls_to("chat.update")]
    posted += [c.args for c in slack.fake.calls_to("conversations.setTopic")]
    assert slack.fake.calls_to("conversations.setTopic")
    blob = json.dumps(posted)
    for forbidden in ("<!channel>", "<!everyone>", "<!here>", "<http://evil.example|click>"):
        assert forbidden not in blob
    assert "@channel" not in blob.replace("@\\u2060channel", "").replace("@\u2060channel", "")


# -- buttons, modals, idempotency ----------------------------------------------------------------


async def test_buttons_acknowledge_and_resolve_once_even_when_double_clicked(
    slack: Slack, runtime: Runtime
) -> None:
    await slack.command("declare Login errors sev2")
    room = await declare_room(slack, runtime)
    await asyncio.gather(
        slack.button("sitrep.ack", "default:1", user=BOB, channel=room),
        slack.button("sitrep.ack", "default:1", user=BOB, channel=room),
    )
    inc = await eventually_incident(runtime, lambda i: i.acknowledged_at is not None)
    await asyncio.gather(
        slack.button("sitrep.resolve", "default:1", channel=room),
        slack.button("sitrep.resolve", "default:1", channel=room),
    )
    inc = await eventually_incident(runtime, lambda i: i.status.value == "resolved")
    await settle(runtime)
    detail = await runtime.service.detail("default", 1)
    kinds = [e.kind.value for e in detail.timeline]
    assert kinds.count("acknowledged") == 1
    assert kinds.count("status_changed") == 1
    assert inc.resolved_at is not None


async def test_status_select_changes_status(slack: Slack, runtime: Runtime) -> None:
    await slack.command("declare Cache cluster degraded sev3")
    room = await declare_room(slack, runtime)
    await slack.button("sitrep.status", "", channel=room, selected="monitoring")
    await eventually_incident(runtime, lambda i: i.status.value == "monitoring")


async def test_declare_modal_opens_and_submission_declares(slack: Slack, runtime: Runtime) -> None:
    await slack.command("")
    view = await eventually(lambda: slack.fake.views())
    assert view[0].body["callback_id"] == "sitrep.declare"
    from integrations.slack import modals

    values = modals.example_submission(title="", severity="SEV2")
    resp = await slack.interaction(
        {
            "type": "view_submission",
            "user": {"id": ALICE},
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "sitrep.declare",
                "private_metadata": GENERAL_ID,
                "state": {"values": values},
            },
        }
    )
    body = await resp.json()
    assert body["response_action"] == "errors"
    values = modals.example_submission(title="Search is slow", severity="SEV3")
    payload = {
        "type": "view_submission",
        "user": {"id": ALICE},
        "view": {
            "id": "V2",
            "type": "modal",
            "callback_id": "sitrep.declare",
            "private_metadata": GENERAL_ID,
            "state": {"values": values},
        },
    }
    await slack.interaction(payload)
    await slack.interaction(json.loads(json.dumps(payload)))  # Slack retried the submission
    await declare_room(slack, runtime)
    incidents = await runtime.service.list("default")
    assert [(i.title, i.severity) for i in incidents] == [("Search is slow", "SEV3")]


async def test_update_button_opens_prefilled_modal_and_posts_update(
    slack: Slack, runtime: Runtime
) -> None:
    await slack.command("declare Webhooks delayed sev2")
    room = await declare_room(slack, runtime)
    await slack.command("update First look: queue backlog", channel=room)
    await eventually_incident(runtime, lambda i: i.last_update_at is not None)
    await slack.button("sitrep.update", "default:1", channel=room)
    views = await eventually(
        lambda: [v for v in slack.fake.views() if v.body.get("callback_id") == "sitrep.update"]
    )
    assert "First look: queue backlog" in json.dumps(views[0].body)
    from integrations.slack import modals

    values = modals.example_update_submission("Backlog drained")
    await slack.interaction(
        {
            "type": "view_submission",
            "user": {"id": ALICE},
            "view": {
                "id": "V9",
                "type": "modal",
                "callback_id": "sitrep.update",
                "private_metadata": "default:1",
                "state": {"values": values},
            },
        }
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        updates = (await runtime.service.detail("default", 1)).updates
        if len(updates) == 2:
            break
        await asyncio.sleep(0.05)
    assert [u.text for u in updates] == ["First look: queue backlog", "Backlog drained"]


# -- timeline capture ----------------------------------------------------------------------------


async def test_pushpin_reaction_captures_edits_and_deletes(slack: Slack, runtime: Runtime) -> None:
    fake = slack.fake
    await slack.command("declare Payments flapping sev2")
    room = await declare_room(slack, runtime)
    # Slack stores (and sends) message text with & < > escaped.
    ts = fake.add_message(room, "Primary DB &lt;pg-1&gt; failed over at 14:02", user=BOB)
    event = {
        "type": "reaction_added",
        "user": ALICE,
        "reaction": "pushpin",
        "item": {"type": "message", "channel": room, "ts": ts},
        "item_user": BOB,
        "event_ts": str(time.time()),
    }
    assert (await slack.event(event, event_id="EvPIN1")).status == 200
    assert (await slack.event(event, event_id="EvPIN1", retry=1)).status == 200  # Slack retry

    async def captured() -> list[Any]:
        d = await runtime.service.detail("default", 1)
        return [e for e in d.timeline if e.kind.value == "message_captured"]

    entries = await poll(captured)
    assert len(entries) == 1
    assert entries[0].actor == BOB and entries[0].text == "Primary DB <pg-1> failed over at 14:02"
    assert entries[0].data["link"].startswith("https://fake.slack.com/archives/")
    await slack.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": room,
            "message": {
                "type": "message",
                "user": BOB,
                "ts": ts,
                "text": "Primary DB failed over at 14:03 &amp; recovered",
            },
            "previous_message": {"ts": ts},
        }
    )
    await slack.event(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": room,
            "deleted_ts": ts,
            "previous_message": {"ts": ts},
        }
    )

    async def deleted() -> list[Any]:
        found = await captured()
        return found if found and found[0].data.get("deleted") else []

    entries = await poll(deleted)
    assert entries[0].text == "Primary DB failed over at 14:03 & recovered"
    assert entries[0].data["deleted"] is True


async def test_a_late_slack_retry_of_an_old_edit_changes_nothing(
    slack: Slack, runtime: Runtime
) -> None:
    """Slack retries an event it thinks we missed; by then a newer edit may have landed."""
    await slack.command("declare Payments flapping sev2")
    room = await declare_room(slack, runtime)
    ts = slack.fake.add_message(room, "v1", user=BOB)
    pin = {
        "type": "reaction_added",
        "user": ALICE,
        "reaction": "pushpin",
        "item": {"type": "message", "channel": room, "ts": ts},
        "event_ts": str(time.time()),
    }
    await slack.event(pin)

    def edit(text: str) -> dict[str, Any]:
        return {
            "type": "message",
            "subtype": "message_changed",
            "channel": room,
            "message": {"type": "message", "user": BOB, "ts": ts, "text": text},
            "previous_message": {"ts": ts},
        }

    async def text() -> str:
        detail = await runtime.service.detail("default", 1)
        entries = [e for e in detail.timeline if e.kind.value == "message_captured"]
        assert len(entries) <= 1
        return entries[0].text if entries else ""

    assert await poll(lambda: _equals(text(), "v1"))
    assert (await slack.event(edit("v2"), event_id="EvEDIT2")).status == 200
    assert await poll(lambda: _equals(text(), "v2"))
    assert (await slack.event(edit("v3"), event_id="EvEDIT3")).status == 200
    assert await poll(lambda: _equals(text(), "v3"))
    assert (await slack.event(edit("v2"), event_id="EvEDIT2", retry=1)).status == 200
    await settle(runtime)
    assert await text() == "v3"


async def _equals(value: Awaitable[str], expected: str) -> bool:
    return await value == expected


async def test_add_to_timeline_shortcut(slack: Slack, runtime: Runtime) -> None:
    await slack.command("declare Disk full sev3")
    room = await declare_room(slack, runtime)
    ts = slack.fake.add_message(room, "Freed 40 GB from /var/log", user=CAROL)
    await slack.interaction(
        {
            "type": "message_action",
            "callback_id": "sitrep.add_to_timeline",
            "user": {"id": ALICE},
            "channel": {"id": room},
            "message": {
                "type": "message",
                "user": CAROL,
                "ts": ts,
                "text": "Freed 40 GB from /var/log",
            },
            "trigger_id": slack.fake.mint_trigger_id(),
            "response_url": "https://hooks/x",
        }
    )
    await eventually(
        lambda: any("Added to the INC-1 timeline" in e.text for e in slack.fake.ephemerals())
    )


# -- resilience ---------------------------------------------------------------------------------


async def test_rate_limits_and_outages_delay_but_lose_nothing(
    slack: Slack, runtime: Runtime, clock: Any
) -> None:
    fake = slack.fake
    fake.rate_limit_next("conversations.create", 3, retry_after=1)
    fake.fail_next("chat.postMessage", 2, status=503)
    await slack.command("declare Everything is slow sev2")
    await eventually(lambda: len(fake.calls_to("conversations.create")) >= 2)
    for _ in range(40):
        clock.advance(seconds=30)  # the outbox waits on the injected clock, not real time
        depth = await runtime.db.run(lambda r: r.outbox_depth())
        if not depth:
            break
        await asyncio.sleep(0.1)
    await settle(runtime)
    rows = await runtime.db.run(lambda r: r.list_outbox(limit=500))
    assert all(r.state in (OutboxState.DELIVERED, OutboxState.SUPERSEDED) for r in rows)
    rooms = [c for c in fake.channels() if c.name.startswith("inc-")]
    assert len(rooms) == 1 and len(fake.pins(rooms[0].id)) == 1


async def test_bot_never_invites_itself_or_non_slack_users(slack: Slack, runtime: Runtime) -> None:
    await slack.command("declare Bot test sev3")
    room = await declare_room(slack, runtime)
    await slack.command(f"commander <@{BOT_USER_ID}>", channel=room)
    await eventually_incident(runtime, lambda i: i.commander == BOT_USER_ID)
    await settle(runtime)
    invited = [c.args.get("users") for c in slack.fake.calls_to("conversations.invite")]
    assert BOT_USER_ID not in invited
