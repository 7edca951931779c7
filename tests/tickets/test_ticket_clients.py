"""The Jira and ServiceNow ports against their stand-ins, without the rest of sitrep: ADF
built as data (escaped, no empty or control text), refusals told the outbox's way, and
retries that never open a second ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio

from bot.ports import DeliveryError, OutsideCall
from integrations.jira import adf
from integrations.jira.client import (
    INDEX_WAIT_SECONDS,
    JiraConfig,
    JiraTickets,
    basic_auth,
    incident_description,
)
from integrations.servicenow.client import ServiceNowConfig, ServiceNowTickets
from tests.fakes.jira_api import FakeJira, adf_problem, adf_text
from tests.fakes.servicenow_api import FakeServiceNow
from tests.support.links import MemoryTicketLinks
from tests.tickets.test_jira_create_is_idempotent import INCIDENT as IDEMPOTENT_INCIDENT

# INC-7 with a title and summary that need escaping.
INCIDENT = IDEMPOTENT_INCIDENT | {
    "title": 'DB "primary" <b>down</b> & @here\x07',
    "summary": "line one\nline two",
}


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def call(action: str, payload: dict[str, Any], attempt: int = 1) -> OutsideCall:
    return OutsideCall("default", action, payload, f"k:{action}", attempt)


def test_adf_is_data_escaped_by_json_without_empty_or_control_text() -> None:
    doc = incident_description(INCIDENT | {"summary": "a\n\nb\x00c"})
    assert adf_problem(doc) is None
    text = adf_text(doc)
    assert "\x00" not in text and "bc" in text
    raw = orjson.dumps(adf.doc(adf.paragraph(str(INCIDENT["title"]))))
    assert b"<b>" in raw and b'\\"primary\\"' in raw and b"\\u0007" not in raw
    assert adf.doc() == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "(empty)"}]}],
    }
    assert adf.one_line("a\nb\tc" + "x" * 300) == ("a b c" + "x" * 300)[:255]


async def test_jira_create_is_retried_without_a_second_issue(
    session: aiohttp.ClientSession,
) -> None:
    links = MemoryTicketLinks()
    async with FakeJira(email="e@x", token="t") as jira:
        cfg = JiraConfig(jira.url, basic_auth("e@x", "t"), "OPS", "Task")
        port = JiraTickets(lambda: session, links, cfg)
        jira.fail_next(1, 502)  # fails after nothing was created
        with pytest.raises(DeliveryError) as failed:
            await port.deliver(call("create", INCIDENT))
        assert not failed.value.permanent
        # A 502 may come after Jira acted: the retry waits out Jira's search lag first.
        links.clock.advance(seconds=INDEX_WAIT_SECONDS)
        first = await port.deliver(call("create", INCIDENT, 2))
        again = await port.deliver(call("create", INCIDENT, 3))
        assert first["key"] == again["key"] == "OPS-1"
        assert len(jira.issues) == 1 and len(links.records) == 1
        assert len(jira.issues["OPS-1"].remote_links) == 1  # upserted by globalId
        assert jira.issues["OPS-1"].summary == 'INC-7 SEV1: DB "primary" <b>down</b> & @here'


async def test_jira_refusals_park_and_rate_limits_wait(session: aiohttp.ClientSession) -> None:
    async with FakeJira(email="e@x", token="t") as jira:
        wrong = JiraTickets(
            lambda: session, MemoryTicketLinks(), JiraConfig(jira.url, "Bearer no", "OPS")
        )
        with pytest.raises(DeliveryError, match="credentials refused") as refused:
            await wrong.deliver(call("create", INCIDENT))
        assert refused.value.permanent
        cfg = JiraConfig(jira.url, basic_auth("e@x", "t"), "NOPE", "Bug")
        bad = JiraTickets(lambda: session, MemoryTicketLinks(), cfg)
        with pytest.raises(DeliveryError, match="project: Specify a valid project") as rejected:
            await bad.deliver(call("create", INCIDENT))
        assert rejected.value.permanent and "issuetype" in str(rejected.value)
        jira.rate_limit_next(1, retry_after="30")
        good = JiraTickets(
            lambda: session,
            MemoryTicketLinks(),
            JiraConfig(jira.url, basic_auth("e@x", "t"), "OPS"),
        )
        with pytest.raises(DeliveryError) as limited:
            await good.deliver(call("create", INCIDENT))
        assert limited.value.retry_after == 30 and not limited.value.permanent


async def test_jira_update_before_the_create_is_retried_not_lost(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeJira(email="e@x", token="t") as jira:
        cfg = JiraConfig(jira.url, basic_auth("e@x", "t"), "OPS")
        port = JiraTickets(lambda: session, MemoryTicketLinks(), cfg)
        with pytest.raises(DeliveryError, match="no issue yet") as early:
            await port.deliver(call("update", INCIDENT | {"changes": ["status"]}))
        assert not early.value.permanent


async def test_servicenow_create_finds_its_record_by_correlation_id_and_resolves_with_codes(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeServiceNow("u", "p") as snow:
        cfg = ServiceNowConfig(snow.url, basic_auth("u", "p"), close_code="Solved (Permanently)")
        first_links, second_links = MemoryTicketLinks(), MemoryTicketLinks()
        await ServiceNowTickets(lambda: session, first_links, cfg).deliver(call("create", INCIDENT))
        # A create retried after ServiceNow answered but before sitrep kept the answer:
        port = ServiceNowTickets(lambda: session, second_links, cfg)
        again = await port.deliver(call("create", INCIDENT))
        assert len(snow.records) == 1 and again["sys_id"] in snow.records
        (record,) = snow.records.values()
        assert record["correlation_id"] == "sitrep:default:INC-7" and record["state"] == "2"
        resolved = INCIDENT | {"status": "resolved", "changes": ["status"], "resolution": "fixed"}
        await port.deliver(call("update", resolved))
        assert (record["state"], record["close_code"], record["close_notes"]) == (
            "6",
            "Solved (Permanently)",
            "fixed",
        )
        wrong = ServiceNowTickets(
            lambda: session, MemoryTicketLinks(), ServiceNowConfig(snow.url, "x")
        )
        with pytest.raises(DeliveryError, match="credentials refused"):
            await wrong.deliver(call("create", INCIDENT))


async def test_servicenow_stand_in_enforces_the_resolution_data_policy(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeServiceNow("u", "p") as snow:
        headers = {"Authorization": basic_auth("u", "p"), "Content-Type": "application/json"}
        url = f"{snow.url}/api/now/table/incident"
        async with session.post(
            url, json={"short_description": "x", "state": "6"}, headers=headers
        ) as r:
            assert r.status == 403 and "Data Policy" in (await r.json())["error"]["detail"]
        async with session.post(url, json={"description": "no short one"}, headers=headers) as r:
            assert r.status == 400
