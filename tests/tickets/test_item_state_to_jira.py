"""An action item done or reopened in sitrep moves its Jira issue, over real HTTP: from chat,
the web and the API; after its create when Jira was down; never echoed when Jira itself said
so; and the port picks the transition by status category or by the settings, moving nothing
when the issue is already there."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.domain.model import EventKind
from bot.outbox_types import OutboxState
from bot.ports import DeliveryError, FixedClock, OutsideCall
from bot.runtime import Runtime
from bot.tickets.refs import ITEM_STATE
from integrations.jira.client import JiraConfig, JiraTickets, basic_auth
from tests.fakes.jira_api import FakeJira, JiraIssue
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
    JIRA_EMAIL,
    JIRA_TOKEN,
    entries,
    failed,
    incident_id,
    issue_of,
    rows,
)
from tests.tickets.test_ticket_flow import settings_overrides  # noqa: F401 (fixture)
from tests.web.support import logged_in


async def subtask(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
) -> tuple[str, int, Any]:
    """Declare a SEV2 (it opens an issue), add an action item; its room, id and sub-task."""
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    await issue_of(jira, "sitrep-sev2")
    await slack.command("action Write the runbook", channel=room)
    (sub,) = await eventually(lambda: jira.by_label("sitrep-action-item"))
    await settle(runtime)
    return room, await item_id(runtime), sub


async def item_id(runtime: Runtime) -> int:
    (item,) = await runtime.service.read(lambda repo: repo.action_items(incident_id(repo)))
    return int(item.id)


async def done_in_sitrep(runtime: Runtime) -> bool:
    (item,) = await runtime.service.read(lambda repo: repo.action_items(incident_id(repo)))
    return bool(item.done)


async def from_jira(client: Client, jira: FakeJira, clock: FixedClock, key: str) -> Any:
    """Jira's webhook reporting the issue's current status, signed."""
    body = json.dumps(jira.webhook(key, at_ms=int(clock.now().timestamp() * 1000))).encode()
    resp = await client.post("/webhooks/jira", data=body, headers=jira.sign(body, HOOK_SECRET))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["item"]


async def test_done_in_chat_moves_the_subtask_to_done_and_jiras_report_of_it_changes_nothing(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    client: Client,
    clock: FixedClock,
) -> None:
    room, item, sub = await subtask(slack, runtime, jira)
    await slack.command(f"done {item}", channel=room)
    await eventually(lambda: sub.status == "Done")
    await settle(runtime)
    assert sub.transitions == ["Done"]
    (row,) = [r for r in await rows(runtime, "jira") if r.action == ITEM_STATE]
    assert row.state is OutboxState.DELIVERED
    # Jira's webhook then reports the move sitrep made: nothing changes a second time.
    calls = list(jira.requests)
    assert await from_jira(client, jira, clock, sub.key) == "unchanged"
    await settle(runtime)
    assert jira.requests == calls
    assert len(await entries(runtime, EventKind.ACTION_ITEM_DONE)) == 1
    assert [r.action for r in await rows(runtime, "jira")].count(ITEM_STATE) == 1


async def test_reopened_on_the_web_or_the_api_moves_the_subtask_back_to_to_do(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    client: Client,
    auth: dict[str, str],
) -> None:
    room, item, sub = await subtask(slack, runtime, jira)
    await slack.command(f"done {item}", channel=room)
    await eventually(lambda: sub.status == "Done")
    browser = await logged_in(client)
    resp = await browser.post(f"/incidents/1/action-items/{item}", {"done": "0"})
    assert resp.status == 303
    await eventually(lambda: sub.status == "To Do")
    api = f"/api/incidents/INC-1/action-items/{item}"
    resp = await client.patch(api, json={"done": True}, headers=auth)
    assert resp.status == 200, await resp.text()
    await eventually(lambda: sub.status == "Done")
    resp = await client.patch(api, json={"done": False}, headers=auth)
    assert resp.status == 200, await resp.text()
    await eventually(lambda: sub.status == "To Do")
    await settle(runtime)
    assert sub.transitions == ["Done", "Reopen", "Done", "Reopen"]


async def test_done_while_jira_is_down_reaches_it_once_back_after_the_subtask_is_created(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    clock: FixedClock,
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev2")
    await issue_of(jira, "sitrep-sev2")
    await settle(runtime)
    await jira.stop()
    await slack.command("action Write the runbook", channel=room)
    (create,) = await poll(lambda: failed(runtime, "jira"))
    assert create.action == "create_item"
    await slack.command(f"done {await item_id(runtime)}", channel=room)
    await poll(lambda: done_in_sitrep(runtime))
    (waiting,) = [r for r in await rows(runtime, "jira") if r.action == ITEM_STATE]
    # Behind the sub-task's create in the incident's Jira lane: not even tried.
    assert waiting.attempts == 0 and waiting.ordering_key == create.ordering_key

    await jira.start()
    clock.advance(seconds=5)
    runtime.wake_outbox()
    (sub,) = await eventually(lambda: jira.by_label("sitrep-action-item"))
    await eventually(lambda: sub.status == "Done")
    await settle(runtime)
    assert sub.transitions == ["Done"] and len(jira.by_label("sitrep-action-item")) == 1
    creates = [i for i, r in enumerate(jira.requests) if r == ("POST", "/rest/api/3/issue")]
    moved = jira.requests.index(("POST", f"/rest/api/3/issue/{sub.key}/transitions"))
    assert len(creates) == 2 and creates[-1] < moved  # the issue, then the sub-task, then done


async def test_done_and_reopened_in_jira_are_not_sent_back_to_jira(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    client: Client,
    clock: FixedClock,
) -> None:
    _, _, sub = await subtask(slack, runtime, jira)
    calls = list(jira.requests)
    jira.set_status(sub.key, "Done")
    assert await from_jira(client, jira, clock, sub.key) == "recorded"
    await settle(runtime)
    assert await done_in_sitrep(runtime)
    clock.advance(seconds=1)
    jira.set_status(sub.key, "To Do")
    assert await from_jira(client, jira, clock, sub.key) == "recorded"
    await settle(runtime)
    assert not await done_in_sitrep(runtime)
    assert jira.requests == calls  # not one call to Jira for what Jira said
    assert ITEM_STATE not in [r.action for r in await rows(runtime, "jira")]


# -- the port on its own ------------------------------------------------------------------------


class OneItemLinks:
    """``TicketLinks`` holding INC-7's action item #3 ref, as the test sets it."""

    def __init__(self, ref: dict[str, Any] | None) -> None:
        self.ref = ref

    async def find(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> dict[str, Any] | None:
        return self.ref if (number, item_id) == (7, 3) else None

    async def record(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("moving an issue records nothing")

    async def sending(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("moving an issue creates nothing")

    async def unsent(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("moving an issue creates nothing")

    def now(self) -> datetime:
        raise AssertionError("moving an issue waits for nothing")


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def port(
    jira: FakeJira,
    session: aiohttp.ClientSession,
    ref: dict[str, Any] | None,
    item_transitions: dict[str, str] | None = None,
) -> JiraTickets:
    config = JiraConfig(
        base_url=jira.url,
        authorization=basic_auth(JIRA_EMAIL, JIRA_TOKEN),
        project="OPS",
        item_transitions=item_transitions or {},
    )
    return JiraTickets(lambda: session, OneItemLinks(ref), config, timeout=2)


def item_state(done: bool) -> OutsideCall:
    payload = {"incident": "INC-7", "number": 7, "item": 3, "done": done, "dedup_key": "d"}
    return OutsideCall("default", ITEM_STATE, payload, "k", 1)


def put_issue(jira: FakeJira, status: str) -> JiraIssue:
    issue = JiraIssue(id="10001", key="OPS-1", fields={"summary": "x"}, status=status)
    jira.issues[issue.key] = issue
    return issue


LINKED = {"id": "OPS-1", "key": "OPS-1", "url": "u"}


async def test_settings_name_the_transition_instead_of_the_status_category(
    jira: FakeJira, session: aiohttp.ClientSession
) -> None:
    issue = put_issue(jira, "Done")
    tickets = port(jira, session, LINKED, {"open": "Start progress", "done": "21"})
    assert (await tickets.deliver(item_state(False)))["moved"] is True
    assert issue.status == "In Progress"  # not To Do, which the category alone would pick
    assert (await tickets.deliver(item_state(True)))["moved"] is True
    assert issue.transitions == ["Start progress", "Done"]


@pytest.mark.parametrize(
    ("status", "done", "item_transitions"),
    [
        ("Done", True, {}),  # a retry after the move
        ("To Do", False, {}),  # reopened in Jira already: not pushed on to In Progress
        ("In Progress", False, {}),
        ("To Do", True, {"done": "Close"}),  # the configured transition is not in the workflow
    ],
)
async def test_an_issue_already_there_or_without_the_transition_is_left_alone(
    jira: FakeJira,
    session: aiohttp.ClientSession,
    status: str,
    done: bool,
    item_transitions: dict[str, str],
) -> None:
    issue = put_issue(jira, status)
    tickets = port(jira, session, LINKED, item_transitions)
    answer = await tickets.deliver(item_state(done))
    assert answer == {"key": "OPS-1", "state": "done" if done else "open", "moved": False}
    assert issue.status == status and issue.transitions == []
    assert [m for m, _ in jira.requests].count("POST") == 0


@pytest.mark.parametrize("ref", [{"state": "planned"}, {"state": "sent", "at": "x"}, None])
async def test_an_item_whose_issue_was_never_created_is_parked_at_once_with_its_create(
    jira: FakeJira, session: aiohttp.ClientSession, ref: dict[str, Any] | None
) -> None:
    # Rows of a lane run in order: an unlinked issue means its create was parked, so retrying
    # would only hold up the incident's later Jira updates behind this row.
    with pytest.raises(DeliveryError, match="action item #3 has no issue") as caught:
        await port(jira, session, ref).deliver(item_state(True))
    assert caught.value.permanent and caught.value.retry_after is None
    assert "its create was parked" in str(caught.value)
    assert jira.requests == []
