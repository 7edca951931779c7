"""Pages beside chat: do people's messages wait when PagerDuty is slow or down?

Builds the runtime over a temporary SQLite file with the outbox worker delivering chat to an
in-memory port and pages to the PagerDuty Events v2 stand-in (real HTTP on loopback). It
declares ``--incidents`` incidents and pages each, with PagerDuty healthy, answering after
``--slow`` seconds, and refusing connections; for each it prints the p50/p95 time from commit
to delivery of the chat messages (room, summary, broadcast …) and of the pages.

    python bench/paging.py [--incidents 40] [--slow 2.0]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.outside_harness import beside_chat, healthy_slow_down  # noqa: E402
from bot.domain import commands as c  # noqa: E402
from tests.fakes.pagerduty_events import FakePagerDutyEvents  # noqa: E402

KEY = "R0UTINGKEY0000000000000000000001"


async def scenario(name: str, incidents: int, mode: str, slow: float) -> None:
    async with FakePagerDutyEvents({KEY: "Payments"}) as pd:
        pd.delay = slow if mode == "slow" else 0.0
        run = await beside_chat(
            pd,
            "pagerduty",
            incidents=incidents,
            commands=[c.Page("payments")],
            down=mode == "down",
            deadline_seconds=60,
            pagerduty_routing_keys={"payments": KEY},
            pagerduty_events_url=pd.url,
            paging_timeout_seconds=max(slow * 2, 1.0),
        )
    print(f"{name:<28} {run.chat_line()} | pages {run.calls_line()}")


if __name__ == "__main__":
    asyncio.run(healthy_slow_down("PagerDuty", scenario, incidents=40, slow=2.0))
