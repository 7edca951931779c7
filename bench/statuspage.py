"""Status page beside chat: how long a confirmed public update takes to reach Statuspage
(create, then updates in order, then the resolve), and whether people's messages wait when
Statuspage is down.

Builds the runtime over a temporary SQLite file with the outbox worker delivering chat to an
in-memory port and Statuspage calls to the stand-in (real HTTP on loopback). For each of
``--incidents`` SEV1 incidents it confirms two public updates and resolves; prints p50/p95
from commit to delivery of chat messages and of Statuspage calls, healthy and down.

    python bench/statuspage.py [--incidents 30]
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
from tests.fakes.statuspage_api import FakeStatuspage  # noqa: E402
from tests.support.chat import RecordingPort  # noqa: E402

ALICE = Actor("U_ALICE", "alice")


async def scenario(name: str, incidents: int, down: bool) -> None:
    import aiohttp

    page = FakeStatuspage("k", "pg", ("c1",))
    await page.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp}/bench.db",
            statuspage_api_key="k",
            statuspage_page_id="pg",
            statuspage_api_url=page.url + "/v1",
            statuspage_components=["c1"],
        )
        rt = build_runtime(settings)
        upgrade(rt.db.engine)
        if down:
            await page.stop()
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
                await rt.service.execute("default", n, c.PublishUpdate("Investigating"), ALICE)
                await rt.service.execute("default", n, c.PublishUpdate("Fix rolling out"), ALICE)
                await rt.service.execute("default", n, c.ChangeStatus(Status.RESOLVED), ALICE)
                worker.wake()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                rows = await rt.db.run(lambda repo: repo.list_outbox(limit=10_000))
                chat = [r for r in rows if r.platform == "slack"]
                calls = [r for r in rows if r.platform == "statuspage"]
                chat_done = all(r.state is OutboxState.DELIVERED for r in chat)
                calls_done = all(r.state is OutboxState.DELIVERED for r in calls)
                if chat_done and (calls_done or down):
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await task

        def waits(rs: list) -> list[float]:  # type: ignore[type-arg]
            return [(r.delivered_at - r.created_at).total_seconds() for r in rs if r.delivered_at]

        chat_w, call_w = waits(chat), waits(calls)
        shown = (
            f"{len(call_w)} calls p50 {pct(call_w, 0.5):.3f}s p95 {pct(call_w, 0.95):.3f}s"
            if call_w
            else f"0 delivered, {sum(1 for r in calls if r.state is OutboxState.PENDING)} waiting"
        )
        print(
            f"{name:<20} chat {len(chat_w):>4} msgs p50 {pct(chat_w, 0.5):.3f}s"
            f" p95 {pct(chat_w, 0.95):.3f}s | statuspage {shown}"
            f" | page incidents {len(page.incidents)}"
        )
        rt.db.close()
    await page.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=30)
    args = parser.parse_args()
    await scenario("Statuspage healthy", args.incidents, down=False)
    await scenario("Statuspage down", args.incidents, down=True)


if __name__ == "__main__":
    asyncio.run(main())
