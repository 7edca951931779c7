"""A delivery slower than its lease: the row's claim lapses while the platform call is still
under way, and the worker claims it again. The running lane finishes it; the message is sent
once, not twice (seen as a doubled incident summary under a loaded test machine)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.delivery import DELIVERY_KEY
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.outbox_types import OutboxState
from bot.ports import ChatMessage, FixedClock, MessageRef, RoomRef
from bot.runtime import Runtime
from tests.scheduling.conftest import outbox
from tests.support.chat import RecordingPort, slack_worker

ALICE = Actor("U_ALICE", "alice")
LEASE = timedelta(seconds=120)


class SlowPort(RecordingPort):
    """Holds every post until ``go`` is set, noting which outbox row each attempt sends."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()
        self.entered = asyncio.Event()
        self.tries: list[str | None] = []

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        self.tries.append(DELIVERY_KEY.get())
        self.entered.set()
        await self.go.wait()
        return await super().post_message(room, message, thread)


async def test_a_row_whose_lease_lapses_mid_call_is_not_sent_a_second_time(
    rt: Runtime, clock: FixedClock
) -> None:
    port = SlowPort()
    worker = slack_worker(rt, port, lease=LEASE)
    await rt.service.declare("w", c.Declare("API down", "SEV2"), ALICE)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop, poll=0.01))
    await asyncio.wait_for(port.entered.wait(), 10)
    # The summary's post hangs past its lease; the worker claims what lapsed, many times.
    for _ in range(5):
        clock.advance(seconds=LEASE.total_seconds() + 1)
        worker.wake()
        await asyncio.sleep(0.05)
    port.go.set()
    for _ in range(200):
        if all(r.state is not OutboxState.PENDING for r in await outbox(rt)) and not any(
            r.state is OutboxState.CLAIMED for r in await outbox(rt)
        ):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(running, 10)

    assert port.tries and len(port.tries) == len(set(port.tries))
    summaries = [p for p in port.of("post") if p["kind"] == "incident_summary"]
    assert len(summaries) == 1
    assert len(port.of("pin")) == 1
    assert {r.state for r in await outbox(rt)} <= {OutboxState.DELIVERED, OutboxState.SUPERSEDED}
