"""The ticket flow tests' harness: the settings that point sitrep at the Jira and ServiceNow
stand-ins (``conftest.py`` serves them) and at the Slack fake, and helpers to read what sitrep
queued and recorded."""

from __future__ import annotations

from typing import Any

from bot.domain.model import EventKind
from bot.outbox_types import OutboxState
from bot.runtime import Runtime
from tests.alerts.support import incidents, timeline
from tests.fakes.jira_api import FakeJira
from tests.fakes.servicenow_api import FakeServiceNow
from tests.fakes.slack_api import BOB, CAROL, FakeSlackApi
from tests.slack_flow.test_slack_flow import SECRET, Slack, eventually

JIRA_EMAIL, JIRA_TOKEN = "sitrep@example.com", "jira-api-token"
HOOK_SECRET = "jira-webhook-secret"
SN_USER, SN_PASSWORD = "sitrep.integration", "sn-password"


def ticket_settings(fake: FakeSlackApi, jira: FakeJira, snow: FakeServiceNow) -> dict[str, Any]:
    """Slack, Jira and ServiceNow all pointed at their stand-ins, with quick retries."""
    return {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.url,
        "admins": [CAROL],
        "public_url": "https://sitrep.example.com",
        "jira_url": jira.url,
        "jira_email": JIRA_EMAIL,
        "jira_api_token": JIRA_TOKEN,
        "jira_project": "OPS",
        "jira_issue_type": "Incident",
        "jira_min_severity": "SEV2",
        "jira_priorities": {"SEV1": "Highest", "SEV2": "High", "SEV3": "Medium"},
        "jira_transitions": {
            "identified": "Start progress",
            "resolved": "21",
            "investigating": "31",
        },
        "jira_accounts": {BOB: "acc-bob"},
        "jira_webhook_secret": HOOK_SECRET,
        "servicenow_url": snow.url,
        "servicenow_username": SN_USER,
        "servicenow_password": SN_PASSWORD,
        "servicenow_min_severity": "SEV1",
        "outbox_max_attempts": 6,
        "outbox_backoff_cap_seconds": 1,
        "tickets_timeout_seconds": 2,
    }


async def rows(runtime: Runtime, service: str) -> list[Any]:
    """The outbox rows of ``service``."""
    found = await runtime.db.run(lambda repo: repo.list_outbox(limit=200))
    return [r for r in found if r.platform == service]


async def entries(runtime: Runtime, kind: EventKind, number: int = 1) -> list[Any]:
    """INC-``number``'s timeline entries of ``kind``."""
    (inc,) = [i for i in await incidents(runtime) if i.number == number]
    assert inc.id is not None
    return [e for e in await timeline(runtime, inc.id) if e.kind is kind]


def replies(chat: Slack, channel: str) -> list[str]:
    """What the bot said only to the sender in ``channel``."""
    return [e.text for e in chat.fake.ephemerals(channel)]


async def issue_of(jira: FakeJira, label: str = "sitrep-sev1") -> Any:
    """The first issue carrying ``label``, once there is one."""
    return (await eventually(lambda: jira.by_label(label)))[0]


def incident_id(repo: Any) -> int:
    """INC-1's database id."""
    inc = repo.get_incident("default", 1)
    assert inc is not None and inc.id is not None
    return int(inc.id)


async def when(value: Any, check: Any) -> Any:
    """The awaited ``value`` if ``check`` holds for it, else None (for ``poll``)."""
    got = await value
    return got if check(got) else None


async def failed(runtime: Runtime, service: str) -> list[Any]:
    """``service``'s rows that failed and wait for a retry."""
    return [
        r for r in await rows(runtime, service) if r.last_error and r.state is OutboxState.PENDING
    ]
