"""Tickets beside chat: do people's messages wait when Jira is slow or down, and how long does
an incident's ticket (create, then its updates in order) take to follow?

Builds the runtime over a temporary SQLite file with the outbox worker delivering chat to an
in-memory port and tickets to the Jira stand-in (real HTTP on loopback). It declares
``--incidents`` SEV1 incidents (each opens a Jira issue), moves each to identified and
resolves it, with Jira healthy, answering after ``--slow`` seconds, and refusing connections;
for each it prints p50/p95 from commit to delivery of chat messages and of Jira calls.

    python bench/tickets.py [--incidents 30] [--slow 1.0]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.outside_harness import beside_chat, healthy_slow_down  # noqa: E402
from bot.domain import commands as c  # noqa: E402
from bot.domain.model import Status  # noqa: E402
from tests.fakes.jira_api import FakeJira  # noqa: E402


async def scenario(name: str, incidents: int, mode: str, slow: float) -> None:
    async with FakeJira(email="bot@example.com", token="t") as jira:
        jira.delay = slow if mode == "slow" else 0.0
        run = await beside_chat(
            jira,
            "jira",
            incidents=incidents,
            commands=[c.ChangeStatus(Status.IDENTIFIED), c.ChangeStatus(Status.RESOLVED, "fixed")],
            down=mode == "down",
            jira_url=jira.url,
            jira_email="bot@example.com",
            jira_api_token="t",
            jira_project="OPS",
            jira_min_severity="SEV1",
            jira_transitions={"identified": "11", "resolved": "21"},
            tickets_timeout_seconds=max(slow * 2, 1.0),
        )
    print(f"{name:<24} {run.chat_line()} | jira {run.calls_line()} | issues {len(jira.issues)}")


if __name__ == "__main__":
    asyncio.run(healthy_slow_down("Jira", scenario, incidents=30, slow=1.0))
