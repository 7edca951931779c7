"""The similar-incidents job over the real database (SQLite and Postgres), without a server.

Declarations go through the real service, so the job is recorded the way production records
it; ``run_due`` then does what the app's worker does after the commit.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.model import Status
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.scheduling.store import JobState
from bot.similar.worker import SimilarIncidents
from handlers.compose import build_runtime
from storage.migrate import upgrade
from tests.similar.support import (
    OPERATOR,
    job_done,
    past_incident,
    similar_jobs,
    suggested_refs,
    suggestions,
)


def worker(rt: Runtime) -> SimilarIncidents:
    assert rt.similar is not None
    return rt.similar


async def declare(rt: Runtime, title: str, summary: str = "", **kw: Any) -> int:
    outcome = await rt.service.declare(
        rt.settings.workspace, c.Declare(title, summary=summary, **kw), OPERATOR
    )
    assert outcome.incident.id is not None
    return outcome.incident.id


async def seed_checkout_history(rt: Runtime) -> None:
    await past_incident(
        rt,
        "Checkout returns 502 after deploy",
        summary="Checkout API failing with 502 for all users",
        root_cause="The 14:02 release of checkout-api had a nil pointer in the cart handler",
        fix="Rolled back the 14:02 deploy",
    )
    await past_incident(
        rt,
        "Payments database disk full",
        root_cause="WAL archiving failed and filled the volume",
        fix="Grew the volume",
    )
    await past_incident(
        rt,
        "Checkout errors spike after a deploy",
        root_cause="Schema migration incompatible with running pods",
        fix="Reverted the release",
    )
    await past_incident(rt, "Search slow for EU users", fix="Scaled the cluster")
    await past_incident(
        rt, "Checkout 502s for mobile app", fix="Restarted the gateway", status=Status.CLOSED
    )
    # Drain the seeds' own jobs: only the next declaration's suggestions matter below.
    await worker(rt).run_due()


async def test_suggests_the_most_similar_resolved_incidents_best_first_with_cause_and_fix(
    rt: Runtime,
) -> None:
    await seed_checkout_history(rt)
    before = len(await suggestions(rt))
    iid = await declare(rt, "Checkout failing with 502 after deploy")
    assert await worker(rt).run_due() == 1

    rows = (await suggestions(rt))[before:]
    assert len(rows) == 1
    row = rows[0]
    assert row.payload["room"] == f"inc:{iid}:room"
    assert row.ordering_key == f"inc:{iid}"
    refs = suggested_refs(row)
    assert refs[0] == "INC-1"
    assert set(refs) == {"INC-1", "INC-3", "INC-5"}
    first = row.payload["message"]["data"]["similar"][0]
    assert first["root_cause"].startswith("The 14:02 release of checkout-api")
    assert first["fix"] == "Rolled back the 14:02 deploy"
    assert first["postmortem_url"] == "https://sitrep.example.com/incidents/1/postmortem.html"
    assert first["url"] == "https://sitrep.example.com/incidents/1"
    assert await job_done(rt, iid)


async def test_open_and_private_incidents_are_never_suggested(rt: Runtime) -> None:
    await past_incident(rt, "Checkout 502 after deploy", status=Status.INVESTIGATING)
    await past_incident(rt, "Checkout 502 after deploy again", private=True, fix="rollback")
    await past_incident(rt, "Checkout is down after a deploy", fix="Rolled back")
    await worker(rt).run_due()
    before = len(await suggestions(rt))

    await declare(rt, "Checkout 502 after deploy")
    await worker(rt).run_due()

    rows = (await suggestions(rt))[before:]
    assert [suggested_refs(r) for r in rows] == [["INC-3"]]
    assert "again" not in str(rows[0].payload)


async def test_other_workspaces_incidents_are_never_suggested(rt: Runtime) -> None:
    await past_incident(rt, "Checkout 502 after deploy", fix="Rolled back", workspace="other")
    iid = await declare(rt, "Checkout 502 after deploy")
    await worker(rt).run_due()
    assert await suggestions(rt) == []
    jobs = await similar_jobs(rt, iid)
    assert [(j.workspace, j.state, j.payload) for j in jobs] == [
        ("default", JobState.DONE, {"suggested": []})
    ]
    # The other workspace's own job waits for that workspace's worker.
    other = await rt.db.run(lambda repo: repo.schedules.list_jobs(workspace="other"))
    assert [j.state for j in other] == [JobState.PENDING]


async def test_nothing_is_posted_without_resolved_incidents(rt: Runtime) -> None:
    first = await declare(rt, "Checkout 502 after deploy")
    second = await declare(rt, "Checkout 502 after deploy, again")
    assert await worker(rt).run_due() == 2
    assert await suggestions(rt) == []
    assert await job_done(rt, first) and await job_done(rt, second)


async def test_unrelated_history_posts_nothing(rt: Runtime) -> None:
    await past_incident(rt, "Office wifi down in Berlin", fix="Rebooted the access point")
    await worker(rt).run_due()
    await declare(rt, "Checkout 502 after deploy")
    await worker(rt).run_due()
    assert await suggestions(rt) == []


async def test_the_declared_service_matches_past_incidents_of_that_service(rt: Runtime) -> None:
    # Titles share no words: only the service both were declared for ties them together.
    await past_incident(
        rt, "Ledger totals drift", fix="Replayed the journal", service_name="ledger"
    )
    await past_incident(rt, "Office wifi down in Berlin", fix="Rebooted the access point")
    await worker(rt).run_due()
    before = len(await suggestions(rt))
    await declare(rt, "Nightly reconciliation mismatch", service="ledger")
    await worker(rt).run_due()
    rows = (await suggestions(rt))[before:]
    assert len(rows) == 1 and suggested_refs(rows[0]) == ["INC-1"]


async def test_the_fix_is_the_resolve_note_else_the_mitigation_else_the_last_update(
    rt: Runtime,
) -> None:
    ws = rt.settings.workspace
    notes = await past_incident(rt, "Checkout 502 one", fix="Rolled back (resolve note)")
    mitigated = await past_incident(rt, "Checkout 502 two", status=Status.INVESTIGATING)
    await rt.service.execute(ws, mitigated.number, c.PostUpdate("Working on it"), OPERATOR)
    await rt.service.execute(
        ws, mitigated.number, c.ChangeStatus(Status.MONITORING, "Drained the bad node"), OPERATOR
    )
    await rt.service.execute(ws, mitigated.number, c.ChangeStatus(Status.RESOLVED), OPERATOR)
    updated = await past_incident(rt, "Checkout 502 three", status=Status.INVESTIGATING)
    await rt.service.execute(ws, updated.number, c.PostUpdate("First look"), OPERATOR)
    await rt.service.execute(ws, updated.number, c.PostUpdate("Cache flushed, OK now"), OPERATOR)
    await rt.service.execute(ws, updated.number, c.ChangeStatus(Status.RESOLVED), OPERATOR)
    bare = await past_incident(rt, "Checkout 502 four")
    await worker(rt).run_due()
    before = len(await suggestions(rt))

    await declare(rt, "Checkout 502")
    assert rt.similar is not None
    rt.similar.count = 4
    await worker(rt).run_due()

    (row,) = (await suggestions(rt))[before:]
    fixes = {p["ref"]: p["fix"] for p in row.payload["message"]["data"]["similar"]}
    assert fixes == {
        notes.ref: "Rolled back (resolve note)",
        mitigated.ref: "Drained the bad node",
        updated.ref: "Cache flushed, OK now",
        bare.ref: "",
    }


async def test_two_workers_racing_for_one_job_post_it_once(
    rt: Runtime, settings: Settings, clock: FixedClock
) -> None:
    await seed_checkout_history(rt)
    before = len(await suggestions(rt))
    await declare(rt, "Checkout failing with 502 after deploy")
    other = build_runtime(settings, clock=clock)
    try:
        assert other.similar is not None
        done = await asyncio.gather(worker(rt).run_once(), other.similar.run_once())
    finally:
        other.db.close()
    assert any(done)
    assert len((await suggestions(rt))[before:]) == 1


async def test_turned_off_records_no_job(settings: Settings, clock: FixedClock) -> None:
    off = build_runtime(settings.model_copy(update={"similar_incidents": False}), clock=clock)
    upgrade(off.db.engine)
    try:
        assert off.similar is None
        outcome = await off.service.declare("default", c.Declare("Checkout down"), OPERATOR)
        assert outcome.incident.id is not None
        assert await similar_jobs(off, outcome.incident.id) == []
    finally:
        off.db.close()


async def test_a_past_incident_edited_after_it_was_read_is_read_again(rt: Runtime) -> None:
    past = await past_incident(rt, "Checkout 502 after deploy", fix="Rolled back")
    await declare(rt, "Checkout 502 after deploy")
    await worker(rt).run_due()  # the worker now holds INC-1's profile
    await rt.service.execute(
        rt.settings.workspace,
        past.number,
        c.EditField("root_cause", "A canary that never ran"),
        OPERATOR,
    )
    before = len(await suggestions(rt))
    await declare(rt, "Checkout 502 after deploy, again")
    await worker(rt).run_due()
    (row,) = (await suggestions(rt))[before:]
    (pick,) = [p for p in row.payload["message"]["data"]["similar"] if p["ref"] == past.ref]
    assert pick["root_cause"] == "A canary that never ran"
