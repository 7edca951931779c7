"""The conversation desk: one chat conversation for every platform, answered in the command's
own transaction and deduplicated by the request's intake key."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.chatops import desk as d
from bot.domain.decide import Actor
from bot.domain.model import Status
from bot.outbox_types import OutboxRecord
from bot.ports import ChatMessage, RoomRef
from bot.runtime import Runtime
from bot.service import Outcome

ALICE = Actor("U1", "alice")
WHERE = d.Where("slack", RoomRef("slack", "C1"), private_to="U1")


async def replies(runtime: Runtime) -> list[dict[str, Any]]:
    rows: list[OutboxRecord] = await runtime.desk.service.read(
        lambda repo: repo.list_outbox(limit=500)
    )
    messages = [r.payload["message"] for r in rows if r.ordering_key.startswith("reply:")]
    return list(reversed(messages))


async def test_a_request_delivered_three_times_declares_once_and_is_answered_once(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    for _ in range(3):
        await runtime.desk.handle(WHERE, ALICE, "declare Checkout down sev2", "req-1")
    assert [i.title for i in await runtime.service.list("default")] == ["Checkout down"]
    answers = await replies(runtime)
    assert len(answers) == 1
    assert answers[0]["text"].startswith("INC-1 declared (SEV2): Checkout down.")
    assert answers[0]["data"]["user"] == "U1"


async def test_a_refusal_is_answered_once_however_often_the_request_is_replayed(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    await runtime.desk.handle(WHERE, ALICE, "declare Queue stuck", None)
    for _ in range(2):
        await runtime.desk.handle(WHERE, ALICE, "done 99", "req-2", named=1)
    refusals = [m for m in await replies(runtime) if "no action item #99" in m["text"]]
    assert len(refusals) == 1


async def test_outside_an_incident_room_a_room_command_is_answered_as_neutral_data(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    await runtime.desk.handle(WHERE, ALICE, "status identified", "req-3")
    [answer] = await replies(runtime)
    assert answer["data"]["shows"] == "not_a_room"


async def test_the_list_reply_carries_snapshots_and_no_private_incident(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    await runtime.desk.handle(WHERE, ALICE, "declare Public one", None)
    await runtime.desk.handle(WHERE, ALICE, "declare Hidden one private", None)
    await runtime.desk.handle(WHERE, ALICE, "list", "req-4")
    answer = (await replies(runtime))[-1]
    assert answer["data"]["shows"] == "list"
    shown = {(i["title"], i["private"]) for i in answer["data"]["incidents"]}
    assert shown == {("Public one", False)}
    assert answer["data"]["private_hidden"] == 1
    assert "Hidden one" not in str(answer)


async def test_a_reply_that_cannot_be_planned_undoes_the_command_it_answers(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    await runtime.desk.handle(WHERE, ALICE, "declare Cache cold", None)

    def broken(_out: Outcome) -> ChatMessage:
        raise RuntimeError("renderer exploded")

    cmd = d.press_command(d.STATUS, "monitoring")
    with pytest.raises(RuntimeError):
        await runtime.desk.run(WHERE, 1, cmd, ALICE, "req-5", broken)
    assert (await runtime.service.get("default", 1)).status is Status.INVESTIGATING
    # Nothing was claimed either: the request can still be delivered and run.
    await runtime.desk.run(WHERE, 1, cmd, ALICE, "req-5", d.outcome_reply)
    assert (await runtime.service.get("default", 1)).status is Status.MONITORING
