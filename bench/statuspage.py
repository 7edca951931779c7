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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.outside_harness import beside_chat  # noqa: E402
from bot.domain import commands as c  # noqa: E402
from bot.domain.model import Status  # noqa: E402
from tests.fakes.statuspage_api import FakeStatuspage  # noqa: E402


async def scenario(name: str, incidents: int, down: bool) -> None:
    async with FakeStatuspage("k", "pg", ("c1",)) as page:
        run = await beside_chat(
            page,
            "statuspage",
            incidents=incidents,
            commands=[
                c.PublishUpdate("Investigating"),
                c.PublishUpdate("Fix rolling out"),
                c.ChangeStatus(Status.RESOLVED),
            ],
            down=down,
            statuspage_api_key="k",
            statuspage_page_id="pg",
            statuspage_api_url=page.url + "/v1",
            statuspage_components=["c1"],
        )
    print(
        f"{name:<20} {run.chat_line()} | statuspage {run.calls_line()}"
        f" | page incidents {len(page.incidents)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=30)
    args = parser.parse_args()
    await scenario("Statuspage healthy", args.incidents, down=False)
    await scenario("Statuspage down", args.incidents, down=True)


if __name__ == "__main__":
    asyncio.run(main())
