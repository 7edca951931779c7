"""Pages as the core plans them: queued with the command that asks, refused when they cannot
be sent, resolved once per paged target, acknowledged only for pages this workspace sent; and
the outbox worker runs a service's rows beside chat's, with the same retries and parking."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Settings
from bot.delivery import OutboxWorker
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand
from bot.domain.model import EventKind, Status
from bot.outbox_types import OutboxRecord, OutboxState
from bot.paging.acks import PageReport, Recorded
from bot.paging.targets import dedup_key, parse_dedup_key
from bot.ports import DeliveryError, FixedClock, OutsideCall
from bot.runtime import Runtime
from handlers.compose import build_runtime
from storage.migrate import upgrade
from tests.support.chat import RecordingPort, drain, slack_worker

ALICE = Actor("U_ALICE", "alice")
WS = "default"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "pagerduty_routing_keys": {"payments": "pd-key"},
        "opsgenie_api_key": "genie",
        "opsgenie_targets": {"db": [{"type": "team", "name": "DB"}]},
    }


async def declare(rt: Runtime, *, private: bool = False) -> int:
    out = await rt.service.declare(WS, c.Declare("Checkout down", "SEV2", private=private), ALICE)
    return out.incident.number


async def rows(rt: Runtime, *services: str) -> list[OutboxRecord]:
    found = await rt.db.run(lambda repo: repo.list_outbox(limit=500))
    return sorted((r for r in found if r.platform in services), key=lambda r: r.id)


async def test_resolving_resolves_each_paged_target_once_and_closing_sends_nothing_more(
    rt: Runtime, clock: FixedClock
) -> None:
    n = await declare(rt)
    await rt.service.execute(WS, n, c.Page("payments"), ALICE)
    await rt.service.execute(WS, n, c.Page("PAYMENTS"), ALICE)  # the same target again
    await rt.service.execute(WS, n, c.Page("db"), ALICE)
    clock.advance(minutes=5)
    await rt.service.execute(WS, n, c.ChangeStatus(Status.RESOLVED), ALICE)
    clock.advance(minutes=5)
    await rt.service.execute(WS, n, c.ChangeStatus(Status.CLOSED), ALICE)
    sent = [
        (r.platform, r.action, r.payload["dedup_key"])
        for r in await rows(rt, "pagerduty", "opsgenie")
    ]
    pd, og = dedup_key(WS, n, "payments"), dedup_key(WS, n, "db")
    assert sent == [
        ("pagerduty", "trigger", pd),
        ("pagerduty", "trigger", pd),  # same dedup key: PagerDuty adds an alert, no new page
        ("opsgenie", "trigger", og),
        ("pagerduty", "resolve", pd),
        ("opsgenie", "resolve", og),
    ]
    lanes = {r.ordering_key for r in await rows(rt, "pagerduty")}
    assert len(lanes) == 1  # a resolve never overtakes its trigger


async def test_paging_is_refused_for_unknown_targets_and_resolved_incidents_writing_nothing(
    rt: Runtime,
) -> None:
    n = await declare(rt)
    with pytest.raises(InvalidCommand, match="No paging target 'billing'; try: db"):
        await rt.service.execute(WS, n, c.Page("billing"), ALICE)
    await rt.service.execute(WS, n, c.ChangeStatus(Status.RESOLVED), ALICE)
    with pytest.raises(InvalidCommand, match="reopen it before paging"):
        await rt.service.execute(WS, n, c.Page("payments"), ALICE)
    detail = await rt.service.detail(WS, n)
    assert not [e for e in detail.timeline if e.kind is EventKind.PAGED]
    assert await rows(rt, "pagerduty", "opsgenie") == []


async def test_without_paging_settings_a_page_is_refused(
    clock: FixedClock, database_url: str
) -> None:
    runtime = build_runtime(Settings(_env_file=None, database_url=database_url), clock=clock)
    upgrade(runtime.db.engine)
    try:
        n = await declare(runtime)
        with pytest.raises(InvalidCommand, match="Paging is not configured"):
            await runtime.service.execute(WS, n, c.Page("payments"), ALICE)
    finally:
        runtime.db.close()


async def test_a_private_incidents_title_stays_in_sitrep(rt: Runtime) -> None:
    n = await declare(rt, private=True)
    await rt.service.execute(WS, n, c.Page("payments"), ALICE)
    (row,) = await rows(rt, "pagerduty")
    assert row.payload["summary"] == f"INC-{n} SEV2: private incident"
    assert "Checkout" not in str(row.payload)


async def test_acks_are_only_recorded_for_pages_this_workspace_sent(rt: Runtime) -> None:
    n = await declare(rt)
    await rt.service.execute(WS, n, c.Page("payments"), ALICE)
    mine = dedup_key(WS, n, "payments")

    def report(key: str, **kw: Any) -> PageReport:
        return PageReport("pagerduty", key, True, "Dana", kw.get("ref", "E1"))

    assert await rt.pages.record(report(dedup_key("other", n, "payments"))) is Recorded.UNKNOWN
    assert await rt.pages.record(report(dedup_key(WS, n, "db"))) is Recorded.UNKNOWN  # not paged
    assert await rt.pages.record(report(dedup_key(WS, 99, "payments"))) is Recorded.UNKNOWN
    assert await rt.pages.record(report(mine)) is Recorded.RECORDED
    assert await rt.pages.record(report(mine)) is Recorded.DUPLICATE
    assert await rt.pages.record(report(mine, ref="E2")) is Recorded.RECORDED  # acked again
    quiet = PageReport("pagerduty", mine, False, "Dana", "E3")
    assert await rt.pages.record(quiet) is Recorded.IGNORED


@pytest.mark.parametrize(
    "key",
    [
        "",
        "payments",
        "sitrep:",
        "sitrep:ws:INC-x:t",
        "sitrep:ws:7:t",
        "sitrep::INC-1:t",
        "sitrep:ws:INC-\u00b2:t",  # str.isdigit says yes, int() refuses it
        "sitrep:ws:INC-\u0661:t",  # an Arabic-Indic 1: int() reads it, we never write it
    ],
)
def test_keys_sitrep_did_not_make_are_not_pages(key: str) -> None:
    assert parse_dedup_key(key) is None


def test_dedup_keys_round_trip_even_with_colons_in_the_workspace() -> None:
    assert parse_dedup_key(dedup_key("team:T1", 42, "Payments")) == ("team:T1", 42, "payments")


class FlakyService:
    """A service port that fails as told, then records what it was asked."""

    service = "pagerduty"

    def __init__(self, *errors: DeliveryError) -> None:
        self.errors = list(errors)
        self.calls: list[OutsideCall] = []

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        self.calls.append(call)
        if self.errors:
            raise self.errors.pop(0)
        return {"status": "success"}


async def test_the_worker_delivers_service_rows_beside_chat_with_retry_after_and_parking(
    rt: Runtime, clock: FixedClock
) -> None:
    n = await declare(rt)
    await rt.service.execute(WS, n, c.Page("payments"), ALICE)
    service = FlakyService(
        DeliveryError("429", retry_after=90), DeliveryError("refused", permanent=True)
    )
    chat = RecordingPort("slack")
    w = slack_worker(rt, chat, workspace=WS, services={"pagerduty": service})
    await drain(w)
    assert chat.calls  # the room was built while the page waited
    (row,) = await rows(rt, "pagerduty")
    assert row.state is OutboxState.PENDING and row.last_error == "429"
    assert (row.next_attempt_at - clock.now()).total_seconds() >= 90
    clock.advance(seconds=91)
    await drain(w)
    (row,) = await rows(rt, "pagerduty")
    assert row.state is OutboxState.PARKED and row.last_error == "refused"
    assert [c.attempt for c in service.calls] == [1, 2]
    assert service.calls[0].payload["dedup_key"] == dedup_key(WS, n, "payments")


async def test_a_worker_without_chat_still_delivers_service_rows(rt: Runtime) -> None:
    n = await declare(rt)
    await rt.service.execute(WS, n, c.Page("payments"), ALICE)
    service = FlakyService()
    w = OutboxWorker(rt.db, {}, rt.clock, workspaces=[WS], services={"pagerduty": service})
    await drain(w)
    assert len(service.calls) == 1
    (row,) = await rows(rt, "pagerduty")
    assert row.state is OutboxState.DELIVERED and row.result == {"status": "success"}
