"""A signed Slack request replayed inside Slack's 5-minute window acts once.

Each test signs one body once and sends the same bytes and headers again, as someone who
captured a request (or Slack retrying it) would. The intake-key table decides.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from bot.runtime import Runtime
from integrations.slack import modals
from tests.fakes.slack_api import ALICE, BOB, GENERAL_ID, TEAM_ID, FakeSlackApi
from tests.fakes.slack_signing import sign_slack_request
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    SECRET,
    Client,
    Slack,
    block_action,
    declare_room,
    eventually,
    eventually_incident,
    fake,
    poll,
    settings_overrides,
    settle,
    slack,
)

FORM = "application/x-www-form-urlencoded"


class Captured:
    """One signed request, sent as often as asked with the very same bytes and headers."""

    def __init__(self, client: Client, body: bytes, content_type: str = FORM) -> None:
        self.client = client
        self.body = body
        self.headers = {**sign_slack_request(SECRET, body), "Content-Type": content_type}

    async def send(self) -> int:
        resp = await self.client.post("/slack/events", data=self.body, headers=self.headers)
        return resp.status


def command_body(
    api: FakeSlackApi, text: str, channel: str = GENERAL_ID, *, team_domain: str = "fake"
) -> bytes:
    """Alice's ``/incident text`` in ``channel`` of the fake's workspace, as Slack posts it."""
    form = {
        "token": "legacy",
        "team_id": api.team_id,
        "team_domain": team_domain,
        "channel_id": channel,
        "channel_name": "x",
        "user_id": ALICE,
        "user_name": "alice",
        "command": "/incident",
        "text": text,
        "api_app_id": "A0SITREP",
        "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
        "trigger_id": api.mint_trigger_id(),
    }
    return urlencode(form).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    payload = {"team": {"id": TEAM_ID, "domain": "fake"}, "api_app_id": "A0SITREP", **payload}
    return urlencode({"payload": json.dumps(payload)}).encode()


def ephemeral_texts(api: FakeSlackApi) -> list[str]:
    return [e.text for e in api.ephemerals()]


async def test_a_slash_command_replayed_three_times_declares_one_incident(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    captured = Captured(client, command_body(slack.fake, "declare Payments failing sev2"))
    statuses = await asyncio.gather(captured.send(), captured.send(), captured.send())
    assert list(statuses) == [200, 200, 200]
    await declare_room(slack, runtime)
    await asyncio.sleep(0.3)  # give any late replay time to act
    await settle(runtime)
    assert [i.title for i in await runtime.service.list("default")] == ["Payments failing"]
    assert len(slack.fake.calls_to("conversations.create")) == 1
    declared = [t for t in ephemeral_texts(slack.fake) if "declared" in t]
    assert len(declared) == 1


async def test_a_replayed_room_command_answers_once(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    await slack.command("declare Queue stuck")
    room = await declare_room(slack, runtime)
    captured = Captured(client, command_body(slack.fake, "help", channel=room))
    for _ in range(3):
        assert await captured.send() == 200
    await eventually(lambda: [t for t in ephemeral_texts(slack.fake) if "/incident" in t])
    await asyncio.sleep(0.3)
    await settle(runtime)
    helps = [t for t in ephemeral_texts(slack.fake) if "declare" in t and "status" in t]
    assert len(helps) == 1


async def test_a_replayed_button_press_acts_once(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    await slack.command("declare Search slow sev3")
    room = await declare_room(slack, runtime)
    press = Captured(
        client,
        interaction_body(
            block_action(slack.fake, "sitrep.status", user=BOB, channel=room, selected="monitoring")
        ),
    )
    assert await press.send() == 200
    await eventually_incident(runtime, lambda i: i.status.value == "monitoring")
    await slack.command("status identified", channel=room)
    await eventually_incident(runtime, lambda i: i.status.value == "identified")
    # The captured press, sent again: it must not set the status back to monitoring.
    assert await press.send() == 200
    assert await press.send() == 200
    await asyncio.sleep(0.3)
    await settle(runtime)
    assert (await runtime.service.get("default", 1)).status.value == "identified"
    assert not [t for t in ephemeral_texts(slack.fake) if "already done" in t]


async def test_a_replayed_modal_submission_acts_once(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    values = modals.example_submission(title="Search is slow", severity="SEV3")
    submission = Captured(
        client,
        interaction_body(
            {
                "type": "view_submission",
                "user": {"id": ALICE},
                "view": {
                    "id": "V2",
                    "hash": "1712345678.abcd",
                    "type": "modal",
                    "callback_id": "sitrep.declare",
                    "private_metadata": GENERAL_ID,
                    "state": {"values": values},
                },
            }
        ),
    )
    for _ in range(3):
        assert await submission.send() == 200
    await declare_room(slack, runtime)
    await asyncio.sleep(0.3)
    await settle(runtime)
    assert [i.title for i in await runtime.service.list("default")] == ["Search is slow"]
    declared = [t for t in ephemeral_texts(slack.fake) if "declared" in t]
    assert len(declared) == 1


async def test_a_replayed_maintenance_command_opens_one_window(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    captured = Captured(client, command_body(slack.fake, "maintenance 2h service=api db upgrade"))
    assert await captured.send() == 200
    await eventually(lambda: [t for t in ephemeral_texts(slack.fake) if "Maintenance" in t])
    assert await captured.send() == 200
    await asyncio.sleep(0.3)
    await settle(runtime)
    windows = await runtime.alerts.maintenance.list("default")
    assert len(windows) == 1
    assert len([t for t in ephemeral_texts(slack.fake) if "Maintenance" in t]) == 1


async def test_a_replayed_form_command_opens_one_form_and_complains_of_nothing(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    captured = Captured(client, command_body(slack.fake, ""))
    assert await captured.send() == 200
    await eventually(lambda: slack.fake.views())
    assert await captured.send() == 200
    await asyncio.sleep(0.3)
    await settle(runtime)
    assert len(slack.fake.calls_to("views.open")) == 1
    assert not [t for t in ephemeral_texts(slack.fake) if "would not open" in t]


async def test_events_without_an_event_id_are_not_taken_for_replays_of_each_other(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    await slack.command("declare Disk full")
    room = await declare_room(slack, runtime)
    first = slack.fake.add_message(room, "first", user=ALICE)
    second = slack.fake.add_message(room, "second", user=ALICE)
    for ts in (first, second):
        event = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0SITREP",
            "type": "event_callback",
            "event": {
                "type": "reaction_added",
                "user": ALICE,
                "reaction": "pushpin",
                "item": {"type": "message", "channel": room, "ts": ts},
            },
        }
        captured = Captured(client, json.dumps(event).encode(), "application/json")
        assert await captured.send() == 200

    async def both_captured() -> list[str] | None:
        detail = await runtime.service.detail("default", 1)
        texts = [e.text for e in detail.timeline if e.kind.value == "message_captured"]
        return texts if len(texts) == 2 else None

    assert sorted(await poll(both_captured)) == ["first", "second"]
