"""Every read of due work and every outbox claim sees only the workspaces asked for.

Two workspaces, "a" and "b", share one database here, as two sitrep instances would. Each
claim or listing a process runs on its own (outbox, reminders, postmortems, digests,
action items, cron jobs, leftover alert summaries, folded alert-message edits) is asked for
"a" and must return "a"'s rows only, leaving "b"'s untouched for "b"'s process.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.alerting.store import AlertWrite
from bot.delivery import DeliveryPolicy, OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Incident, Status
from bot.outbox_types import Action, OutboxIntent, OutboxRecord, OutboxState
from bot.ports import ChatMessage
from bot.repository import Repo
from bot.runtime import Runtime
from bot.scheduling.reminders import escalate_after
from bot.scheduling.store import JobKind, NewJob
from tests.conftest import T0
from tests.support.chat import RecordingPort

ALICE = Actor("U_ALICE", "alice")
LEASE = timedelta(seconds=60)
MESSAGE = ChatMessage("digest", "1 open incident").to_json()


def intent(ws: str, key: str, n: int, action: Action = Action.POST) -> OutboxIntent:
    return OutboxIntent(
        workspace=ws,
        platform="slack",
        ordering_key=key,
        action=action.value,
        payload={"room": "@alerts", "key": key, "message": {"n": n}},
        idempotency_key=f"{ws}:{key}:{n}",
    )


async def enqueue(rt: Runtime, *rows: OutboxIntent) -> None:
    await rt.db.run(lambda r: r.enqueue(rows, T0))


async def outbox_of(rt: Runtime, ws: str) -> list[OutboxRecord]:
    return await rt.db.run(lambda r: r.list_outbox(workspace=ws))


async def park(rt: Runtime, message_id: int) -> None:
    await rt.db.run(
        lambda r: r.finish_outbox(message_id, state=OutboxState.PARKED, now=T0, error="x")
    )


async def declare_in_both(rt: Runtime, severity: str = "SEV2") -> None:
    for ws in ("a", "b"):
        await rt.service.declare(ws, c.Declare(f"{ws} down", severity), ALICE)


async def test_claim_outbox_takes_only_the_served_workspaces_rows(rt: Runtime) -> None:
    # The same ordering key in both workspaces ("reply:<user>" repeats across workspaces):
    # b's older row must neither be claimed by a nor hold a's lane back.
    rows = [intent("b", "reply:U1", 1), intent("a", "reply:U1", 2), intent("a", "reply:U1", 3)]
    await rt.db.run(lambda r: r.enqueue(rows, T0))
    claimed = await rt.db.run(
        lambda r: r.claim_outbox(["slack"], T0, limit=10, lease=LEASE, workspaces=["a"])
    )
    assert [(m.workspace, m.idempotency_key) for m in claimed] == [
        ("a", "a:reply:U1:2"),
        ("a", "a:reply:U1:3"),
    ]
    left = await rt.db.run(lambda r: r.list_outbox(states=[OutboxState.PENDING]))
    assert [m.idempotency_key for m in left] == ["b:reply:U1:1"]
    assert (
        await rt.db.run(
            lambda r: r.claim_outbox(["slack"], T0, limit=10, lease=LEASE, workspaces=[])
        )
        == []
    )


async def test_outbox_listing_depth_and_retry_can_be_limited_to_one_workspace(
    rt: Runtime,
) -> None:
    await rt.db.run(lambda r: r.enqueue([intent("a", "k", 1), intent("b", "k", 2)], T0))
    for ws in ("a", "b"):
        [row] = await outbox_of(rt, ws)
        assert row.workspace == ws
        await park(rt, row.id)
    assert await rt.db.run(lambda r: r.outbox_depth("a")) == [("slack", "parked", 1)]
    assert await rt.db.run(lambda r: r.retry_parked(T0, workspace="a")) == 1
    parked = await rt.db.run(lambda r: r.list_outbox(states=[OutboxState.PARKED]))
    assert [m.workspace for m in parked] == ["b"]
    assert await rt.db.run(lambda r: r.list_outbox(limit=10)) != []  # unscoped sees both


async def test_reminder_candidates_are_the_workspaces_own(rt: Runtime) -> None:
    await declare_in_both(rt)
    after = escalate_after(rt.settings.policy())
    now = T0 + timedelta(hours=2)

    def candidates(ws: str) -> Callable[[Repo], list[Incident]]:
        return lambda r: r.schedules.reminder_candidates(now, after, limit=10, workspace=ws)

    for ws in ("a", "b"):
        got = await rt.db.run(candidates(ws))
        assert [(i.workspace, i.title) for i in got] == [(ws, f"{ws} down")]


async def test_postmortem_candidates_are_the_workspaces_own(rt: Runtime) -> None:
    await declare_in_both(rt)
    for ws in ("a", "b"):
        await rt.service.execute(ws, 1, c.ChangeStatus(Status.RESOLVED, "fixed"), ALICE)
    before, after = T0 + timedelta(days=1), T0 - timedelta(days=1)
    got = await rt.db.run(
        lambda r: r.schedules.postmortem_candidates(before, after, limit=10, workspace="a")
    )
    assert [i.workspace for i in got] == ["a"]


async def test_digest_and_action_item_reads_are_the_workspaces_own(rt: Runtime) -> None:
    await declare_in_both(rt)
    for ws in ("a", "b"):
        cmd = c.AddActionItem(f"{ws} fix", owner="U_BOB", due=T0 + timedelta(hours=1))
        await rt.service.execute(ws, 1, cmd, ALICE)
    now = T0 + timedelta(days=1)
    incidents = await rt.db.run(lambda r: r.schedules.open_incidents(limit=10, workspace="b"))
    assert [i.workspace for i in incidents] == ["b"]
    items = await rt.db.run(lambda r: r.schedules.overdue_action_items(now, workspace="b"))
    assert [(item.text, inc.workspace) for item, inc in items] == [("b fix", "b")]


async def test_cron_cursor_and_job_claims_are_the_workspaces_own(rt: Runtime) -> None:
    def job(ws: str, due: datetime) -> NewJob:
        return NewJob(ws, JobKind.DIGEST.value, f"digest:{ws}:{due.isoformat()}", due)

    later = T0 + timedelta(days=1)
    await rt.db.run(lambda r: r.schedules.record_job(job("a", T0), T0))
    await rt.db.run(lambda r: r.schedules.record_job(job("b", later), T0))
    kind = JobKind.DIGEST.value
    assert await rt.db.run(lambda r: r.schedules.last_job_due(kind, workspace="a")) == T0
    assert await rt.db.run(lambda r: r.schedules.last_job_due(kind, workspace="c")) is None
    claimed = await rt.db.run(
        lambda r: r.schedules.claim_jobs([kind], later, limit=10, workspace="a")
    )
    assert [j.workspace for j in claimed] == ["a"]
    assert [
        j.workspace for j in await rt.db.run(lambda r: r.schedules.list_jobs(workspace="b"))
    ] == ["b"]


async def test_leftover_alert_summaries_are_picked_up_by_their_workspace_only(
    rt: Runtime,
) -> None:
    def alert(ws: str) -> AlertWrite:
        return AlertWrite(
            id=None,
            workspace=ws,
            source="alertmanager",
            fingerprint="f1",
            group_key="g1",
            status="firing",
            severity="warning",
            title="disk",
            description="",
            labels={},
            annotations={},
            links={},
            starts_at=T0,
            ends_at=None,
            first_seen_at=T0,
            last_seen_at=T0,
            note_due=True,
        )

    await rt.db.run(lambda r: r.alerts.write([alert("a"), alert("b")]))
    groups = await rt.db.run(lambda r: r.alerts.groups_with_pending_notes("a"))
    assert [(g.workspace, g.group_key) for g in groups] == [("a", "g1")]


async def test_an_alert_message_edit_folds_only_into_its_own_workspaces_row(
    rt: Runtime,
) -> None:
    # Group message keys are "alertgroup:<source>:<group>" in every workspace.
    key = "alertgroup:alertmanager:g1"
    await rt.db.run(lambda r: r.alerts.upsert_messages([intent("b", key, 1, Action.UPSERT)], T0))
    await rt.db.run(lambda r: r.alerts.upsert_messages([intent("a", key, 2, Action.UPSERT)], T0))
    rows = await rt.db.run(lambda r: r.list_outbox(limit=10))
    assert sorted((m.workspace, m.payload["message"]["n"]) for m in rows) == [("a", 2), ("b", 1)]


async def test_the_same_idempotency_key_in_two_workspaces_declares_in_each(rt: Runtime) -> None:
    # Client-chosen keys (an API Idempotency-Key) repeat across workspaces.
    key = "api:declare:deploy-42"
    first = await rt.service.declare("a", c.Declare("a down"), ALICE, dedup_key=key)
    other = await rt.service.declare("b", c.Declare("b down"), ALICE, dedup_key=key)
    again = await rt.service.declare("b", c.Declare("b down"), ALICE, dedup_key=key)
    assert not first.replayed and not other.replayed
    assert (other.incident.workspace, other.incident.title) == ("b", "b down")
    assert again.replayed and again.incident.id == other.incident.id
    long_key = "api:declare:" + "k" * 400
    made = await rt.service.declare("a", c.Declare("long"), ALICE, dedup_key=long_key)
    replay = await rt.service.declare("a", c.Declare("long"), ALICE, dedup_key=long_key)
    assert replay.replayed and replay.incident.id == made.incident.id


async def test_the_same_request_key_opens_a_maintenance_window_in_each_workspace(
    rt: Runtime,
) -> None:
    # Chat request ids (and API keys) repeat across workspaces; a replay is per workspace.
    key = "slack:maint:trigger-7"

    async def open_window(ws: str) -> int | None:
        window = await rt.alerts.maintenance.create(
            ws,
            starts_at=None,
            duration=timedelta(hours=1),
            matchers=["service=db"],
            reason=f"{ws} upgrade",
            actor=ALICE,
            dedup_key=key,
        )
        return window.id

    first, other, again = await open_window("a"), await open_window("b"), await open_window("b")
    assert first != other and again == other
    assert [w.reason for w in await rt.alerts.maintenance.list("b")] == ["b upgrade"]


async def test_one_workspaces_traffic_does_not_take_anothers_send_slots(rt: Runtime) -> None:
    # Both workspaces' broadcast channels are addressed the same way ("incidents", or an id
    # that repeats across two Slacks); a's post must not make b wait for a's next slot.
    policy = DeliveryPolicy(room_interval=3600, room_burst=1)
    workers = {
        ws: OutboxWorker(rt.db, {"slack": RecordingPort()}, rt.clock, policy, workspaces=[ws])
        for ws in ("a", "b")
    }
    for ws in ("a", "b"):
        post = intent(ws, f"sched:digest:{ws}", 1)
        post = dataclasses.replace(post, payload={"room": "@broadcast", "message": MESSAGE})
        await enqueue(rt, post)
        # An hour-long wait for a slot would time out here.
        assert await asyncio.wait_for(workers[ws].run_once(), timeout=30) == 1
    delivered = await rt.db.run(lambda r: r.list_outbox(states=[OutboxState.DELIVERED]))
    assert sorted(m.workspace for m in delivered) == ["a", "b"]
