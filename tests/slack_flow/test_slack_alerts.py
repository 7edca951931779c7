"""Alerts in Slack over real HTTP: maintenance from /incident, the "Declare incident" button,
and a storm that stays quiet in the fake Slack."""

from __future__ import annotations

from typing import Any

import pytest

from bot.alerting.model import AlertQuery
from bot.runtime import Runtime
from integrations.slack.blocks import DECLARE_FROM_ALERT_ACTION
from tests.alerts.support import AM_TOKEN, am_alert, am_payload, incidents, post_am
from tests.fakes.slack_api import ALICE, FakeSlackApi
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    SECRET,
    Client,
    Slack,
    eventually,
    fake,
    settle,
    slack,
    slack_settings,
)


@pytest.fixture
def settings_overrides(fake: FakeSlackApi) -> dict[str, Any]:  # noqa: F811
    return {**slack_settings(fake), "alertmanager_token": AM_TOKEN, "alert_settle_seconds": 0}


def alerts_channel(api: FakeSlackApi) -> str:
    found = api.channel_by_name("alerts")
    assert found is not None
    return found.id


async def test_the_bot_learns_its_identity_at_start_not_on_the_first_command(
    slack: Slack,  # noqa: F811
) -> None:
    assert [c.method for c in slack.fake.calls] == ["auth.test"]


async def test_maintenance_command_opens_a_window_that_silences_matching_alerts(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    resp = await slack.command("maintenance 2h service=checkout env=~prod.* db upgrade")
    assert resp.status == 200
    await eventually(lambda: slack.fake.ephemerals())
    assert "Maintenance window #1" in slack.fake.ephemerals()[-1].text

    answer = await post_am(client, am_payload([am_alert("web1", service="checkout", env="prod")]))

    assert answer["suppressed"] == 1
    assert await incidents(runtime) == []
    await settle(runtime)
    assert not slack.fake.messages(alerts_channel(slack.fake)), "a silenced alert was announced"


async def test_a_bad_maintenance_command_answers_with_its_problem(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
) -> None:
    resp = await slack.command("maintenance forever service=checkout")
    assert resp.status == 200
    await eventually(lambda: slack.fake.ephemerals())
    assert "maintenance" in slack.fake.ephemerals()[-1].text.lower()
    windows = await runtime.db.run(lambda repo: repo.alerts.windows("default", runtime.clock.now()))
    assert windows == []


async def test_declare_button_on_an_alert_message_declares_once(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    await post_am(client, am_payload([am_alert("web1", severity="warning")], group="Latency"))
    await settle(runtime)
    [message] = slack.fake.messages(alerts_channel(slack.fake))
    buttons = [
        element
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]
    [declare] = [b for b in buttons if b["action_id"] == DECLARE_FROM_ALERT_ACTION]

    for _ in range(2):  # a double click
        resp = await slack.button(DECLARE_FROM_ALERT_ACTION, declare["value"], user=ALICE)
        assert resp.status == 200
    await eventually(lambda: len(slack.fake.ephemerals()) >= 2)
    await settle(runtime)

    [incident] = await incidents(runtime)
    assert incident.ref == "INC-1"
    texts = [e.text for e in slack.fake.ephemerals()]
    assert any("INC-1 declared" in t for t in texts) and any("already open" in t for t in texts)
    alerts = await runtime.db.run(lambda r: r.alerts.list_alerts("default", AlertQuery()))
    assert [a.incident_id for a in alerts] == [incident.id]


async def test_a_storm_of_10000_alerts_is_one_incident_and_a_few_slack_calls(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    for batch in range(20):
        alerts = [am_alert(f"node-{batch}-{i}") for i in range(500)]
        await post_am(client, am_payload(alerts, group="NodeDown"))
    await settle(runtime, within=60)

    [incident] = await incidents(runtime)
    room = [c for c in slack.fake.channels() if c.name.startswith("inc-1-")]
    assert len(room) == 1
    posts = slack.fake.calls_to("chat.postMessage")
    edits = slack.fake.calls_to("chat.update")
    # One room with its summary, the broadcast post and the timeline notices: a handful of
    # messages and edits, not one per alert.
    assert len(posts) + len(edits) < 40, (len(posts), len(edits))
    # The group's one alerts-channel message, edited in place to the final count.
    [group_message] = slack.fake.messages(alerts_channel(slack.fake))
    assert group_message.text.startswith("10000 alerts firing") and "INC-1" in group_message.text
    assert incident.severity == "SEV2"
