"""Paging end to end over real HTTP: `/incident page` typed in Slack (the Slack fake) reaches
the PagerDuty and Opsgenie stand-ins through the outbox; resolving closes the page; an
outage delays a page but loses nothing; an acknowledgement webhook lands on the timeline once.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.config import AlertRuleConfig, LabelMatcherConfig
from bot.domain.decide import Actor
from bot.domain.model import EventKind
from bot.outbox_admin import retry_parked
from bot.outbox_types import OutboxState, Priority
from bot.paging.targets import dedup_key
from bot.ports import FixedClock
from bot.runtime import Runtime
from tests.alerts.support import AM_TOKEN, am_alert, am_payload, incidents, post_am, timeline
from tests.fakes.opsgenie_api import FakeOpsgenie
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.fakes.slack_api import CAROL, FakeSlackApi
from tests.paging.support import GENIE_KEY, PD_KEY, og, pd
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    SECRET,
    Client,
    Slack,
    declare,
    eventually,
    fake,
    poll,
    settle,
    slack,
)

__all__ = ["og", "pd"]  # fixtures (PagerDuty and Opsgenie stand-ins)

PD_WEBHOOK_SECRET = "pd-webhook-signing-secret"
OG_TOKEN = "og-webhook-token-42"
DB_ONCALL = [{"type": "schedule", "name": "DB on-call"}]
PAYMENTS = dedup_key("default", 1, "payments")
DB = dedup_key("default", 1, "db-oncall")
OG_HEADERS = {"X-Sitrep-Token": OG_TOKEN, "Content-Type": "application/json"}


@pytest.fixture
def settings_overrides(
    fake: FakeSlackApi,  # noqa: F811
    pd: FakePagerDutyEvents,
    og: FakeOpsgenie,
) -> dict[str, Any]:
    return {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.url,
        "admins": [CAROL],
        "pagerduty_routing_keys": {"payments": PD_KEY},
        "pagerduty_events_url": pd.url,
        "pagerduty_secrets": [PD_WEBHOOK_SECRET],
        "opsgenie_api_key": GENIE_KEY,
        "opsgenie_targets": {"db-oncall": DB_ONCALL},
        "opsgenie_api_url": og.url,
        "opsgenie_secret": OG_TOKEN,
        "outbox_max_attempts": 4,
        "outbox_backoff_cap_seconds": 1,
        "paging_timeout_seconds": 2,
        "alertmanager_token": AM_TOKEN,
        "alert_settle_seconds": 0,
        "alert_rules": [
            AlertRuleConfig(
                name="payments-pages",
                match=[LabelMatcherConfig(name="team", value="payments")],
                action="declare",
                severity="SEV1",
                page=["payments"],
            ),
            AlertRuleConfig(name="rest", action="notify"),
        ],
    }


async def page_rows(runtime: Runtime, service: str) -> list[Any]:
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=100))
    return [r for r in rows if r.platform == service]


async def entries(runtime: Runtime, kind: EventKind, number: int = 1) -> list[Any]:
    (inc,) = [i for i in await incidents(runtime) if i.number == number]
    assert inc.id is not None
    return [e for e in await timeline(runtime, inc.id) if e.kind is kind]


def replies(chat: Slack, channel: str) -> list[str]:
    return [e.text for e in chat.fake.ephemerals(channel)]


async def paged(chat: Slack, runtime: Runtime, target: str) -> str:
    """Declare an incident and page ``target`` from its room; the room."""
    room = await declare(chat, runtime)
    await chat.command(f"page {target}", channel=room)
    return room


async def recorded_once(client: Client, path: str, body: bytes, headers: dict[str, str]) -> None:
    """The webhook is recorded; the same one again is a duplicate."""
    answers = [await client.post(path, data=body, headers=headers) for _ in range(2)]
    assert [(r.status, await r.json()) for r in answers] == [
        (200, {"page": "recorded"}),
        (200, {"page": "duplicate"}),
    ]


async def test_page_in_the_room_triggers_pagerduty_and_opsgenie_and_resolve_closes_both(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    pd: FakePagerDutyEvents,
    og: FakeOpsgenie,
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev1")
    assert (await slack.command("page payments", channel=room)).status == 200
    assert (await slack.command("page DB-Oncall", channel=room)).status == 200
    incident = await eventually(lambda: pd.incident(PAYMENTS))
    alert = await eventually(lambda: og.alert(DB))
    assert (incident.service, incident.severity, incident.status) == (
        "Payments API",
        "critical",
        "triggered",
    )
    assert incident.summary == "INC-1 SEV1: Checkout is down"
    assert alert.responders == DB_ONCALL and alert.priority == "P1"
    paged = await entries(runtime, EventKind.PAGED)
    # Slack commands are acked first and run after: the two may land in either order.
    assert sorted(e.text for e in paged) == ["Paged DB-Oncall", "Paged payments"]
    await eventually(lambda: any("Paged payments" in t for t in replies(slack, room)))
    rows = await page_rows(runtime, "pagerduty")
    assert [r.priority for r in rows] == [Priority.OUTSIDE]

    await slack.command("resolve rolled back", channel=room)
    await eventually(lambda: pd.open_incidents() == [] and og.open_alerts() == [])
    assert len(pd.incidents) == 1 and len(og.alerts) == 1  # closed, never paged twice


async def test_an_unknown_target_is_refused_with_the_configured_ones_and_nothing_is_sent(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    pd: FakePagerDutyEvents,
) -> None:
    room = await declare(slack, runtime)
    await slack.command("page nobody", channel=room)
    text = await eventually(
        lambda: next((t for t in replies(slack, room) if "No paging target" in t), None)
    )
    assert "db-oncall (Opsgenie)" in text and "payments (PagerDuty)" in text
    await settle(runtime)
    assert await entries(runtime, EventKind.PAGED) == []
    assert await page_rows(runtime, "pagerduty") == [] and pd.received == []


async def test_pagerduty_down_delays_the_page_without_losing_it_or_holding_up_chat(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    pd: FakePagerDutyEvents,
    clock: FixedClock,
) -> None:
    room = await declare(slack, runtime)
    await pd.stop()  # connection refused
    await slack.command("page payments", channel=room)
    # The chat reply goes out while the page waits for PagerDuty.
    await eventually(lambda: any("Paged payments" in t for t in replies(slack, room)))
    (row,) = await poll(lambda: _failed(runtime))
    assert row.state is OutboxState.PENDING and row.attempts == 1
    await slack.command("note still paging", channel=room)
    await eventually(lambda: any("still paging" in t for t in replies(slack, room)))

    await pd.start()  # back, but still failing for a moment
    pd.fail_next(1, 503)
    clock.advance(seconds=5)
    await poll(lambda: _attempts(runtime, 2))
    assert pd.incidents == []
    clock.advance(seconds=5)
    incident = await eventually(lambda: pd.incident(PAYMENTS))
    assert incident.dedup_key == PAYMENTS and len(pd.incidents) == 1
    (row,) = await poll(lambda: _delivered(runtime, "pagerduty"))
    assert row.attempts == 3


async def test_a_page_that_keeps_failing_is_parked_then_retried_by_hand(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    og: FakeOpsgenie,
    clock: FixedClock,
) -> None:
    og.fail_next(10, 503)
    await paged(slack, runtime, "db-oncall")
    for attempt in range(1, 5):
        await poll(lambda a=attempt: _attempts(runtime, a, "opsgenie"))  # type: ignore[misc]
        clock.advance(seconds=5)
    (row,) = await poll(lambda: _parked(runtime))
    assert row.platform == "opsgenie" and "503" in (row.last_error or "")
    assert og.alerts == []

    og.clear_faults()
    operator = Actor("cli:ops", trusted=True)
    assert await retry_parked(runtime.db, runtime.clock, "default", row.id, operator) == 1
    runtime.wake_outbox()
    await eventually(lambda: og.alert(DB))
    assert len(og.alerts) == 1


async def test_a_rate_limited_page_waits_for_retry_after(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    pd: FakePagerDutyEvents,
    clock: FixedClock,
) -> None:
    pd.rate_limit_next(1, retry_after="60")
    await paged(slack, runtime, "payments")
    (row,) = await poll(lambda: _failed(runtime))
    assert "429" in (row.last_error or "")
    assert (row.next_attempt_at - clock.now()).total_seconds() >= 60
    clock.advance(seconds=30)
    await settle_briefly()
    assert pd.incidents == []
    clock.advance(seconds=31)
    await eventually(lambda: pd.incident(PAYMENTS))


async def test_pagerduty_acknowledgement_lands_on_the_timeline_once(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    pd: FakePagerDutyEvents,
    client: Client,
) -> None:
    await paged(slack, runtime, "payments")
    await eventually(lambda: pd.incident(PAYMENTS))
    body = json.dumps(pd.webhook(PAYMENTS, "incident.acknowledged", agent="Dana Oncall")).encode()
    await recorded_once(client, "/webhooks/pagerduty", body, pd.sign(body, PD_WEBHOOK_SECRET))
    (ack,) = await entries(runtime, EventKind.PAGE_ACKNOWLEDGED)
    assert ack.text == "Dana Oncall acknowledged the page to payments (PagerDuty)"
    assert ack.data["by"] == "Dana Oncall"
    # About our own page, not an alert: nothing was declared from it.
    assert len(await incidents(runtime)) == 1

    forged = await client.post(
        "/webhooks/pagerduty", data=body, headers=pd.sign(body, "not-the-secret")
    )
    assert forged.status == 401


async def test_opsgenie_acknowledgement_lands_on_the_timeline_once(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    og: FakeOpsgenie,
    client: Client,
) -> None:
    await paged(slack, runtime, "db-oncall")
    await eventually(lambda: og.alert(DB))
    body = json.dumps(og.webhook(DB, "Acknowledge", username="lee@example.com")).encode()
    bad = await client.post("/webhooks/opsgenie", data=body, headers={"X-Sitrep-Token": "x"})
    assert bad.status == 401
    await recorded_once(client, "/webhooks/opsgenie", body, OG_HEADERS)
    (ack,) = await entries(runtime, EventKind.PAGE_ACKNOWLEDGED)
    assert ack.text == "lee@example.com acknowledged the page to db-oncall (Opsgenie)"
    other = json.dumps(og.webhook(DB, "AddNote")).encode()
    noted = await client.post("/webhooks/opsgenie", data=other, headers=OG_HEADERS)
    assert await noted.json() == {"page": "ignored"}
    assert len(await incidents(runtime)) == 1


async def test_an_alias_like_ours_with_a_non_ascii_digit_is_no_page_and_no_server_error(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    og: FakeOpsgenie,
    client: Client,
) -> None:
    # Anyone who can create an Opsgenie alert chooses its alias; "²" passed str.isdigit and
    # then int() raised ValueError: a 500, and Opsgenie retried it.
    await paged(slack, runtime, "db-oncall")
    await eventually(lambda: og.alert(DB))
    data = og.webhook(DB, "Acknowledge")
    for alias in ("sitrep:default:INC-\u00b2:db-oncall", "sitrep:default:INC-\u0661:db-oncall"):
        data["alert"]["alias"] = alias
        resp = await client.post("/webhooks/opsgenie", data=json.dumps(data), headers=OG_HEADERS)
        assert resp.status < 500, (alias, await resp.text())
    assert await entries(runtime, EventKind.PAGE_ACKNOWLEDGED) == []


async def test_a_routing_rule_pages_when_it_declares(
    runtime: Runtime, client: Client, pd: FakePagerDutyEvents
) -> None:
    await post_am(client, am_payload([am_alert("CheckoutErrors", team="payments")]))
    incident = await eventually(lambda: pd.incident(PAYMENTS))
    assert incident.severity == "critical" and incident.summary.startswith("INC-1 SEV1:")
    assert [e.text for e in await entries(runtime, EventKind.PAGED)] == ["Paged payments"]


async def settle_briefly() -> None:
    await asyncio.sleep(0.3)


async def _failed(runtime: Runtime) -> list[Any]:
    rows = [
        r
        for s in ("pagerduty", "opsgenie")
        for r in await page_rows(runtime, s)
        if r.last_error and r.state is OutboxState.PENDING
    ]
    return rows


async def _attempts(runtime: Runtime, n: int, service: str = "pagerduty") -> bool:
    rows = await page_rows(runtime, service)
    return bool(rows) and rows[0].attempts >= n and rows[0].state is not OutboxState.CLAIMED


async def _delivered(runtime: Runtime, service: str) -> list[Any]:
    return [r for r in await page_rows(runtime, service) if r.state is OutboxState.DELIVERED]


async def _parked(runtime: Runtime) -> list[Any]:
    rows = await runtime.db.run(lambda repo: repo.list_outbox(states=[OutboxState.PARKED]))
    return list(rows)
