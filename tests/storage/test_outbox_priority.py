"""An alert storm must not delay people: priority, coalescing and a bounded notice backlog."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.alerting.grouping import (
    OVERFLOW_KEY,
    GroupRef,
    GroupView,
    group_intents,
    group_message,
    message_key,
    overflow_intent,
)
from bot.alerting.store import NoticeBacklog
from bot.delivery import DeliveryPolicy, OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.outbox_types import OutboxIntent, OutboxRecord, OutboxState, Priority
from bot.ports import FixedClock, RoomRef, WellKnownRoom
from bot.repository import Repo
from bot.runtime import Runtime
from storage.db import Database
from tests.support.chat import RecordingPort, slack_worker

ALICE = Actor("U_ALICE", "alice")


def group(n: int) -> GroupRef:
    return GroupRef("w", "alertmanager", f'{{}}:{{alertname="Storm{n}"}}')


def notice(rt: Runtime[Database], n: int, firing: int = 1) -> list[OutboxIntent]:
    view = GroupView(firing=firing, resolved=0, sample=())
    return group_intents(rt.service.notify, group(n), group_message(group(n), view))


def upsert(
    rt: Runtime[Database], intents: list[OutboxIntent], backlog: NoticeBacklog | None = None
) -> None:
    now = rt.clock.now()
    rt.db.run_sync(lambda repo: repo.alerts.upsert_messages(intents, now, backlog=backlog))


def waiting(rt: Runtime[Database]) -> list[OutboxRecord]:
    states = [OutboxState.PENDING, OutboxState.CLAIMED]
    return rt.db.run_sync(lambda repo: repo.list_outbox(states=states, limit=10_000))


def claim(rt: Runtime[Database], limit: int, max_bulk: int | None = None) -> list[OutboxRecord]:
    now = rt.clock.now()
    lease = DeliveryPolicy().lease
    return rt.db.run_sync(
        lambda repo: repo.claim_outbox(
            ["slack"], now, limit=limit, lease=lease, workspaces=["w"], max_bulk=max_bulk
        )
    )


async def test_a_sev1_room_is_claimed_before_200_pending_group_notices(
    rt: Runtime[Database],
) -> None:
    for n in range(200):
        upsert(rt, notice(rt, n))
    await rt.service.declare("w", c.Declare("Checkout down", "SEV1"), ALICE)

    first = claim(rt, limit=1)

    assert [r.action for r in first][:1] == ["open_room"]
    assert all(r.ordering_key.startswith("inc:") for r in first)


async def test_within_one_ordering_key_rows_stay_first_in_first_out(rt: Runtime[Database]) -> None:
    await rt.service.declare("w", c.Declare("Checkout down", "SEV1"), ALICE)
    rt.db.run_sync(lambda repo: repo.enqueue(notice(rt, 1), rt.clock.now()))

    claimed = claim(rt, limit=50)

    incident = [r.id for r in claimed if r.ordering_key.startswith("inc:")]
    assert incident == sorted(incident)
    assert claimed[-1].priority == Priority.ALERT_NOTICE


def test_one_claim_takes_at_most_max_bulk_notice_lanes(rt: Runtime[Database]) -> None:
    for n in range(20):
        upsert(rt, notice(rt, n))

    claimed = claim(rt, limit=50, max_bulk=2)

    assert len(claimed) == 2
    assert len(claim(rt, limit=50, max_bulk=0)) == 0


def test_a_newer_notice_replaces_the_pending_version_of_its_group(rt: Runtime[Database]) -> None:
    for firing in (1, 2, 3, 4):
        upsert(rt, notice(rt, 7, firing=firing))

    rows = waiting(rt)

    assert len(rows) == 1
    assert rows[0].payload["message"]["data"]["firing"] == 4


async def test_a_group_is_posted_once_and_edited_in_place_as_it_changes(
    rt: Runtime[Database],
) -> None:
    port = RecordingPort()
    w = slack_worker(rt, port)
    upsert(rt, notice(rt, 1, firing=1))
    first = claim(rt, limit=10)  # in flight while the group changes three more times
    for firing in (2, 3, 4):
        upsert(rt, notice(rt, 1, firing=firing))
    assert len(waiting(rt)) == 2  # the claimed version and one coalesced newer version

    await w._run_lane(first)  # the first version posts the group's message
    while await w.run_once():
        pass

    posts = [p for p in port.of("post") if p["kind"] == "alert_group"]
    updates = [u for u in port.of("update") if u["kind"] == "alert_group"]
    assert len(posts) == 1
    assert len(updates) == 1
    assert "4 alerts firing" in updates[0]["text"]


def test_past_the_backlog_limit_new_groups_are_counted_in_one_summary(
    rt: Runtime[Database],
) -> None:
    backlog = NoticeBacklog(limit=100, overflow=overflow_intent)
    upsert(rt, [i for n in range(150) for i in notice(rt, n)], backlog)
    upsert(rt, [i for n in range(150, 160) for i in notice(rt, n)], backlog)
    # A group already waiting is still folded in, whatever the backlog.
    upsert(rt, notice(rt, 3, firing=9), backlog)

    rows = waiting(rt)
    notices = [r for r in rows if r.priority == Priority.ALERT_NOTICE]
    summaries = [r for r in rows if r.ordering_key == OVERFLOW_KEY]
    assert len(notices) == 100
    assert len(summaries) == 1
    assert summaries[0].priority == Priority.ALERT_SUMMARY
    assert summaries[0].payload["more"] == 60
    assert "60 more alert group updates held back" in summaries[0].payload["message"]["text"]
    third = next(r for r in notices if r.payload["key"] == message_key("alertmanager", group(3)[2]))
    assert third.payload["message"]["data"]["firing"] == 9


async def test_the_backlog_summary_is_one_message_edited_while_the_episode_lasts(
    rt: Runtime[Database],
) -> None:
    port = RecordingPort()
    w = slack_worker(rt, port)
    backlog = NoticeBacklog(limit=2, overflow=overflow_intent)
    upsert(rt, [i for n in range(5) for i in notice(rt, n)], backlog)
    # Three held back. The summary goes out (ahead of the notices) with one of them; one
    # notice still waits, so of four new groups one is queued and three held back.
    await w.run_once()
    upsert(rt, [i for n in range(5, 9) for i in notice(rt, n)], backlog)
    while await w.run_once():
        pass

    summary = [p for p in port.of("post") if p["kind"] == "notice"]
    edits = [u for u in port.of("update") if u["kind"] == "notice"]
    assert len(summary) == 1
    assert len(edits) == 1
    assert edits[0]["text"].startswith("6 more alert group updates")


async def eventually(check: Callable[[], bool], within: float = 20.0) -> None:
    """Poll until ``check()`` holds (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def slots(rt: Runtime[Database], takes: list[str], at: float = 100.0) -> list[float]:
    """Waits for sends tried at one moment, by a bulk ("b") or a person's ("p") message."""

    def take(kind: str, repo: Repo) -> float:
        if kind == "b":
            return repo.try_send_slot("slack", "C1", at, 1.0, 3)
        return repo.reserve_send_slot("slack", "C1", at, 1.0, 3)

    return [rt.db.run_sync(functools.partial(take, k)) for k in takes]


def test_bulk_notices_leave_a_spare_slot_for_people_in_a_shared_channel(
    rt: Runtime[Database],
) -> None:
    waits = slots(rt, ["b", "b", "b", "p"])

    assert waits[:2] == [0.0, 0.0]
    assert waits[2] > 0  # a third notice would take the last slot of the burst: it waits
    assert waits[3] == 0.0  # the person's message goes at once


def test_a_bulk_notice_never_books_a_slot_ahead_of_people(rt: Runtime[Database]) -> None:
    slots(rt, ["p", "p", "p"])  # the burst is spent

    assert slots(rt, ["b", "b"]) == pytest.approx([2.0, 2.0])  # nothing booked
    assert slots(rt, ["p"]) == pytest.approx([1.0])  # people queue only behind people


@dataclass
class SharedChannelPort(RecordingPort):
    """Alerts and the broadcast share one channel."""

    def well_known_room(self, workspace: str, name: WellKnownRoom) -> RoomRef | None:
        return RoomRef(self.platform, "C_BROADCAST", "incidents")


async def test_a_broadcast_overtakes_notices_waiting_for_a_shared_channel(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    for n in range(12):
        upsert(rt, notice(rt, n))
    port = SharedChannelPort()
    w = slack_worker(rt, port, room_interval=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(w.run_forever(stop, poll=0.02))
    await eventually(lambda: len(port.of("post")) >= 3)  # the storm is under way
    await rt.service.declare("w", c.Declare("Checkout down", "SEV1"), ALICE)
    w.wake()
    await eventually(lambda: any(p["kind"] == "broadcast" for p in port.of("post")))
    stop.set()
    await asyncio.wait_for(task, 10)

    shared = [p["kind"] for p in port.of("post") if p["room"] == "C_BROADCAST"]
    # Only notices already being sent when the incident was declared may go first.
    assert shared.index("broadcast") <= 3 + DeliveryPolicy().bulk_lanes


async def test_stopping_gives_rows_waiting_for_a_send_slot_back_untouched(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    for n in range(5):
        upsert(rt, notice(rt, n))
    port = RecordingPort()
    # One message a minute: the notices wait for their slot when the worker is told to stop.
    policy = DeliveryPolicy(room_interval=60.0, room_burst=2)
    w = OutboxWorker(rt.db, {"slack": port}, clock, policy, workspaces=["w"])
    stop = asyncio.Event()
    task = asyncio.create_task(w.run_forever(stop, poll=0.02))
    await eventually(lambda: len(port.of("post")) >= 1 and w._held_bulk == policy.bulk_lanes)
    stop.set()
    await asyncio.wait_for(task, 10)

    rows = waiting(rt)
    assert len(port.of("post")) == 1
    assert len(rows) == 4
    assert {r.state for r in rows} == {OutboxState.PENDING}
    assert {r.attempts for r in rows} == {0}


async def test_shutdown_drain_sends_what_people_wait_for_and_leaves_notices(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    for n in range(5):
        upsert(rt, notice(rt, n))
    await rt.service.declare("w", c.Declare("Checkout down", "SEV1"), ALICE)
    port = RecordingPort()
    w = slack_worker(rt, port)

    await w.drain(30.0)

    assert port.of("open_room")
    assert not [p for p in port.of("post") if p["kind"] == "alert_group"]
    assert len(waiting(rt)) == 5


async def test_a_notice_gone_stale_while_waiting_for_its_slot_is_dropped(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    port = RecordingPort()
    w = slack_worker(rt, port, room_interval=1.0, room_burst=1)
    upsert(rt, notice(rt, 1, firing=1))
    await w.run_once()  # posted; the channel's next slot is a second away
    upsert(rt, notice(rt, 1, firing=2))
    stop = asyncio.Event()
    task = asyncio.create_task(w.run_forever(stop, poll=0.02))
    await eventually(lambda: w._held_bulk == 1)  # version 2 waits for the slot
    upsert(rt, notice(rt, 1, firing=3))
    await eventually(lambda: not waiting(rt))
    stop.set()
    await asyncio.wait_for(task, 10)

    assert len(port.of("post")) == 1
    assert [u["text"].split(":")[0] for u in port.of("update")] == ["3 alerts firing"]
