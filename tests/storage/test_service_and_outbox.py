"""The service over a real database: one transaction per command, outbox rows with it,
replays that change nothing, and a delivery worker that retries and never loses a message."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.delivery import OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import InvalidTransition, NotFound
from bot.domain.model import EventKind, Role, Status
from bot.outbox_types import OutboxState
from bot.ports import DeliveryError, FixedClock
from bot.repository import Repo
from bot.runtime import Runtime
from storage.migrate import current_revision, head_revision, upgrade
from tests.support.chat import RecordingPort, drain, slack_worker

ALICE = Actor("U_ALICE", "alice")


def test_migrations_run_from_empty_to_head(settings: Settings) -> None:
    from storage.db import create_db_engine

    engine = create_db_engine(settings.database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    upgrade(engine)  # a second run is a no-op
    engine.dispose()


async def test_numbers_are_per_workspace(rt: Runtime) -> None:
    a1 = await rt.service.declare("acme", c.Declare("one"), ALICE)
    a2 = await rt.service.declare("acme", c.Declare("two"), ALICE)
    b1 = await rt.service.declare("globex", c.Declare("other"), ALICE)
    assert (a1.incident.ref, a2.incident.ref, b1.incident.ref) == ("INC-1", "INC-2", "INC-1")
    with pytest.raises(NotFound):
        await rt.service.get("globex", 2)
    assert [i.title for i in await rt.service.list("globex")] == ["other"]


async def test_concurrent_declares_all_succeed_with_distinct_numbers(rt: Runtime) -> None:
    """Racing declares (several database threads on Postgres) retry a lost INC number."""
    outcomes = await asyncio.gather(
        *(rt.service.declare("acme", c.Declare(f"race {i}"), ALICE) for i in range(40))
    )
    assert sorted(o.incident.number for o in outcomes) == list(range(1, 41))


async def test_concurrent_commands_on_one_incident_all_apply(rt: Runtime) -> None:
    """Racing edits of one incident retry a stale read instead of failing."""
    await rt.service.declare("acme", c.Declare("busy"), ALICE)
    await asyncio.gather(
        *(rt.service.execute("acme", 1, c.AddNote(f"note {i}"), ALICE) for i in range(30))
    )
    detail = await rt.service.detail("acme", 1)
    notes = [e for e in detail.timeline if e.kind is EventKind.NOTE]
    assert len(notes) == 30


async def test_commands_in_one_transaction_each_see_the_last_saved_state(rt: Runtime) -> None:
    """Each command in one transaction builds on the state the previous one saved."""
    await rt.service.declare("w", c.Declare("disk full", "SEV3"), ALICE)
    now = rt.clock.now()

    def three_commands(repo: Repo) -> tuple[int, str, str]:
        inc = repo.get_incident("w", 1)
        assert inc is not None
        inc = rt.service.execute_in(repo, inc, c.ChangeSeverity("SEV2"), ALICE, now).incident
        inc = rt.service.execute_in(
            repo, inc, c.ChangeStatus(Status.IDENTIFIED), ALICE, now
        ).incident
        assert inc.id is not None
        again = repo.get_incident_by_id(inc.id)
        assert again is not None
        return again.version, again.severity, again.status.value

    version, severity, status = await rt.db.run(three_commands)
    assert (severity, status) == ("SEV2", "identified")
    after = await rt.service.detail("w", 1)
    assert after.incident.version == version
    assert (after.incident.severity, after.incident.status) == ("SEV2", Status.IDENTIFIED)


async def test_command_commits_state_timeline_and_outbox_together(rt: Runtime) -> None:
    out = await rt.service.declare("w", c.Declare("API down", "SEV1"), ALICE)
    assert out.incident.id is not None
    rows = await rt.db.run(lambda r: r.list_outbox())
    actions = [r.action for r in reversed(rows)]
    assert actions[:5] == ["open_room", "invite", "set_topic", "upsert", "pin"]
    assert "upsert" in actions[5:]  # the broadcast message
    assert all(r.state is OutboxState.PENDING for r in rows)
    detail = await rt.service.detail("w", 1)
    assert [e.kind for e in detail.timeline] == [EventKind.DECLARED, EventKind.ROLE_ASSIGNED]


async def test_refused_command_writes_nothing(rt: Runtime) -> None:
    await rt.service.declare("w", c.Declare("x"), ALICE)
    before = len(await rt.db.run(lambda r: r.list_outbox(limit=1000)))
    with pytest.raises(InvalidTransition):
        await rt.service.execute("w", 1, c.ChangeStatus(Status.CLOSED), ALICE)
    after = len(await rt.db.run(lambda r: r.list_outbox(limit=1000)))
    assert before == after
    detail = await rt.service.detail("w", 1)
    assert detail.incident.status is Status.INVESTIGATING
    assert len(detail.timeline) == 2


async def test_replayed_delivery_changes_nothing(rt: Runtime) -> None:
    await rt.service.declare("w", c.Declare("x"), ALICE)
    first = await rt.service.execute("w", 1, c.AddNote("hello"), ALICE, dedup_key="slack:abc")
    again = await rt.service.execute("w", 1, c.AddNote("hello"), ALICE, dedup_key="slack:abc")
    assert first.changed and not again.changed and again.replayed
    notes = [e for e in (await rt.service.detail("w", 1)).timeline if e.kind is EventKind.NOTE]
    assert len(notes) == 1


async def test_replayed_declare_returns_the_same_incident(rt: Runtime) -> None:
    one = await rt.service.declare("w", c.Declare("x"), ALICE, dedup_key="k1")
    two = await rt.service.declare("w", c.Declare("x"), ALICE, dedup_key="k1")
    assert two.replayed and two.incident.id == one.incident.id
    assert len(await rt.service.list("w")) == 1


async def test_action_items_and_status_updates_are_recorded(rt: Runtime) -> None:
    await rt.service.declare("w", c.Declare("x"), ALICE)
    out = await rt.service.execute(
        "w", 1, c.AddActionItem("Add alert on queue depth", "U_BOB"), ALICE
    )
    assert out.action_item is not None and out.action_item.owner == "U_BOB"
    done = await rt.service.execute("w", 1, c.SetActionItemDone(out.action_item.id), ALICE)
    assert done.action_item is not None and done.action_item.done
    again = await rt.service.execute("w", 1, c.SetActionItemDone(out.action_item.id), ALICE)
    assert not again.changed
    with pytest.raises(NotFound):
        await rt.service.execute("w", 1, c.SetActionItemDone(999), ALICE)
    await rt.service.execute("w", 1, c.PostUpdate("We rolled back"), ALICE)
    detail = await rt.service.detail("w", 1)
    assert [u.text for u in detail.updates] == ["We rolled back"]


async def test_captured_messages_follow_edits_and_deletes(rt: Runtime) -> None:
    await rt.service.declare("w", c.Declare("x"), ALICE)
    cap = c.CaptureMessage("C1/171.1", "U_BOB", "db primary failed over", "https://x/p1")
    assert (await rt.service.execute("w", 1, cap, ALICE)).changed
    assert not (await rt.service.execute("w", 1, cap, ALICE)).changed  # second pin
    await rt.service.execute(
        "w", 1, c.EditCapturedMessage("C1/171.1", "primary failed over"), ALICE
    )
    await rt.service.execute("w", 1, c.DeleteCapturedMessage("C1/171.1"), ALICE)
    entries = [
        e
        for e in (await rt.service.detail("w", 1)).timeline
        if e.kind is EventKind.MESSAGE_CAPTURED
    ]
    assert len(entries) == 1
    assert entries[0].text == "primary failed over"
    assert entries[0].data["original_text"] == "db primary failed over"
    assert entries[0].data["deleted"] is True


async def test_outbox_waits_when_no_platform_is_configured(rt: Runtime) -> None:
    await rt.service.declare("w", c.Declare("x"), ALICE)
    idle = OutboxWorker(rt.db, {}, rt.clock, workspaces=["w"])
    assert await idle.run_once() == 0
    rows = await rt.db.run(lambda r: r.list_outbox())
    assert rows and all(r.state is OutboxState.PENDING and r.attempts == 0 for r in rows)


async def test_worker_opens_room_then_posts_pins_and_broadcasts(rt: Runtime) -> None:
    port = RecordingPort()
    await rt.service.declare("w", c.Declare("Checkout errors", "SEV2"), ALICE)
    await drain(slack_worker(rt, port))
    assert port.methods()[:5] == ["open_room", "invite", "set_topic", "post", "pin"]
    room = port.of("open_room")[0]["id"]
    # The room is asked for with its first members (a Teams group chat needs them up front).
    assert port.of("open_room")[0]["spec"].members == ("U_ALICE",)
    summary_post = port.of("post")[0]
    assert summary_post["room"] == room and summary_post["kind"] == "incident_summary"
    broadcast = [p for p in port.of("post") if p["room"] == "C_BROADCAST"]
    assert len(broadcast) == 1 and broadcast[0]["kind"] == "broadcast"

    await rt.service.execute("w", 1, c.PostUpdate("Rolled back"), ALICE)
    await rt.service.execute("w", 1, c.AssignRole(Role.COMMS_LEAD, "U_BOB"), ALICE)
    await drain(slack_worker(rt, port))
    # Summary and broadcast are edited in place; the update goes in the broadcast thread.
    assert len([p for p in port.of("post") if p["kind"] == "incident_summary"]) == 1
    assert {u["kind"] for u in port.of("update")} == {"incident_summary", "broadcast"}
    thread_posts = [p for p in port.of("post") if p["thread"] is not None]
    assert len(thread_posts) == 1 and thread_posts[0]["kind"] == "status_update"
    assert {"room": room, "users": ["U_BOB"]} in port.of("invite")
    rows = await rt.db.run(lambda r: r.list_outbox(limit=1000))
    assert {r.state for r in rows} <= {OutboxState.DELIVERED, OutboxState.SUPERSEDED}


async def test_private_incidents_are_never_broadcast(rt: Runtime) -> None:
    port = RecordingPort()
    await rt.service.declare("w", c.Declare("Security thing", "SEV1", private=True), ALICE)
    await rt.service.execute("w", 1, c.PostUpdate("contained"), ALICE)
    await drain(slack_worker(rt, port))
    assert port.of("open_room")[0]["spec"].private is True
    assert all(p["room"] != "C_BROADCAST" for p in port.of("post"))
    assert all(u["room"] != "C_BROADCAST" for u in port.of("update"))


async def test_transient_failures_are_retried_with_backoff(rt: Runtime, clock: FixedClock) -> None:
    port = RecordingPort(failures=[DeliveryError("ratelimited", retry_after=30)])
    await rt.service.declare("w", c.Declare("x"), ALICE)
    w = slack_worker(rt, port)
    await w.run_once()
    assert port.methods() == []
    rows = await rt.db.run(lambda r: r.list_outbox(limit=1000))
    first = min(rows, key=lambda r: r.id)
    assert first.state is OutboxState.PENDING and first.last_error == "ratelimited"
    assert first.next_attempt_at >= clock.now() + timedelta(seconds=30)
    await w.run_once()
    assert port.methods() == []  # Retry-After not yet passed
    clock.advance(seconds=31)
    await drain(w)
    assert port.methods()[0] == "open_room"
    assert len(port.of("open_room")) == 1


async def test_backoff_doubles_up_to_the_cap(rt: Runtime, clock: FixedClock) -> None:
    port = RecordingPort(failures=[DeliveryError("boom") for _ in range(9)])
    await rt.service.declare("w", c.Declare("x"), ALICE)
    w = slack_worker(rt, port, backoff_base=1.0, backoff_cap=60.0, max_attempts=20)
    waits: list[float] = []
    for _ in range(9):
        await w.run_once()
        rows = await rt.db.run(lambda r: r.list_outbox(limit=1000))
        head = min(rows, key=lambda r: r.id)
        wait = (head.next_attempt_at - clock.now()).total_seconds()
        waits.append(wait)
        clock.advance(seconds=wait + 0.001)
    # 1, 2, 4, ... seconds (each within the ±20% jitter), never more than the cap.
    for attempt, wait in enumerate(waits, start=1):
        expected = min(60.0, 2.0 ** (attempt - 1))
        assert expected * 0.8 - 0.01 <= wait <= min(expected * 1.2, 60.0) + 0.01, waits
    assert max(waits) <= 60.0 + 0.01 and waits[-1] >= 48.0
    await drain(w)
    assert port.methods()[0] == "open_room"


async def test_messages_behind_a_failing_one_keep_their_attempts(
    rt: Runtime, clock: FixedClock
) -> None:
    """Only the message that failed spends attempts; the ones queued behind it wait."""
    port = RecordingPort(failures=[DeliveryError("ratelimited", retry_after=1) for _ in range(5)])
    await rt.service.declare("w", c.Declare("x"), ALICE)
    w = slack_worker(rt, port, max_attempts=6)
    for _ in range(30):
        await w.run_once()
        clock.advance(seconds=2)
    rows = await rt.db.run(lambda r: r.list_outbox(limit=1000))
    assert {r.state for r in rows} <= {OutboxState.DELIVERED, OutboxState.SUPERSEDED}
    head = min(rows, key=lambda r: r.id)
    assert head.attempts == 6
    assert {r.attempts for r in rows if r.id != head.id} == {1}


async def test_permanent_failure_parks_and_retry_requeues(rt: Runtime, clock: FixedClock) -> None:
    port = RecordingPort(failures=[DeliveryError("invalid_auth", permanent=True)])
    await rt.service.declare("w", c.Declare("x"), ALICE)
    w = slack_worker(rt, port)
    await w.run_once()
    parked = await rt.db.run(lambda r: r.list_outbox(states=[OutboxState.PARKED]))
    assert [p.action for p in parked] == ["open_room"]
    assert await rt.db.run(lambda r: r.outbox_depth())
    assert await rt.db.run(lambda r: r.retry_parked(clock.now())) == 1
    await drain(w)
    assert port.methods()[0] == "open_room"


async def test_too_many_failures_park_the_message(rt: Runtime, clock: FixedClock) -> None:
    port = RecordingPort(failures=[DeliveryError("boom")] * 3)
    await rt.service.declare("w", c.Declare("x"), ALICE)
    w = slack_worker(rt, port, max_attempts=3)
    for _ in range(3):
        await w.run_once()
        clock.advance(minutes=10)
    parked = await rt.db.run(lambda r: r.list_outbox(states=[OutboxState.PARKED]))
    assert len(parked) == 1 and parked[0].attempts == 3


async def test_a_crashed_workers_lease_lapses_and_the_row_is_delivered(
    rt: Runtime, clock: FixedClock
) -> None:
    await rt.service.declare("w", c.Declare("x"), ALICE)
    now = clock.now()
    claimed = await rt.db.run(
        lambda r: r.claim_outbox(
            ["slack"], now, limit=100, lease=timedelta(seconds=60), workspaces=["w"]
        )
    )
    assert claimed  # ...and then the worker died.
    port = RecordingPort()
    w = slack_worker(rt, port)
    assert await w.run_once() == 0
    clock.advance(seconds=61)
    await drain(w)
    assert len(port.of("open_room")) == 1


async def test_storm_of_edits_to_one_message_is_coalesced(rt: Runtime) -> None:
    port = RecordingPort()
    await rt.service.declare("w", c.Declare("x", "SEV3"), ALICE)
    await drain(slack_worker(rt, port))
    for i in range(30):
        await rt.service.execute("w", 1, c.EditField("summary", f"v{i}"), ALICE)
    await drain(slack_worker(rt, port))
    summary_updates = [u for u in port.of("update") if u["kind"] == "incident_summary"]
    assert len(summary_updates) == 1
