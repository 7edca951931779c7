"""The set-up the "outside service beside chat" benches share.

Each of ``bench/paging.py``, ``bench/tickets.py`` and ``bench/statuspage.py`` builds the runtime
over a temporary SQLite file, runs the outbox worker with chat going to an in-memory port and
one outside service going to its stand-in on loopback, declares SEV1 incidents, runs the same
commands on each, and waits for the deliveries. Only the stand-in, its settings and the
commands differ; they live in the benches, the rest here.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.slack import pct
from bot.config import Settings
from bot.delivery import DeliveryPolicy, OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.outbox_types import OutboxRecord, OutboxState
from bot.tickets.links import ServiceTicketLinks
from handlers.compose import build_runtime
from handlers.outside import build_services
from storage.migrate import upgrade
from tests.fakes.loopback import LoopbackService
from tests.support.chat import RecordingPort

ALICE = Actor("U_ALICE", "alice")


def waits(rows: Sequence[OutboxRecord]) -> list[float]:
    """Seconds from commit to delivery of each delivered row."""
    return [(r.delivered_at - r.created_at).total_seconds() for r in rows if r.delivered_at]


def spread(seconds: list[float]) -> str:
    """``p50 …s p95 …s`` of ``seconds`` (not empty)."""
    return f"p50 {pct(seconds, 0.5):.3f}s p95 {pct(seconds, 0.95):.3f}s"


@dataclass(frozen=True)
class Deliveries:
    """The outbox rows of one run when it stopped waiting: chat, and the outside service's."""

    chat: list[OutboxRecord]
    calls: list[OutboxRecord]

    def chat_line(self) -> str:
        """``chat N msgs p50 … p95 …``."""
        chat_w = waits(self.chat)
        return f"chat {len(chat_w):>4} msgs {spread(chat_w)}"

    def calls_line(self) -> str:
        """``N calls p50 … p95 …``, or how many wait when none was delivered."""
        call_w = waits(self.calls)
        if call_w:
            return f"{len(call_w)} calls {spread(call_w)}"
        waiting = sum(1 for r in self.calls if r.state is OutboxState.PENDING)
        return f"0 delivered, {waiting} waiting"


async def beside_chat(
    fake: LoopbackService,
    platform: str,
    *,
    incidents: int,
    commands: Sequence[c.Command],
    down: bool,
    deadline_seconds: float = 120,
    **settings: Any,
) -> Deliveries:
    """Declare ``incidents`` SEV1 incidents, run ``commands`` on each, and wait until chat and
    the ``platform`` calls are delivered (chat alone when ``down``: the service is stopped).

    ``fake`` is the started stand-in; ``settings`` point the bot at it.
    """
    if down:
        await fake.stop()
    with tempfile.TemporaryDirectory() as tmp:
        rt = build_runtime(
            Settings(_env_file=None, database_url=f"sqlite:///{tmp}/bench.db", **settings)
        )
        upgrade(rt.db.engine)
        try:
            async with aiohttp.ClientSession() as session:
                worker = OutboxWorker(
                    rt.db,
                    {"slack": RecordingPort("slack")},
                    rt.clock,
                    DeliveryPolicy(room_interval=0),
                    workspaces=[rt.settings.workspace],
                    services=build_services(rt.settings, session, ServiceTicketLinks(rt.service)),
                )
                stop = asyncio.Event()
                task = asyncio.create_task(worker.run_forever(stop, 0.02))
                for _ in range(incidents):
                    out = await rt.service.declare(
                        "default", c.Declare("Checkout down", "SEV1"), ALICE
                    )
                    for cmd in commands:
                        await rt.service.execute("default", out.incident.number, cmd, ALICE)
                    worker.wake()
                result = Deliveries([], [])
                deadline = time.monotonic() + deadline_seconds
                while time.monotonic() < deadline:
                    rows = await rt.db.run(lambda repo: repo.list_outbox(limit=10_000))
                    result = Deliveries(
                        [r for r in rows if r.platform == "slack"],
                        [r for r in rows if r.platform == platform],
                    )
                    chat_done = all(r.state is OutboxState.DELIVERED for r in result.chat)
                    calls_done = all(r.state is OutboxState.DELIVERED for r in result.calls)
                    if chat_done and (calls_done or down):
                        break
                    await asyncio.sleep(0.05)
                stop.set()
                await task
        finally:
            rt.db.close()
    return result


async def healthy_slow_down(
    service: str,
    scenario: Callable[[str, int, str, float], Awaitable[None]],
    *,
    incidents: int,
    slow: float,
) -> None:
    """Read ``--incidents`` and ``--slow`` and run ``scenario(name, incidents, mode, slow)`` with
    ``service`` healthy (mode "ok"), answering after ``slow`` seconds ("slow") and down."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=incidents)
    parser.add_argument("--slow", type=float, default=slow)
    args = parser.parse_args()
    for name, mode in (
        (f"{service} healthy", "ok"),
        (f"{service} answers in {args.slow:g}s", "slow"),
        (f"{service} down", "down"),
    ):
        await scenario(name, args.incidents, mode, args.slow)
