"""Chat pacing per channel is shared through the database, so replicas keep it together."""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from dataclasses import dataclass, field

import pytest

from bot.delivery import DeliveryPolicy, OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.ports import ChatMessage, FixedClock, MessageRef, RoomRef
from bot.repository import Repo
from bot.runtime import Runtime
from storage.db import Database
from tests.support.chat import RecordingPort

ALICE = Actor("U_ALICE", "alice")


def slots(
    rt: Runtime[Database], room: str, times: list[float], *, interval: float = 1.0
) -> list[float]:
    """The waits handed out for sends attempted at ``times``."""

    def take(at: float, repo: Repo) -> float:
        return repo.reserve_send_slot("slack", room, at, interval, 3)

    return [rt.db.run_sync(functools.partial(take, t)) for t in times]


def test_a_quiet_channel_takes_a_burst_then_one_message_per_interval(rt: Runtime[Database]) -> None:
    waits = slots(rt, "C1", [100.0] * 6)
    assert waits == pytest.approx([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])


def test_channels_are_paced_apart_and_recover_when_quiet(rt: Runtime[Database]) -> None:
    assert slots(rt, "C1", [100.0] * 4) == pytest.approx([0.0, 0.0, 0.0, 1.0])
    assert slots(rt, "C2", [100.0]) == pytest.approx([0.0])  # another channel, its own pace
    # After a quiet spell the burst is back.
    assert slots(rt, "C1", [200.0] * 3) == pytest.approx([0.0, 0.0, 0.0])


@dataclass
class TimedPort(RecordingPort):
    """Records when each message reached the 'platform'."""

    sent_at: list[float] = field(default_factory=list)

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        self.sent_at.append(time.monotonic())
        return await super().post_message(room, message, thread)


async def test_two_replicas_share_one_pace_for_a_channel(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    """Two workers (as two replicas would) post into one broadcast channel."""
    interval = 0.2
    for n in range(8):
        await rt.service.declare("w", c.Declare(f"incident {n}"), ALICE)
    port = TimedPort()
    # Small claims, so both workers hold some of the incidents and post at the same time.
    policy = DeliveryPolicy(room_interval=interval, room_burst=1, batch=2)
    workers = [
        OutboxWorker(rt.db, {"slack": port}, clock, policy, workspaces=["w"]) for _ in range(2)
    ]
    for _ in range(30):
        handled = await asyncio.gather(*(w.run_once() for w in workers))
        if not any(handled):
            break
    broadcasts = [
        t
        for t, call in zip(port.sent_at, port.of("post"), strict=True)
        if call["room"] == "C_BROADCAST"
    ]
    assert len(broadcasts) == 8
    gaps = [b - a for a, b in itertools.pairwise(broadcasts)]
    # One slot per interval across both workers: never two at once, and the whole run takes
    # its seven intervals. (Each post may land a little after its slot on a busy machine, so
    # a single gap can come in under an interval; two workers pacing alone post together.)
    assert min(gaps) >= interval * 0.5, gaps
    assert broadcasts[-1] - broadcasts[0] >= 7 * interval * 0.95, gaps
