"""The room hears who took the page: a PagerDuty acknowledgement webhook posts one line into
the incident's Slack channel, and a replayed webhook posts nothing more."""

from __future__ import annotations

import json

from bot.runtime import Runtime
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.paging.test_paging_flow import (  # noqa: F401 (fixtures)
    PAYMENTS,
    PD_WEBHOOK_SECRET,
    og,
    pd,
    settings_overrides,
)
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    Client,
    Slack,
    declare,
    eventually,
    fake,
    settle,
    slack,
)

SAID = "Dana Oncall acknowledged the page to payments (PagerDuty)"


async def test_an_acknowledged_page_is_posted_in_the_room_once(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    pd: FakePagerDutyEvents,  # noqa: F811
    client: Client,
) -> None:
    room = await declare(slack, runtime)
    await slack.command("page payments", channel=room)
    await eventually(lambda: pd.incident(PAYMENTS))
    body = json.dumps(pd.webhook(PAYMENTS, "incident.acknowledged", agent="Dana Oncall")).encode()
    headers = pd.sign(body, PD_WEBHOOK_SECRET)
    for _ in range(2):
        resp = await client.post("/webhooks/pagerduty", data=body, headers=headers)
        assert resp.status == 200
    await eventually(lambda: any(SAID in m.text for m in slack.fake.messages(room)))
    await settle(runtime)
    assert sum(SAID in m.text for m in slack.fake.messages(room)) == 1
