"""The audit log over a real database: every change lands on one chain per workspace, with
who, where, and what changed; tampering with a row shows; racing writers never fork it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from alembic.command import downgrade
from sqlalchemy import text

from bot import audit_log
from bot.audit import AuditEntry, verify_chain
from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.repository import Repo
from bot.runtime import Runtime
from storage.db import Database
from storage.migrate import alembic_config, upgrade

ALICE = Actor("U_ALICE", "alice")


async def entries(rt: Runtime[Database], ws: str = "w") -> list[AuditEntry]:
    return await audit_log.page(rt.db, ws)


async def test_commands_from_each_surface_are_chained_with_before_and_after(
    rt: Runtime[Database],
) -> None:
    await rt.service.declare("w", c.Declare("db down", "SEV2"), ALICE)
    await rt.service.execute("w", 1, c.ChangeStatus(Status.IDENTIFIED), Actor("web:dana", "dana"))
    await rt.service.execute("w", 1, c.AddNote("vendor paged"), Actor("cli:root", "root"))
    await rt.service.execute("w", 1, c.ChangeSeverity("SEV1"), Actor("29:teams-user", "Tina"))
    got = await entries(rt)
    assert [(e.seq, e.action, e.surface, e.actor) for e in got] == [
        (1, "declare", "chat", "U_ALICE"),
        (2, "change_status", "web", "web:dana"),
        (3, "add_note", "cli", "cli:root"),
        (4, "change_severity", "teams", "29:teams-user"),
    ]
    assert all(e.incident == "INC-1" for e in got)
    assert got[0].after is not None and got[0].after["title"] == "db down"
    assert got[1].before is not None and got[1].after is not None
    assert (got[1].before["status"], got[1].after["status"]) == ("investigating", "identified")
    assert "title" not in got[1].after  # only what changed
    assert got[2].detail["command"] == {"text": "vendor paged"}
    assert verify_chain(got) is None
    assert (await audit_log.verify(rt.db, "w")).ok


async def test_a_command_that_changes_nothing_is_not_audited(rt: Runtime[Database]) -> None:
    await rt.service.declare("w", c.Declare("db down"), ALICE)
    await rt.service.execute("w", 1, c.Acknowledge(), ALICE)
    await rt.service.execute("w", 1, c.Acknowledge(), ALICE)
    assert [e.action for e in await entries(rt)] == ["declare", "acknowledge"]


async def test_maintenance_windows_are_audited_on_the_chain(rt: Runtime[Database]) -> None:
    windows = rt.alerts.maintenance
    w = await windows.create(
        "w",
        starts_at=None,
        matchers=["service=db"],
        duration=timedelta(hours=1),
        reason="upgrade",
        actor=ALICE,
    )
    await windows.cancel("w", w.id, actor=Actor("api:ops", surface="api"))
    got = await entries(rt)
    assert [(e.action, e.surface) for e in got] == [
        ("maintenance.create", "chat"),
        ("maintenance.cancel", "api"),
    ]
    assert verify_chain(got) is None


async def test_chains_are_per_workspace(rt: Runtime[Database]) -> None:
    await rt.service.declare("a", c.Declare("one"), ALICE)
    await rt.service.declare("b", c.Declare("two"), ALICE)
    await rt.service.declare("a", c.Declare("three"), ALICE)
    assert [e.seq for e in await entries(rt, "a")] == [1, 2]
    assert [e.seq for e in await entries(rt, "b")] == [1]
    assert (await audit_log.verify(rt.db, "a")).ok and (await audit_log.verify(rt.db, "b")).ok


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_entry SET actor = 'U_MALLORY' WHERE seq = 2",
        "UPDATE audit_entry SET at = at - INTERVAL '1 second' WHERE seq = 2",
        "DELETE FROM audit_entry WHERE seq = 2",
        "UPDATE audit_entry SET seq = CASE seq WHEN 2 THEN 103 WHEN 3 THEN 2 END "
        "WHERE seq IN (2, 3)",
    ],
    ids=["edit", "backdate", "delete", "reorder"],
)
async def test_tampering_with_stored_rows_is_detected(rt: Runtime[Database], tamper: str) -> None:
    await rt.service.declare("w", c.Declare("db down"), ALICE)
    await rt.service.execute("w", 1, c.Acknowledge(), ALICE)
    await rt.service.execute("w", 1, c.AddNote("n"), ALICE)
    if rt.db.dialect == "sqlite":
        tamper = tamper.replace("at - INTERVAL '1 second'", "'2020-01-01 00:00:00.000000'")
    with rt.db.engine.begin() as conn:
        conn.execute(text(tamper))
    verdict = await audit_log.verify(rt.db, "w")
    assert verdict.broken_at == 2


async def test_concurrent_appends_keep_one_chain(rt: Runtime[Database]) -> None:
    """Writers on separate connections race for the head; none forks it or fails."""
    threads, each = 6, 8
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        start.wait()
        try:
            for i in range(each):

                def append(repo: Repo, i: int = i) -> AuditEntry:
                    return repo.audit(
                        "w", at=rt.clock.now(), actor=f"U{n}", action="test", target=str(i)
                    )

                rt.db.run_sync(append)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    got = await entries(rt)
    assert len(got) == threads * each
    assert verify_chain(got) is None


def test_upgrading_chains_entries_written_before_the_chain_existed(settings: Settings) -> None:
    from storage.db import create_db_engine

    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    downgrade(alembic_config(engine), "0002")
    with engine.begin() as conn:
        for ws, actor in [("w", "U1"), ("w", "U2"), ("x", "U3")]:
            conn.execute(
                text(
                    "INSERT INTO audit_entry (workspace, at, actor, action, target, detail) "
                    "VALUES (:ws, :at, :actor, 'declare', 'INC-1', :detail)"
                ),
                {
                    "ws": ws,
                    "at": "2026-11-23 09:00:00.123456",
                    "actor": actor,
                    "detail": '{"origin": "alert"}',
                },
            )
    upgrade(engine)
    from storage.db import Database

    db = Database(settings.database_url)
    w: list[AuditEntry] = db.run_sync(lambda repo: repo.audit_entries("w"))
    x: list[AuditEntry] = db.run_sync(lambda repo: repo.audit_entries("x"))
    assert [e.actor for e in w] == ["U1", "U2"] and [e.seq for e in x] == [1]
    assert w[0].detail == {"origin": "alert"}
    assert verify_chain(w) is None and verify_chain(x) is None
    # New entries continue the upgraded chain.
    db.run_sync(lambda repo: repo.audit("w", at=w[0].at + timedelta(1), actor="U4", action="note"))
    assert verify_chain(db.run_sync(lambda repo: repo.audit_entries("w"))) is None
    db.close()
    engine.dispose()


async def test_parking_a_delivery_and_an_operators_retry_are_audited(rt: Runtime[Database]) -> None:
    from bot.outbox_admin import retry_parked
    from bot.ports import DeliveryError
    from tests.support.chat import RecordingPort, slack_worker

    await rt.service.declare("w", c.Declare("db down"), ALICE)
    port = RecordingPort(failures=[DeliveryError("channel_not_found", permanent=True)])
    w = slack_worker(rt, port)
    await w.run_once()
    requeued = await retry_parked(rt.db, rt.clock, "w", None, Actor("cli:root", "root"))
    assert requeued >= 1
    assert await retry_parked(rt.db, rt.clock, "w", None, Actor("cli:root")) == 0
    got = await entries(rt)
    assert [(e.action, e.surface, e.actor) for e in got] == [
        ("declare", "chat", "U_ALICE"),
        ("outbox.park", "scheduler", "sitrep"),
        ("outbox.retry", "cli", "cli:root"),
    ]
    assert got[1].detail["error"] == "channel_not_found"
    assert got[2].detail == {"requeued": requeued}
    assert verify_chain(got) is None
