"""``sitrep incident page`` and ``sitrep incident ticket`` against the running server's
database: the CLI queues, the server's outbox delivers to the PagerDuty and Jira stand-ins;
a refusal prints the core's message (naming the configured targets) and exits 2, writing
nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.domain.model import EventKind
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.cli import app as cli
from tests.api.test_page_and_ticket_api import (  # noqa: F401 (fixtures)
    jira,
    nothing_queued,
    pd,
    settings_overrides,
    snow,
)
from tests.fakes.jira_api import FakeJira
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.paging.test_paging_flow import PAYMENTS
from tests.slack_flow.test_slack_flow import Client, eventually, fake, poll  # noqa: F401
from tests.tickets.support import entries
from tests.web.support import declare


@pytest.fixture
def sitrep(
    client: Client,
    runtime: Runtime,
    clock: FixedClock,
    database_url: str,
    settings_overrides: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Any:
    """Run ``sitrep`` with the server's settings in its environment, beside the server."""
    # The CLI's rows carry the real time; the server's (fixed) clock must be past them.
    clock.set(datetime.now(UTC) + timedelta(minutes=5))
    monkeypatch.chdir(tmp_path)
    for key, value in {"database_url": database_url, **settings_overrides}.items():
        if value is not None:
            text = json.dumps(value) if isinstance(value, dict | list) else str(value)
            monkeypatch.setenv(f"SITREP_{key.upper()}", text)

    async def invoke(*args: str) -> Result:
        return await asyncio.to_thread(lambda: CliRunner().invoke(cli, ["incident", *args]))

    return invoke


async def test_page_queues_the_page_and_the_server_sends_it_to_pagerduty(
    sitrep: Any,
    runtime: Runtime,
    pd: FakePagerDutyEvents,  # noqa: F811
) -> None:
    await declare(runtime, "Checkout is down", severity="SEV2")
    result = await sitrep("page", "INC-1", "payments")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "INC-1: Paged payments"
    incident = await eventually(lambda: pd.incident(PAYMENTS))
    assert incident.summary == "INC-1 SEV2: Checkout is down"
    (paged,) = await entries(runtime, EventKind.PAGED)
    assert paged.actor.startswith("cli:")


async def test_an_unknown_target_exits_2_naming_the_configured_ones_and_sends_nothing(
    sitrep: Any,
    runtime: Runtime,
    pd: FakePagerDutyEvents,  # noqa: F811
) -> None:
    await declare(runtime, "Checkout is down")
    result = await sitrep("page", "INC-1", "nobody")
    assert result.exit_code == 2
    assert result.stderr == "error: No paging target 'nobody'; try: payments (PagerDuty).\n"
    result = await sitrep("page", "INC-1")
    assert result.exit_code == 2
    assert "configured: payments (PagerDuty)" in result.stderr
    await nothing_queued(runtime)
    assert pd.received == []


async def test_ticket_queues_a_jira_issue_and_asking_again_exits_2(
    sitrep: Any,
    runtime: Runtime,
    jira: FakeJira,  # noqa: F811
) -> None:
    await declare(runtime, "Checkout is down", severity="SEV2")
    result = await sitrep("ticket", "INC-1", "jira")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "INC-1: Ticket requested in jira"
    (issue,) = await eventually(lambda: list(jira.issues.values()))
    assert issue.summary == "INC-1 SEV2: Checkout is down"
    await poll(lambda: entries(runtime, EventKind.TICKET_LINKED))
    result = await sitrep("ticket", "INC-1", "jira")
    assert result.exit_code == 2
    assert result.stderr == f"error: INC-1 already has a Jira issue ({issue.key}).\n"
    assert len(jira.issues) == 1


async def test_an_unknown_ticket_service_or_incident_exits_2(sitrep: Any, runtime: Runtime) -> None:
    await declare(runtime, "Checkout is down")
    result = await sitrep("ticket", "INC-1", "github")
    assert result.exit_code == 2
    assert "jira or servicenow (configured: jira, servicenow)" in result.stderr
    result = await sitrep("ticket", "INC-7", "jira")
    assert result.exit_code == 2 and "INC-7" in result.stderr
    await nothing_queued(runtime)
