"""Scheduled messages through the outbox under faults (in-memory port; the real-HTTP version
against the fake Slack is in test_fake_slack.py): every message arrives, none twice, and one
that keeps failing is parked where people can see it."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.delivery import DELIVERY_KEY, DeliveryPolicy, OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.outbox_types import OutboxState
from bot.ports import ChatMessage, DeliveryError, FixedClock, MessageRef, RoomRef
from bot.runtime import Runtime
from bot.scheduling.engine import Scheduler
from tests.conftest import T0
from tests.scheduling.conftest import outbox, scheduled
from tests.support.chat import Call, RecordingPort, slack_worker

ALICE = Actor("U_ALICE", "alice")


class FlakyPort(RecordingPort):
    """Fails a share of posts (500, 429 with Retry-After, timeouts) before doing anything."""

    def __init__(self, rate: float, seed: int = 7) -> None:
        super().__init__()
        self.rate = rate
        self.rng = random.Random(seed)
        self.attempts = 0

    def _chaos(self) -> None:
        self.attempts += 1
        if self.rng.random() < self.rate:
            kind = self.rng.choice(["500", "429", "timeout"])
            if kind == "429":
                raise DeliveryError("ratelimited", retry_after=3)
            raise DeliveryError("internal_error" if kind == "500" else "timed out")

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        self._chaos()
        return await super().post_message(room, message, thread)

    async def update_message(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        self._chaos()
        return await super().update_message(ref, message)


async def deliver_all(w: OutboxWorker, clock: FixedClock, rounds: int = 400) -> None:
    """Run the worker, moving the fixed clock past backoffs, until nothing is left to do."""
    idle = 0
    for _ in range(rounds):
        handled = await w.run_once()
        if handled:
            idle = 0
            continue
        idle += 1
        if idle > 3:
            return
        clock.advance(seconds=30)  # past Retry-After and early backoff steps


async def test_reminders_arrive_exactly_once_when_30_percent_of_calls_fail(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    port = FlakyPort(rate=0.3)
    w = slack_worker(rt, port, max_attempts=50, backoff_cap=20)
    for i in range(30):
        await rt.service.declare("w", c.Declare(f"incident {i}", "SEV2"), ALICE)
    await deliver_all(w, clock)
    clock.set(T0 + timedelta(minutes=30))
    await sched.tick(clock.now())
    await deliver_all(w, clock)
    clock.set(T0 + timedelta(minutes=200))
    await sched.tick(clock.now())
    await deliver_all(w, clock)
    posts = [p for p in port.of("post") if p["kind"] in ("reminder", "notice")]
    rooms = {r["id"]: r["spec"].incident_number for r in port.of("open_room")}
    reminders = sorted(rooms[p["room"]] for p in posts if p["kind"] == "reminder")
    assert reminders == sorted(list(range(1, 31)) * 2)  # one reminder + one escalation each
    assert sum(p["kind"] == "notice" for p in posts) == 30
    assert port.attempts > len(port.of("post")) + len(port.of("update"))  # faults happened
    rows = await outbox(rt)
    assert {r.state for r in rows} <= {OutboxState.DELIVERED, OutboxState.SUPERSEDED}


async def test_a_reminder_that_keeps_failing_is_parked_and_visible(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    port = RecordingPort()
    w = slack_worker(rt, port, max_attempts=3)
    await rt.service.declare("w", c.Declare("API down", "SEV2"), ALICE)
    await deliver_all(w, clock)
    clock.set(T0 + timedelta(minutes=30))
    await sched.tick(clock.now())
    port.failures = [DeliveryError("internal_error")] * 10
    await deliver_all(w, clock)
    parked = await rt.db.run(lambda r: r.list_outbox(states=[OutboxState.PARKED]))
    assert [p.payload["message"]["kind"] for p in parked] == ["reminder"]
    assert parked[0].last_error == "internal_error"
    depth = await rt.db.run(lambda r: r.outbox_depth())
    assert ("slack", "parked", 1) in depth  # what the sitrep_outbox_messages gauge reports
    # Retrying it delivers it once.
    port.failures = []
    await rt.db.run(lambda r: r.retry_parked(clock.now()))
    await deliver_all(w, clock)
    assert [p["kind"] for p in port.of("post")].count("reminder") == 1


async def test_summary_edit_before_first_delivery_still_creates_and_pins_it(
    rt: Runtime, clock: FixedClock
) -> None:
    """Chat was down through declare and resolve; both summary upserts are queued."""
    port = RecordingPort()
    w = slack_worker(rt, port, max_attempts=3)
    await rt.service.declare("w", c.Declare("API down", "SEV2"), ALICE)
    await rt.service.execute("w", 1, c.ChangeStatus(Status.RESOLVED, "rolled back"), ALICE)
    await deliver_all(w, clock)
    assert port.of("pin"), "the summary was never posted, so it could not be pinned"
    rows = await outbox(rt)
    assert not [r for r in rows if r.state is OutboxState.PARKED]


class Crash(BaseException):
    """The process dies (kill -9) right after the platform accepted a call."""


class CrashingPort(RecordingPort):
    """Dies once after posting a given kind; can say what it already posted, by outbox key,
    as a platform with message metadata can (Slack's ``metadata`` + conversations.history)."""

    def __init__(self, crash_after: str) -> None:
        super().__init__()
        self.crash_after: str | None = crash_after
        self.by_key: dict[str, MessageRef] = {}

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        ref = await super().post_message(room, message, thread)
        key = DELIVERY_KEY.get()
        if key is not None:
            self.by_key[key] = ref
        if message.kind == self.crash_after:
            self.crash_after = None
            raise Crash
        return ref

    async def find_posted(
        self, room: RoomRef, key: str, thread: MessageRef | None = None
    ) -> MessageRef | None:
        self.calls.append(Call("find_posted", {"room": room.id, "key": key}))
        return self.by_key.get(key)


async def test_a_crash_between_posting_and_recording_it_does_not_post_twice(
    rt: Runtime, sched: Scheduler, clock: FixedClock
) -> None:
    port = CrashingPort(crash_after="reminder")
    policy = DeliveryPolicy(room_interval=0)
    await rt.service.declare("w", c.Declare("API down", "SEV2"), ALICE)
    await deliver_all(OutboxWorker(rt.db, {"slack": port}, clock, policy, workspaces=["w"]), clock)
    clock.set(T0 + timedelta(minutes=30))
    await sched.tick(clock.now())
    with pytest.raises(Crash):
        await OutboxWorker(rt.db, {"slack": port}, clock, policy, workspaces=["w"]).run_once()
    # Restart: a new worker finds the row still claimed, waits out the lease, and retries it.
    clock.advance(seconds=policy.lease.total_seconds() + 1)
    await deliver_all(OutboxWorker(rt.db, {"slack": port}, clock, policy, workspaces=["w"]), clock)
    assert [p["kind"] for p in port.of("post")].count("reminder") == 1
    assert len(port.of("find_posted")) == 1  # only the uncertain retry asks
    [row] = await scheduled(rt, "reminder")
    assert row.state is OutboxState.DELIVERED
