"""Pages beside chat: do people's messages wait when PagerDuty is slow or down?

Builds the runtime over a temporary SQLite file with the outbox worker delivering chat to an
in-memory port and pages to the PagerDuty Events v2 stand-in (real HTTP on loopback). It
declares ``--incidents`` incidents and pages each, with PagerDuty healthy, answering after
``--slow`` seconds, and refusing connections; for each it prints the p50/p95 time from commit
to delivery of the chat messages (room, summary, broadcast …) and of the pages.

    python bench/paging.py [--incidents 40] [--slow 2.0]
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
from bot.outbox_types import OutboxState  # noqa: E402
from handlers.compose import build_runtime  # noqa: E402
from handlers.outside import build_services  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.fakes.pagerduty_events import FakePagerDutyEvents  # noqa: E402
from tests.support.chat import RecordingPort  # noqa: E402

KEY = "R0UTINGKEY0000000000000000000001"
ALICE = Actor("U_ALICE", "alice")


async def scenario(name: str, incidents: int, mode: str, slow: float) -> None:
    import aiohttp

    pd = FakePagerDutyEvents({KEY: "Payments"})
    await pd.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp}/bench.db",
            pagerduty_routing_keys={"payments": KEY},
            pagerduty_events_url=pd.url,
            paging_timeout_seconds=max(slow * 2, 1.0),
        )
        rt = build_runtime(settings)
        upgrade(rt.db.engine)
        if mode == "slow":
            pd.delay = slow
        elif mode == "down":
            await pd.stop()
        async with aiohttp.ClientSession() as session:
            worker = OutboxWorker(
                rt.db,
                {"slack": RecordingPort("slack")},
                rt.clock,
                DeliveryPolicy(room_interval=0),
                workspaces=[settings.workspace],
                services=build_services(settings, session),
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run_forever(stop, 0.02))
            for _ in range(incidents):
                out = await rt.service.declare("default", c.Declare("Checkout down", "SEV1"), ALICE)
                await rt.service.execute("default", out.incident.number, c.Page("payments"), ALICE)
                worker.wake()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                rows = await rt.db.run(lambda repo: repo.list_outbox(limit=10_000))
                chat = [r for r in rows if r.platform == "slack"]
                pages = [r for r in rows if r.platform == "pagerduty"]
                chat_done = all(r.state is OutboxState.DELIVERED for r in chat)
                pages_done = all(r.state is OutboxState.DELIVERED for r in pages)
                if chat_done and (pages_done or mode == "down"):
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await task

        def waits(rs: list) -> list[float]:  # type: ignore[type-arg]
            return [(r.delivered_at - r.created_at).total_seconds() for r in rs if r.delivered_at]

        chat_w, page_w = waits(chat), waits(pages)
        shown = (
            f"p50 {pct(page_w, 0.5):.3f}s p95 {pct(page_w, 0.95):.3f}s"
            if page_w
            else f"0 delivered, {sum(1 for r in pages if r.state is OutboxState.PENDING)} waiting"
        )
        print(
            f"{name:<28} chat {len(chat_w):>4} msgs p50 {pct(chat_w, 0.5):.3f}s"
            f" p95 {pct(chat_w, 0.95):.3f}s | pages {shown}"
        )
        rt.db.close()
    await pd.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=40)
    parser.add_argument("--slow", type=float, default=2.0)
    args = parser.parse_args()
    await scenario("PagerDuty healthy", args.incidents, "ok", args.slow)
    await scenario(f"PagerDuty answers in {args.slow:g}s", args.incidents, "slow", args.slow)
    await scenario("PagerDuty down", args.incidents, "down", args.slow)


if __name__ == "__main__":
    asyncio.run(main())
