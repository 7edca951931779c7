"""Action items done or reopened in sitrep, as the ticket planner queues them for Jira: one
row per change on the lane of the item's create, only for items that have a ticket, never for
what Jira's own webhook reported, and with no text for a private incident."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.outbox_types import OutboxRecord
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.tickets.links import ServiceTicketLinks
from bot.tickets.planner import ITEM_STATES
from bot.tickets.refs import ITEM_STATE, JIRA, JIRA_WEBHOOK_ACTOR
from bot.tickets.sync import ItemSync, Synced
from handlers.compose import build_runtime
from storage.migrate import upgrade

ALICE = Actor("U_ALICE", "alice")
WS = "default"
JIRA_SETTINGS = {
    "jira_url": "https://acme.atlassian.net",
    "jira_project": "OPS",
    "jira_email": "bot@example.com",
    "jira_api_token": "jira-token",
    "jira_min_severity": "SEV2",
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(JIRA_SETTINGS)


@pytest.fixture
def rt(settings: Settings, clock: FixedClock) -> Iterator[Runtime]:
    runtime = build_runtime(settings, clock=clock)
    upgrade(runtime.db.engine)
    yield runtime
    runtime.db.close()


async def declare(rt: Runtime, severity: str = "SEV2", *, private: bool = False) -> int:
    out = await rt.service.declare(
        WS, c.Declare("Acquisition of Initech", severity, private=private), ALICE
    )
    return out.incident.number


async def add_item(rt: Runtime, number: int, text: str = "Write the runbook") -> int:
    out = await rt.service.execute(WS, number, c.AddActionItem(text), ALICE)
    assert out.action_item is not None
    return out.action_item.id


async def jira_rows(rt: Runtime) -> list[OutboxRecord]:
    found = await rt.db.run(lambda repo: repo.list_outbox(limit=500))
    return sorted((r for r in found if r.platform == JIRA), key=lambda r: r.id)


async def test_done_and_reopened_queue_item_state_rows_on_the_lane_of_the_items_create(
    rt: Runtime,
) -> None:
    n = await declare(rt)
    item = await add_item(rt, n)
    await rt.service.execute(WS, n, c.SetActionItemDone(item, True), ALICE)
    await rt.service.execute(WS, n, c.SetActionItemDone(item, False), ALICE)
    # Marking it open again while it is open changes nothing and queues nothing.
    await rt.service.execute(WS, n, c.SetActionItemDone(item, False), ALICE)
    rows = await jira_rows(rt)
    assert [r.action for r in rows] == ["create", "create_item", ITEM_STATE, ITEM_STATE]
    assert len({r.ordering_key for r in rows}) == 1  # never ahead of the sub-task's create
    states = [r.payload for r in rows if r.action == ITEM_STATE]
    assert [(p["item"], p["done"]) for p in states] == [(item, True), (item, False)]
    assert states[0]["number"] == n and states[0]["incident"] == f"INC-{n}"


async def test_items_without_a_ticket_queue_nothing(rt: Runtime) -> None:
    # No ticket at all: a SEV3 is below SITREP_JIRA_MIN_SEVERITY.
    mild = await declare(rt, "SEV3")
    item = await add_item(rt, mild)
    await rt.service.execute(WS, mild, c.SetActionItemDone(item, True), ALICE)
    assert await jira_rows(rt) == []
    # The incident's issue opened after the item was done: the done item got no sub-task, so
    # reopening it has no ticket to move.
    await rt.service.execute(WS, mild, c.RequestTicket(JIRA), ALICE)
    await rt.service.execute(WS, mild, c.SetActionItemDone(item, False), ALICE)
    assert [r.action for r in await jira_rows(rt)] == ["create"]


async def test_what_jiras_webhook_reported_is_not_queued_back_to_jira(rt: Runtime) -> None:
    n = await declare(rt)
    item = await add_item(rt, n)
    # The sub-task was created: its key is linked both ways, as the port records it.
    links = ServiceTicketLinks(rt.service)
    await links.record(WS, n, JIRA, key="OPS-2", ext_id="OPS-2", url="u", item_id=item)
    sync = ItemSync(rt.service, WS)
    assert await sync.apply("OPS-2", True, "Dana", "delivery-1") is Synced.RECORDED
    assert await sync.apply("OPS-2", False, "Dana", "delivery-2") is Synced.RECORDED
    detail = await rt.service.detail(WS, n)
    moved = [e for e in detail.timeline if e.kind in ITEM_STATES]
    assert [e.actor for e in moved] == [JIRA_WEBHOOK_ACTOR, JIRA_WEBHOOK_ACTOR]
    assert ITEM_STATE not in [r.action for r in await jira_rows(rt)]
    # Someone in sitrep marking it done is sent, as before.
    await rt.service.execute(WS, n, c.SetActionItemDone(item, True), ALICE)
    assert [r.action for r in await jira_rows(rt)].count(ITEM_STATE) == 1


async def test_a_private_incidents_item_state_row_carries_no_text(rt: Runtime) -> None:
    n = await declare(rt, "SEV1", private=True)
    item = await add_item(rt, n, "Tell Initech's board")
    await rt.service.execute(WS, n, c.SetActionItemDone(item, True), ALICE)
    (row,) = [r for r in await jira_rows(rt) if r.action == ITEM_STATE]
    assert "text" not in row.payload and "title" not in row.payload
    assert "Initech" not in repr(row.payload)
    assert row.payload["item"] == item and row.payload["done"] is True


@pytest.mark.parametrize("value", [{"done": "Close", "open": "31"}, {"open": "Reopen"}])
def test_jira_item_transitions_take_done_and_open(database_url: str, value: dict[str, str]) -> None:
    values: dict[str, Any] = {**JIRA_SETTINGS, "jira_item_transitions": value}
    settings = Settings(_env_file=None, database_url=database_url, **values)
    assert settings.jira_item_transitions == value


def test_jira_item_transitions_refuse_other_keys(database_url: str) -> None:
    values: dict[str, Any] = {**JIRA_SETTINGS, "jira_item_transitions": {"closed": "Close"}}
    with pytest.raises(ValidationError, match="SITREP_JIRA_ITEM_TRANSITIONS: 'closed' is not"):
        Settings(_env_file=None, database_url=database_url, **values)
