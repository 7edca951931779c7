"""A Jira create delivered twice opens one issue: when Jira created the issue but sitrep never
heard the answer (the connection dropped, the process died before recording), the retry
finds the issue by its marker label and links it instead of opening a second one, even
while Jira's search index lags behind the create.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import aiohttp
import pytest
import pytest_asyncio

from bot.domain.model import EventKind
from bot.ports import DeliveryError, FixedClock, OutsideCall
from bot.runtime import Runtime
from bot.tickets.refs import JIRA
from integrations.jira.client import JiraConfig, JiraTickets, basic_auth, marker
from tests.fakes.jira_api import FakeJira
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    Slack,
    eventually,
    fake,
    poll,
    slack,
)
from tests.support.links import MemoryTicketLinks, Recorded
from tests.tickets.support import entries
from tests.tickets.support import failed as _failed
from tests.tickets.test_ticket_flow import settings_overrides  # noqa: F401 (fixture)

INCIDENT = {
    "incident": "INC-7",
    "number": 7,
    "title": "Checkout is down",
    "summary": "",
    "severity": "SEV1",
    "rank": 1,
    "status": "investigating",
    "url": "https://sitrep.example.com/incidents/7",
    "dedup_key": "sitrep:default:INC-7",
    "declared_at": "2026-12-06T08:00:00+00:00",
    "private": False,
    "resolution": "",
}
ITEM = {
    "incident": "INC-7",
    "number": 7,
    "item": 3,
    "text": "Add a canary for checkout",
    "owner": "",
    "owner_name": "",
    "due": "",
    "url": "https://sitrep.example.com/incidents/7",
    "dedup_key": "sitrep:default:INC-7",
}


OURS = ("default", JIRA, 7, None)  # INC-7's ref in the links


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest_asyncio.fixture
async def stand_in() -> AsyncIterator[FakeJira]:
    async with FakeJira(email="e@x", token="t") as jira:
        yield jira


@pytest.fixture
def links() -> MemoryTicketLinks:
    return MemoryTicketLinks()


@pytest.fixture
def jira_port(
    session: aiohttp.ClientSession, stand_in: FakeJira, links: MemoryTicketLinks
) -> JiraTickets:
    return port(session, stand_in, links)


def recorded(
    key: str, item_id: int | None = None, ws: str = "default", number: int = 7
) -> Recorded:
    """The record of ``key`` for INC-7 (or its item), whatever its id and url."""
    return Recorded(ws, JIRA, 7, item_id, key, ANY, ANY)


def port(
    session: aiohttp.ClientSession, stand_in: FakeJira, links: MemoryTicketLinks
) -> JiraTickets:
    config = JiraConfig(stand_in.url, basic_auth("e@x", "t"), "OPS", "Task")
    return JiraTickets(lambda: session, links, config)


def call(action: str, payload: dict[str, Any], attempt: int, ws: str = "default") -> OutsideCall:
    return OutsideCall(ws, action, payload, f"k:{action}", attempt)


def test_the_marker_label_is_a_valid_jira_label_distinct_per_workspace_incident_and_item() -> None:
    labels = {
        marker("default", 7),
        marker("T0 team with spaces", 7),
        marker("default", 8),
        marker("default", 7, 3),
    }
    assert len(labels) == 4
    assert all(" " not in x and len(x) <= 255 and x.startswith("sitrep-") for x in labels)
    assert marker("default", 7, 3).endswith("-inc-7-item-3")
    assert marker("default", 7) == marker("default", 7)


async def test_a_create_whose_answer_was_lost_is_found_by_its_label_and_linked_once(
    stand_in: FakeJira, links: MemoryTicketLinks, jira_port: JiraTickets
) -> None:
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError) as lost:
        await jira_port.deliver(call("create", INCIDENT, 1))
    assert not lost.value.permanent and "502" in str(lost.value)
    assert list(stand_in.issues) == ["OPS-1"]  # Jira did create it

    again = await jira_port.deliver(call("create", INCIDENT, 2))

    assert again["key"] == "OPS-1" and list(stand_in.issues) == ["OPS-1"]
    assert links.records == [recorded("OPS-1")]
    assert marker("default", 7) in stand_in.issues["OPS-1"].labels
    assert len(stand_in.issues["OPS-1"].remote_links) == 1
    assert ("GET", "/rest/api/3/search/jql") in stand_in.requests


async def test_a_process_that_died_before_recording_the_key_finds_the_issue_after_restart(
    session: aiohttp.ClientSession, stand_in: FakeJira, links: MemoryTicketLinks
) -> None:
    links.crash_next_record = True
    with pytest.raises(RuntimeError):
        await port(session, stand_in, links).deliver(call("create", INCIDENT, 1))
    # A new process: a new port, no memory of the first create.
    answer = await port(session, stand_in, links).deliver(call("create", INCIDENT, 2))
    assert answer["key"] == "OPS-1" and len(stand_in.issues) == 1
    assert links.records == [recorded("OPS-1")]


async def test_a_retry_while_jira_search_lags_waits_for_the_index_instead_of_a_second_issue(
    stand_in: FakeJira, links: MemoryTicketLinks, jira_port: JiraTickets
) -> None:
    stand_in.index_lags = True
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError):
        await jira_port.deliver(call("create", INCIDENT, 1))

    with pytest.raises(DeliveryError, match="waiting") as waiting:
        await jira_port.deliver(call("create", INCIDENT, 2))
    assert not waiting.value.permanent
    assert 0 < (waiting.value.retry_after or 0) <= jira_port.index_wait
    assert len(stand_in.issues) == 1 and links.records == []

    stand_in.catch_up()
    answer = await jira_port.deliver(call("create", INCIDENT, 3))
    assert answer["key"] == "OPS-1" and len(stand_in.issues) == 1
    assert links.records == [recorded("OPS-1")]


async def test_a_create_that_never_reached_jira_is_retried_at_once_without_waiting(
    stand_in: FakeJira, links: MemoryTicketLinks, jira_port: JiraTickets
) -> None:
    stand_in.index_lags = True
    stand_in.rate_limit_next(2)  # two creates throttled: nothing made
    for attempt in (1, 2):
        with pytest.raises(DeliveryError, match="429"):
            await jira_port.deliver(call("create", INCIDENT, attempt))
    assert stand_in.issues == {}
    # A throttled create takes its journal note back: nothing to look for, no wait.
    assert links.refs[OURS] == {"state": "planned"}
    assert ("GET", "/rest/api/3/search/jql") not in stand_in.requests
    answer = await jira_port.deliver(call("create", INCIDENT, 3))
    assert answer["key"] == "OPS-1" and len(stand_in.issues) == 1


async def test_an_action_item_whose_answer_was_lost_is_found_by_its_item_label(
    stand_in: FakeJira, links: MemoryTicketLinks, jira_port: JiraTickets
) -> None:
    await jira_port.deliver(call("create", INCIDENT, 1))
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError):
        await jira_port.deliver(call("create_item", ITEM, 1))

    answer = await jira_port.deliver(call("create_item", ITEM, 2))

    assert answer["key"] == "OPS-2" and sorted(stand_in.issues) == ["OPS-1", "OPS-2"]
    sub = stand_in.issues["OPS-2"]
    assert sub.parent == "OPS-1" and marker("default", 7, 3) in sub.labels
    # The incident's own label does not match its item (nor the item the incident).
    assert marker("default", 7) not in sub.labels
    assert links.records[-1] == recorded("OPS-2", item_id=3)


async def test_workspaces_sharing_a_project_never_take_each_others_issue(
    stand_in: FakeJira, links: MemoryTicketLinks, jira_port: JiraTickets
) -> None:
    first = await jira_port.deliver(call("create", INCIDENT, 1, ws="acme"))
    other = await jira_port.deliver(call("create", INCIDENT, 1, ws="globex"))
    assert (first["key"], other["key"]) == ("OPS-1", "OPS-2")
    assert len(stand_in.issues) == 2
    assert links.records == [recorded("OPS-1", ws="acme"), recorded("OPS-2", ws="globex")]


async def test_through_the_outbox_a_lost_create_answer_still_yields_one_linked_issue(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    jira: FakeJira,
    clock: FixedClock,
) -> None:
    jira.index_lags = True
    jira.lose_next_create()
    assert (await slack.command("declare Checkout is down sev2")).status == 200
    (lost,) = await poll(lambda: _failed(runtime, "jira"))
    assert "502" in (lost.last_error or "") and list(jira.issues) == ["OPS-1"]

    # The retry finds nothing yet (the index lags) and waits rather than creating.
    clock.advance(seconds=5)
    runtime.wake_outbox()
    waiting = await poll(
        lambda: _when_all(_failed(runtime, "jira"), lambda r: "waiting" in (r.last_error or ""))
    )
    assert (waiting[0].next_attempt_at - clock.now()).total_seconds() > 5
    assert list(jira.issues) == ["OPS-1"]

    jira.catch_up()
    clock.advance(seconds=60)
    runtime.wake_outbox()
    (linked,) = await poll(lambda: entries(runtime, EventKind.TICKET_LINKED))
    assert "OPS-1" in linked.text
    await eventually(lambda: len(jira.issues["OPS-1"].remote_links) == 1)
    assert list(jira.issues) == ["OPS-1"]


async def _when_all(rows: Any, check: Any) -> list[Any] | None:
    got = [r for r in await rows if check(r)]
    return got or None
