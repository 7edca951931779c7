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

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.slack import pct  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery import DeliveryPolicy, OutboxWorker  # noqa: E402
from bot.domain import commands as c  # noqa: E402
from bot.domain.decide import Actor  # noqa: E402
from bot.domain.model import Status  # noqa: E402
from bot.outbox_types import OutboxState  # noqa: E402
from bot.tickets.links import ServiceTicketLinks  # noqa: E402
from handlers.compose import build_runtime  # noqa: E402
from handlers.outside import build_services  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.fakes.jira_api import FakeJira  # noqa: E402
from tests.support.chat import RecordingPort  # noqa: E402

ALICE = Actor("U_ALICE", "alice")


async def scenario(name: str, incidents: int, mode: str, slow: float) -> None:
    import aiohttp

    jira = FakeJira(email="bot@example.com", token="t")
    await jira.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp}/bench.db",
            jira_url=jira.url,
            jira_email="bot@example.com",
            jira_api_token="t",
            jira_project="OPS",
            jira_min_severity="SEV1",
            jira_transitions={"identified": "11", "resolved": "21"},
            tickets_timeout_seconds=max(slow * 2, 1.0),
        )
        rt = build_runtime(settings)
        upgrade(rt.db.engine)
        if mode == "slow":
            jira.delay = slow
        elif mode == "down":
            await jira.stop()
        async with aiohttp.ClientSession() as session:
            worker = OutboxWorker(
                rt.db,
                {"slack": RecordingPort("slack")},
                rt.clock,
                DeliveryPolicy(room_interval=0),
                workspaces=[settings.workspace],
                services=build_services(settings, session, ServiceTicketLinks(rt.service)),
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run_forever(stop, 0.02))
            for _ in range(incidents):
                out = await rt.service.declare("default", c.Declare("Checkout down", "SEV1"), ALICE)
                n = out.incident.number
                await rt.service.execute("default", n, c.ChangeStatus(Status.IDENTIFIED), ALICE)
                await rt.service.execute(
                    "default", n, c.ChangeStatus(Status.RESOLVED, "fixed"), ALICE
                )
                worker.wake()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                rows = await rt.db.run(lambda repo: repo.list_outbox(limit=10_000))
                chat = [r for r in rows if r.platform == "slack"]
                tickets = [r for r in rows if r.platform == "jira"]
                chat_done = all(r.state is OutboxState.DELIVERED for r in chat)
                tickets_done = all(r.state is OutboxState.DELIVERED for r in tickets)
                if chat_done and (tickets_done or mode == "down"):
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await task

        def waits(rs: list) -> list[float]:  # type: ignore[type-arg]
            return [(r.delivered_at - r.created_at).total_seconds() for r in rs if r.delivered_at]

        chat_w, ticket_w = waits(chat), waits(tickets)
        shown = (
            f"{len(ticket_w)} calls p50 {pct(ticket_w, 0.5):.3f}s p95 {pct(ticket_w, 0.95):.3f}s"
            if ticket_w
            else f"0 delivered, {sum(1 for r in tickets if r.state is OutboxState.PENDING)} waiting"
        )
        print(
            f"{name:<24} chat {len(chat_w):>4} msgs p50 {pct(chat_w, 0.5):.3f}s"
            f" p95 {pct(chat_w, 0.95):.3f}s | jira {shown} | issues {len(jira.issues)}"
        )
        rt.db.close()
    await jira.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=30)
    parser.add_argument("--slow", type=float, default=1.0)
    args = parser.parse_args()
    await scenario("Jira healthy", args.incidents, "ok", args.slow)
    await scenario(f"Jira answers in {args.slow:g}s", args.incidents, "slow", args.slow)
    await scenario("Jira down", args.incidents, "down", args.slow)


if __name__ == "__main__":
    asyncio.run(main())
