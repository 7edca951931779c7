"""Tickets end to end over real HTTP: chat commands typed in Slack (the Slack fake) reach the
Jira and ServiceNow stand-ins through the outbox; the ids they return are kept and later
updates target them; an outage delays but loses nothing; Jira's webhook marks action items
done, once per delivery, and only when signed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.domain.model import EventKind
from bot.outbox_types import OutboxState, Priority
from bot.ports import FixedClock
from bot.runtime import Runtime
from integrations.jira.client import marker
from tests.fakes.jira_api import FakeJira, adf_text
from tests.fakes.servicenow_api import FakeServiceNow
from tests.fakes.slack_api import BOB, CAROL, FakeSlackApi
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    Client,
    Slack,
    declare,
    eventually,
    fake,
    poll,
    settle,
    slack,
)
from tests.tickets.support import (
    HOOK_SECRET,
    entries,
    issue_of,
    replies,
    rows,
    ticket_settings,
)
from tests.tickets.support import failed as _failed
from tests.tickets.support import incident_id as _id
from tests.tickets.support import when as _when


@pytest.fixture
def settings_overrides(
    fake: FakeSlackApi,  # noqa: F811
    jira: FakeJira,
    snow: FakeServiceNow,
) -> dict[str, Any]:
    return ticket_settings(fake, jira, snow)


async def test_a_severe_incident_opens_a_jira_issue_and_servicenow_incident_linked_both_ways(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    snow: FakeServiceNow,
) -> None:
    await declare(slack, runtime, "declare Checkout <!channel> & co is down sev1")
    issue = await issue_of(jira)
    assert issue.key == "OPS-1" and issue.fields["issuetype"] == {"name": "Incident"}
    assert issue.summary == "INC-1 SEV1: Checkout <!channel> & co is down"
    assert issue.priority == "Highest" and issue.labels[:2] == ["sitrep", "sitrep-sev1"]
    assert "https://sitrep.example.com/incidents/1" in adf_text(issue.fields["description"])
    (link,) = issue.remote_links.values()
    assert link["object"]["url"] == "https://sitrep.example.com/incidents/1"
    record = (await eventually(lambda: snow.by_correlation("sitrep:default:INC-1")))[0]
    assert (record["urgency"], record["impact"], record["priority"]) == ("1", "1", "1")
    assert record["short_description"].startswith("INC-1 SEV1: Checkout")
    links = await poll(
        lambda: _when(entries(runtime, EventKind.TICKET_LINKED), lambda e: len(e) == 2)
    )
    texts = sorted(e.text for e in links)
    assert texts[0].startswith(f"Opened Jira issue OPS-1: {jira.url}/browse/OPS-1")
    assert texts[1].startswith(f"Opened ServiceNow incident {record['number']}: {snow.url}")
    assert record["sys_id"] in texts[1]
    assert [r.priority for r in await rows(runtime, "jira")] == [Priority.OUTSIDE]


async def test_status_severity_and_resolution_follow_the_incident_to_the_stored_ids(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    snow: FakeServiceNow,
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev1")
    issue = await issue_of(jira)
    await slack.command("status identified", channel=room)
    await eventually(lambda: issue.status == "In Progress")
    await slack.command("sev 2", channel=room)
    await eventually(lambda: issue.priority == "High")
    # The edit keeps the marker label a retried create looks the issue up by.
    assert issue.labels == ["sitrep", "sitrep-sev2", marker("default", 1)]
    assert issue.summary.startswith("INC-1 SEV2:")
    await slack.command("resolve rolled back the deploy", channel=room)
    await eventually(lambda: issue.status == "Done" and issue.comments)
    assert "rolled back the deploy" in adf_text(issue.comments[0]["body"])
    (record,) = snow.by_correlation("sitrep:default:INC-1")
    await eventually(lambda: record["state"] == "6")
    assert record["close_code"] == "Solution provided"
    assert record["close_notes"] == "rolled back the deploy"
    assert (record["urgency"], record["impact"]) == ("1", "2")
    await settle(runtime)
    # One issue and one record: every update went to the ids the creates returned.
    assert len(jira.issues) == 1 and len(snow.records) == 1
    assert all(r.state is OutboxState.DELIVERED for r in await rows(runtime, "jira"))


async def test_ticket_in_chat_opens_one_for_a_mild_incident_and_a_second_ask_is_refused(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    snow: FakeServiceNow,
) -> None:
    room = await declare(slack, runtime, "declare Slow search sev3")
    await settle(runtime)
    assert jira.issues == {} and snow.records == {}
    await slack.command("ticket jira", channel=room)
    issue = await issue_of(jira, "sitrep-sev3")
    assert issue.priority == "Medium"
    await settle(runtime)
    assert snow.records == {}  # only the service asked for
    await slack.command("ticket jira", channel=room)
    text = await eventually(
        lambda: next((t for t in replies(slack, room) if "already has" in t), None)
    )
    assert "OPS-1" in text
    await slack.command("ticket", channel=room)
    await eventually(lambda: snow.records)
    await settle(runtime)
    assert len(jira.issues) == 1 and len(snow.records) == 1


async def test_jira_down_delays_the_issue_and_its_updates_without_losing_or_reordering(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    clock: FixedClock,
) -> None:
    await jira.stop()  # connection refused
    assert (await slack.command("declare Checkout is down sev2")).status == 200
    await eventually(lambda: slack.fake.called("pins.add"))
    room = [c for c in slack.fake.channels() if c.name.startswith("inc-")][-1].id
    await slack.command("status identified", channel=room)
    await slack.command("note still going", channel=room)
    await eventually(lambda: any("still going" in t for t in replies(slack, room)))
    (create,) = await poll(lambda: _failed(runtime, "jira"))
    assert create.action == "create" and create.attempts == 1
    # The update waits behind its create in the incident's Jira lane.
    waiting = [r for r in await rows(runtime, "jira") if r.action == "update"]
    assert len(waiting) == 1 and waiting[0].attempts == 0

    await jira.start()
    clock.advance(seconds=5)
    runtime.wake_outbox()
    issue = await issue_of(jira, "sitrep-sev2")
    await eventually(lambda: issue.status == "In Progress")
    assert len(jira.issues) == 1


async def test_a_rate_limited_create_waits_for_retry_after(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    clock: FixedClock,
) -> None:
    jira.rate_limit_next(1, retry_after="60")
    assert (await slack.command("declare Checkout is down sev2")).status == 200
    (row,) = await poll(lambda: _failed(runtime, "jira"))
    assert "429" in (row.last_error or "")
    assert (row.next_attempt_at - clock.now()).total_seconds() >= 60
    clock.advance(seconds=61)
    runtime.wake_outbox()
    await issue_of(jira, "sitrep-sev2")


async def test_action_item_becomes_a_subtask_and_closing_it_in_jira_marks_it_done_once(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    client: Client,
    clock: FixedClock,
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    parent = await issue_of(jira, "sitrep-sev2")
    await slack.command(f"action Add retries to the client <@{BOB}> due 2030-01-15", channel=room)
    await slack.command(f"action Write the runbook <@{CAROL}>", channel=room)
    items = await eventually(
        lambda: (
            len(jira.by_label("sitrep-action-item")) == 2 and jira.by_label("sitrep-action-item")
        )
    )
    # By what they say: the two commands may be handled in either order.
    by_text = {i.summary: i for i in items}
    mapped, unmapped = by_text["Add retries to the client"], by_text["Write the runbook"]
    assert mapped.parent == parent.key and mapped.fields["issuetype"] == {"name": "Sub-task"}
    assert mapped.assignee == "acc-bob" and mapped.fields["duedate"] == "2030-01-15"
    assert unmapped.assignee is None and "duedate" not in unmapped.fields
    # Carol has no Jira account mapped: unassigned, and named in the text instead.
    assert f"Owner: {CAROL}" in adf_text(unmapped.fields["description"])
    await settle(runtime)

    jira.set_status(mapped.key, "Done")
    body = json.dumps(jira.webhook(mapped.key, at_ms=int(clock.now().timestamp() * 1000))).encode()
    headers = jira.sign(body, HOOK_SECRET, identifier="delivery-1")
    first = await client.post("/webhooks/jira", data=body, headers=headers)
    replay = await client.post("/webhooks/jira", data=body, headers=headers)
    assert (first.status, await first.json()) == (200, {"item": "recorded"})
    assert (replay.status, await replay.json()) == (200, {"item": "duplicate"})
    detail = await runtime.service.read(lambda repo: repo.action_items(_id(repo)))
    done = {i.text: i.done for i in detail}
    assert done == {"Add retries to the client": True, "Write the runbook": False}
    assert len(await entries(runtime, EventKind.ACTION_ITEM_DONE)) == 1


async def test_a_signed_delivery_replayed_under_another_identifier_changes_nothing(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    client: Client,
    clock: FixedClock,
) -> None:
    # The identifier header is not signed: whoever captured a delivery could send its body
    # again under a new identifier within the freshness window and undo a later change.
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    await issue_of(jira, "sitrep-sev2")
    await slack.command("action Write the runbook", channel=room)
    (item,) = await eventually(lambda: jira.by_label("sitrep-action-item"))
    await settle(runtime)
    at_ms = int(clock.now().timestamp() * 1000)
    jira.set_status(item.key, "Done")
    done = json.dumps(jira.webhook(item.key, at_ms=at_ms)).encode()
    jira.set_status(item.key, "To Do")
    reopened = json.dumps(jira.webhook(item.key, at_ms=at_ms + 1000)).encode()
    sent = [
        (done, "delivery-1"),
        (reopened, "delivery-2"),
        (done, "delivery-1-again"),
    ]
    answers = []
    for data, identifier in sent:
        headers = jira.sign(data, HOOK_SECRET, identifier=identifier)
        resp = await client.post("/webhooks/jira", data=data, headers=headers)
        answers.append((resp.status, (await resp.json())["item"]))
    assert answers == [(200, "recorded"), (200, "recorded"), (200, "duplicate")]
    items = await runtime.service.read(lambda repo: repo.action_items(_id(repo)))
    assert [i.done for i in items] == [False]


async def test_jira_webhook_refuses_unsigned_forged_and_stale_deliveries(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    client: Client,
    clock: FixedClock,
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    await issue_of(jira, "sitrep-sev2")
    await slack.command("action Write the runbook", channel=room)
    (item,) = await eventually(lambda: jira.by_label("sitrep-action-item"))
    jira.set_status(item.key, "Done")
    now_ms = int(clock.now().timestamp() * 1000)
    body = json.dumps(jira.webhook(item.key, at_ms=now_ms)).encode()
    unsigned = await client.post(
        "/webhooks/jira",
        data=body,
        headers={"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": "d1"},
    )
    forged = await client.post("/webhooks/jira", data=body, headers=jira.sign(body, "guess"))
    stale_body = json.dumps(jira.webhook(item.key, at_ms=now_ms - 2 * 3600 * 1000)).encode()
    stale = await client.post(
        "/webhooks/jira", data=stale_body, headers=jira.sign(stale_body, HOOK_SECRET)
    )
    assert [unsigned.status, forged.status, stale.status] == [401, 401, 401]
    assert "stale" in (await stale.json())["error"]
    assert await entries(runtime, EventKind.ACTION_ITEM_DONE) == []


async def test_a_private_incident_ticket_carries_no_title_or_text(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    snow: FakeServiceNow,
) -> None:
    assert (await slack.command("declare Acquisition of Initech leaked sev1 private")).status == 200
    issue = await issue_of(jira)
    record = (await eventually(lambda: snow.by_correlation("sitrep:default:INC-1")))[0]
    assert issue.summary == "INC-1 SEV1: private incident"
    assert record["short_description"] == "INC-1 SEV1: private incident"
    everything = json.dumps([issue.fields, record])
    assert "Initech" not in everything


async def test_raising_the_severity_opens_the_tickets_the_new_severity_calls_for(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    snow: FakeServiceNow,
) -> None:
    room = await declare(slack, runtime, "declare Slow search sev3")
    await slack.command("sev 2", channel=room)
    issue = await issue_of(jira, "sitrep-sev2")
    await settle(runtime)
    assert snow.records == {}  # ServiceNow opens at SEV1 only
    await slack.command("sev 1", channel=room)
    await eventually(lambda: snow.by_correlation("sitrep:default:INC-1"))
    await eventually(lambda: issue.priority == "Highest")
    await settle(runtime)
    assert len(jira.issues) == 1 and len(snow.records) == 1


async def test_servicenow_down_delays_the_record_and_its_resolve_without_losing_either(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    snow: FakeServiceNow,
    clock: FixedClock,
) -> None:
    await snow.stop()
    assert (await slack.command("declare Checkout is down sev1")).status == 200
    await eventually(lambda: slack.fake.called("pins.add"))
    room = [c for c in slack.fake.channels() if c.name.startswith("inc-")][-1].id
    await poll(lambda: _failed(runtime, "servicenow"))
    await slack.command("resolve restarted the pool", channel=room)
    await eventually(lambda: any("Resolved" in t for t in replies(slack, room)))

    await snow.start()
    snow.fail_next(1, 503)  # back, but still failing for a moment

    async def nudged() -> bool:
        # Each failed attempt backs off on the test's clock: move it past the wait.
        clock.advance(seconds=5)
        runtime.wake_outbox()
        await asyncio.sleep(0.05)
        return bool(snow.records)

    await poll(nudged)
    assert len(snow.requests) >= 3  # refused while down is not a request; 503, query, create
    record = (await eventually(lambda: snow.by_correlation("sitrep:default:INC-1")))[0]
    await eventually(lambda: record["state"] == "6")
    assert record["close_notes"] == "restarted the pool" and len(snow.records) == 1
