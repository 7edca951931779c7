"""Paging and tickets over the REST API, end to end over real HTTP: ``POST …/page`` reaches the
PagerDuty stand-in and ``POST …/tickets`` the Jira and ServiceNow stand-ins through the outbox;
refusals are 4xx with the core's message and write nothing; a read-only token is refused.

The stand-ins' fixtures and the settings here are shared with the CLI and web tests
(tests/cli/test_cli_page_ticket.py, tests/web/test_page_and_ticket_forms.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain.model import EventKind
from bot.outbox_types import Priority
from bot.runtime import Runtime
from tests.api.test_api_tokens import make_token
from tests.fakes.jira_api import FakeJira
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.fakes.servicenow_api import FakeServiceNow
from tests.fakes.slack_api import FakeSlackApi
from tests.paging.support import PD_KEY, pd
from tests.paging.test_paging_flow import PAYMENTS, page_rows
from tests.slack_flow.test_slack_flow import Client, eventually, fake, poll  # noqa: F401
from tests.tickets.support import (
    JIRA_EMAIL,
    JIRA_TOKEN,
    SN_PASSWORD,
    SN_USER,
    entries,
    rows,
    ticket_settings,
    when,
)

__all__ = ["pd"]  # fixtures (PagerDuty and Opsgenie stand-ins)

# The ``settings_overrides`` params: what is configured.
EVERYTHING = "paging and tickets"
PAGING_ONLY = "paging only"
NOTHING = "nothing"


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with FakeJira(email=JIRA_EMAIL, token=JIRA_TOKEN, accounts=("acc-bob",)) as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def snow() -> AsyncIterator[FakeServiceNow]:
    async with FakeServiceNow(SN_USER, SN_PASSWORD) as stand_in:
        yield stand_in


def outside_settings(
    fake: FakeSlackApi,  # noqa: F811
    pd: FakePagerDutyEvents,
    jira: FakeJira,
    snow: FakeServiceNow,
    configured: str = EVERYTHING,
) -> dict[str, Any]:
    """Slack, PagerDuty (target ``payments``), Jira and ServiceNow on their stand-ins; tickets
    open only when asked (no severity opens one on its own)."""
    values = ticket_settings(fake, jira, snow) | {
        "jira_min_severity": None,
        "servicenow_min_severity": None,
        "pagerduty_routing_keys": {"payments": PD_KEY},
        "pagerduty_events_url": pd.url,
        "paging_timeout_seconds": 2,
    }
    if configured != EVERYTHING:
        for key in [k for k in values if k.startswith(("jira_", "servicenow_"))]:
            del values[key]
    if configured == NOTHING:
        for key in [k for k in values if k.startswith("pagerduty_")]:
            del values[key]
    return values


@pytest.fixture
def settings_overrides(
    request: pytest.FixtureRequest,
    fake: FakeSlackApi,  # noqa: F811
    pd: FakePagerDutyEvents,
    jira: FakeJira,
    snow: FakeServiceNow,
) -> dict[str, Any]:
    return outside_settings(fake, pd, jira, snow, getattr(request, "param", EVERYTHING))


async def declare(client: Client, auth: dict[str, str], **body: Any) -> None:
    body = {"title": "Checkout is down", "severity": "SEV2", **body}
    resp = await client.post("/api/incidents", json=body, headers=auth)
    assert resp.status == 201, await resp.text()


async def post(client: Client, path: str, body: Any, headers: dict[str, str]) -> Any:
    return await client.post(f"/api/incidents/INC-1/{path}", json=body, headers=headers)


async def nothing_queued(runtime: Runtime) -> None:
    """No page, no ticket: not on the timeline, not in the outbox."""
    for kind in (EventKind.PAGED, EventKind.TICKET_REQUESTED):
        assert await entries(runtime, kind) == []
    for service in ("pagerduty", "jira", "servicenow"):
        assert await rows(runtime, service) == []


# -- paging ---------------------------------------------------------------------------------


async def test_the_api_pages_a_configured_target_and_pagerduty_gets_the_page(
    client: Client, runtime: Runtime, auth: dict[str, str], pd: FakePagerDutyEvents
) -> None:
    await declare(client, auth)
    resp = await post(client, "page", {"target": "Payments"}, auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["changed"] is True and body["incident"]["ref"] == "INC-1"
    assert [(e["kind"], e["text"]) for e in body["events"]] == [("paged", "Paged Payments")]
    incident = await eventually(lambda: pd.incident(PAYMENTS))
    assert (incident.service, incident.summary) == ("Payments API", "INC-1 SEV2: Checkout is down")
    assert [r.priority for r in await page_rows(runtime, "pagerduty")] == [Priority.OUTSIDE]
    audit = await runtime.db.run(lambda repo: repo.audit_entries("default"))
    assert [(a.action, a.surface) for a in audit if a.action == "page"] == [("page", "api")]


async def test_an_unknown_target_is_a_400_naming_the_configured_ones_and_nothing_is_sent(
    client: Client, runtime: Runtime, auth: dict[str, str], pd: FakePagerDutyEvents
) -> None:
    await declare(client, auth)
    resp = await post(client, "page", {"target": "nobody"}, auth)
    assert resp.status == 400
    assert (await resp.json())["error"] == "No paging target 'nobody'; try: payments (PagerDuty)."
    await nothing_queued(runtime)
    assert pd.received == []


async def test_paging_a_resolved_incident_is_refused(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    await declare(client, auth)
    resp = await post(client, "status", {"status": "resolved"}, auth)
    assert resp.status == 200, await resp.text()
    resp = await post(client, "page", {"target": "payments"}, auth)
    assert resp.status == 400
    assert "reopen it before paging" in (await resp.json())["error"]
    await nothing_queued(runtime)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": ""}, "target"),
        ({"target": "x" * 101}, "target"),
        ({}, "target"),
        ({"target": "payments", "urgency": "high"}, "urgency"),
    ],
)
async def test_a_bad_page_body_is_a_400_naming_the_field(
    client: Client, runtime: Runtime, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    await declare(client, auth)
    resp = await post(client, "page", body, auth)
    assert resp.status == 400
    assert (await resp.json())["field"] == field
    await nothing_queued(runtime)


@pytest.mark.parametrize("settings_overrides", [NOTHING], indirect=True)
async def test_paging_when_nothing_is_configured_says_so(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    await declare(client, auth)
    resp = await post(client, "page", {"target": "payments"}, auth)
    assert resp.status == 400
    assert (await resp.json())["error"].startswith("Paging is not configured")
    resp = await post(client, "tickets", {}, auth)
    assert resp.status == 400
    assert (await resp.json())["error"].startswith("Tickets are not configured")
    await nothing_queued(runtime)


# -- tickets --------------------------------------------------------------------------------


async def test_the_api_opens_a_jira_issue_and_a_second_ask_is_refused(
    client: Client,
    runtime: Runtime,
    auth: dict[str, str],
    jira: FakeJira,
    snow: FakeServiceNow,
) -> None:
    await declare(client, auth)
    resp = await post(client, "tickets", {"service": "jira"}, auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert [(e["kind"], e["text"]) for e in body["events"]] == [
        ("ticket_requested", "Ticket requested in jira")
    ]
    (issue,) = await eventually(lambda: list(jira.issues.values()))
    assert issue.summary == "INC-1 SEV2: Checkout is down"
    (link,) = await poll(lambda: entries(runtime, EventKind.TICKET_LINKED))
    assert link.text.startswith(f"Opened Jira issue {issue.key}: {jira.url}/browse/{issue.key}")
    resp = await post(client, "tickets", {"service": "jira"}, auth)
    assert resp.status == 400
    assert (await resp.json())["error"] == f"INC-1 already has a Jira issue ({issue.key})."
    assert len(jira.issues) == 1 and snow.records == {}
    assert len(await entries(runtime, EventKind.TICKET_REQUESTED)) == 1


async def test_a_ticket_without_a_service_opens_one_in_each_configured_service(
    client: Client, runtime: Runtime, auth: dict[str, str], jira: FakeJira, snow: FakeServiceNow
) -> None:
    await declare(client, auth)
    resp = await post(client, "tickets", {"service": None}, auth)
    assert resp.status == 200, await resp.text()
    await eventually(lambda: jira.issues and snow.by_correlation("sitrep:default:INC-1"))
    links = await poll(
        lambda: when(entries(runtime, EventKind.TICKET_LINKED), lambda found: len(found) == 2)
    )
    assert sorted(e.text.split(" ")[1] for e in links) == ["Jira", "ServiceNow"]
    # Asked again, by name or not: refused, naming the tickets, and nothing is written.
    resp = await post(client, "tickets", {"service": "servicenow"}, auth)
    assert (
        resp.status == 400 and "already has a ServiceNow incident" in (await resp.json())["error"]
    )
    resp = await post(client, "tickets", {}, auth)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error.startswith("INC-1 already has a Jira issue (") and "ServiceNow incident" in error
    assert len(await entries(runtime, EventKind.TICKET_REQUESTED)) == 1
    assert len(jira.issues) == 1 and len(snow.records) == 1
    assert len(await rows(runtime, "jira")) == len(await rows(runtime, "servicenow")) == 1


@pytest.mark.parametrize("settings_overrides", [PAGING_ONLY], indirect=True)
async def test_an_unconfigured_ticket_service_is_a_400_and_nothing_is_written(
    client: Client, runtime: Runtime, auth: dict[str, str], jira: FakeJira
) -> None:
    await declare(client, auth)
    resp = await post(client, "tickets", {"service": "jira"}, auth)
    assert resp.status == 400
    assert (await resp.json())["error"].startswith("jira is not configured")
    await nothing_queued(runtime)
    assert jira.issues == {}


async def test_an_unknown_ticket_service_is_a_400_naming_the_field(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    await declare(client, auth)
    resp = await post(client, "tickets", {"service": "github"}, auth)
    assert resp.status == 400
    assert (await resp.json())["field"] == "service"
    await nothing_queued(runtime)


# -- who may ---------------------------------------------------------------------------------


async def test_a_read_only_token_may_neither_page_nor_open_tickets(
    client: Client, runtime: Runtime, auth: dict[str, str], pd: FakePagerDutyEvents
) -> None:
    await declare(client, auth)
    _, reader = await make_token(client, auth, "incidents:read")
    for path, body in (("page", {"target": "payments"}), ("tickets", {"service": "jira"})):
        resp = await post(client, path, body, reader)
        assert resp.status == 403, path
        assert (await resp.json())["scope"] == "incidents:write"
    await nothing_queued(runtime)
    assert pd.received == []


async def test_a_private_incident_reads_as_absent_to_a_non_member_token(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    await declare(client, auth, private=True)
    _, dana = await make_token(client, auth, "incidents:write")
    for path, body in (("page", {"target": "payments"}), ("tickets", {})):
        resp = await post(client, path, body, dana)
        assert resp.status == 404, path
    await nothing_queued(runtime)
