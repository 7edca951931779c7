"""Alert storage details and intake under concurrency, on SQLite and Postgres alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import bot.alerting.diff as diff_module
from bot.alerting.grouping import message_key
from bot.alerting.intake import AlertIntake
from bot.alerting.model import Delivery, IncomingAlert
from bot.alerting.rules import rules_from_config
from bot.alerting.store import AlertWrite
from bot.outbox_types import Action, OutboxIntent, OutboxState
from bot.runtime import Runtime
from storage.db import Database
from storage.migrate import upgrade
from tests.alerts.support import IMMEDIATE, Client, incidents, outbox
from tests.conftest import T0


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(IMMEDIATE)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.close()


def upsert(key: str, firing: int) -> OutboxIntent:
    return OutboxIntent(
        workspace="w",
        platform="slack",
        ordering_key=key,
        action=Action.UPSERT.value,
        payload={
            "room": "@alerts",
            "key": key,
            "message": {"kind": "alert_group", "text": "", "data": {"firing": firing}},
        },
        idempotency_key=f"{key}:{firing}",
    )


def test_upserts_fold_into_the_pending_one_but_never_into_a_claimed_one(db: Database) -> None:
    key = message_key("alertmanager", "g")
    db.run_sync(lambda repo: repo.alerts.upsert_messages([upsert(key, 1)], T0))
    db.run_sync(lambda repo: repo.alerts.upsert_messages([upsert(key, 2)], T0))
    rows = db.run_sync(lambda repo: repo.list_outbox())
    assert [r.payload["message"]["data"]["firing"] for r in rows] == [2]
    # The worker claims it (it is being sent): the next edit must be a new row.
    db.run_sync(
        lambda repo: repo.claim_outbox(
            ["slack"], T0, limit=10, lease=timedelta(seconds=60), workspaces=["w"]
        )
    )
    db.run_sync(lambda repo: repo.alerts.upsert_messages([upsert(key, 3)], T0))
    db.run_sync(lambda repo: repo.alerts.upsert_messages([upsert(key, 4)], T0))
    rows = db.run_sync(lambda repo: repo.list_outbox())
    states = sorted((r.state, r.payload["message"]["data"]["firing"]) for r in rows)
    assert states == [(OutboxState.CLAIMED, 2), (OutboxState.PENDING, 4)]


def test_a_large_batch_of_new_alerts_is_stored_row_for_row(db: Database) -> None:
    # More rows than one multi-row INSERT takes on SQLite, and a count that leaves a remainder.
    count = 3 * (999 // 20) + 7
    starts = [T0 - timedelta(minutes=n % 5) for n in range(count)]
    writes = [
        AlertWrite(
            id=None,
            workspace="w",
            source="alertmanager",
            fingerprint=f"fp{n:04d}",
            group_key=f"g{n % 3}",
            status="firing" if n % 4 else "resolved",
            severity="critical" if n % 2 else "warning",
            title=f"alert {n}",
            description=f"line one\nline {n} 'quoted' \"too\"",
            labels={"n": str(n), "ünï": "✓"},
            annotations={"summary": f"s{n}"},
            links={"runbook": f"https://rb.example/{n}"} if n % 3 else {},
            starts_at=starts[n],
            ends_at=None if n % 4 else T0,
            first_seen_at=T0,
            last_seen_at=T0,
            incident_id=None,
            route="notify",
            rule=f"r{n % 2}",
            note_due=bool(n % 5 == 0),
        )
        for n in range(count)
    ]
    db.run_sync(lambda repo: repo.alerts.write(writes))
    keys = {("alertmanager", w.fingerprint) for w in writes}
    stored = db.run_sync(lambda repo: repo.alerts.find("w", keys))
    assert len(stored) == count
    for n, w in enumerate(writes):
        got = stored[("alertmanager", w.fingerprint)]
        assert (got.group_key, got.status, got.severity, got.title, got.description) == (
            w.group_key,
            w.status,
            w.severity,
            w.title,
            w.description,
        )
        assert (got.labels, got.annotations, got.links) == (w.labels, w.annotations, w.links)
        assert (got.starts_at, got.ends_at, got.first_seen_at) == (starts[n], w.ends_at, T0)
        assert got.extra == {"route": "notify", "rule": f"r{n % 2}", "note_due": n % 5 == 0}


def test_message_keys_fit_the_chat_ref_column_whatever_the_group_key() -> None:
    key = message_key("alertmanager", "{}:{" + "x" * 500 + "}")
    assert len(key) < 60 and key.startswith("alerts:alertmanager:")
    assert key != message_key("grafana", "{}:{" + "x" * 500 + "}")


async def test_one_bad_delivery_does_not_fail_the_batch_it_shares(
    client: Client, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = diff_module.new_write

    def fragile(workspace: str, alert: IncomingAlert, now: Any) -> Any:
        if alert.fingerprint == "boom":
            raise RuntimeError("simulated bug")
        return real(workspace, alert, now)

    monkeypatch.setattr(diff_module, "new_write", fragile)
    intake = AlertIntake(
        runtime.db,
        runtime.service,
        rules_from_config(runtime.settings.alert_rules),
        runtime.clock,
        settle=0,
    )

    def delivery(fingerprint: str) -> Delivery:
        alert = IncomingAlert(
            "generic", fingerprint, f"g-{fingerprint}", "firing", "warning", fingerprint
        )
        return Delivery("default", "generic", (alert,))

    results = await asyncio.gather(
        *(intake.ingest(delivery(f)) for f in ("a", "boom", "b")), return_exceptions=True
    )
    assert isinstance(results[1], RuntimeError)
    assert [getattr(r, "new", None) for r in (results[0], results[2])] == [1, 1]


async def test_two_replicas_receiving_one_new_group_declare_one_incident(
    client: Client, runtime: Runtime
) -> None:
    # Two intake services over the same database stand in for two replicas; on Postgres
    # their transactions really run at once (advisory lock per group), on SQLite in turn.
    replicas = [
        AlertIntake(
            runtime.db,
            runtime.service,
            rules_from_config(runtime.settings.alert_rules),
            runtime.clock,
            settle=0,
        )
        for _ in range(2)
    ]

    def delivery(n: int) -> Delivery:
        alert = IncomingAlert(
            "generic",
            f"fp{n}",
            "db-down",
            "firing",
            "critical",
            f"db{n}",
            labels={"severity": "critical"},
        )
        return Delivery("default", "generic", (alert,))

    results = await asyncio.gather(*(replicas[n % 2].ingest(delivery(n)) for n in range(8)))
    assert {r.incidents for r in results} == {("INC-1",)}
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    attached = await runtime.db.run(lambda repo: repo.alerts_for_incident(inc.id or 0))
    assert len(attached) == 8
    groups = [r for r in await outbox(runtime) if r.payload.get("room") == "@alerts"]
    assert len(groups) == 1 and groups[0].payload["message"]["data"]["firing"] == 8
