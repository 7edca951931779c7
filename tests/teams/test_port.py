"""The Teams port against the fake Bot Connector and Graph: rooms, messages, failure mapping."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ports import ChatMessage, DeliveryError, MessageRef, RoomRef
from integrations.teams.port import TeamsPort
from tests.fakes.bot_connector import FakeBotConnector, texts
from tests.fakes.fake_graph import FakeGraph
from tests.teams import activities as act
from tests.teams.conftest import Tokens, spec

SNAPSHOT = {
    "ref": "INC-7",
    "number": 7,
    "title": "Checkout *errors* [click](https://evil.example)",
    "severity": "SEV2",
    "severity_rank": 2,
    "status": "investigating",
    "is_open": True,
    "commander": act.ALICE.id,
    "summary": "",
    "declared_at": "2026-11-23T09:00:00Z",
    "url": "https://sitrep.example.com/incidents/7",
    "private": False,
}


async def test_open_room_starts_a_thread_in_the_incidents_channel(
    port: TeamsPort, connector: FakeBotConnector, tokens: Tokens
) -> None:
    room = await port.open_room(spec())
    [create] = connector.created
    assert create.body["isGroup"] is True
    assert create.body["channelData"]["channel"]["id"] == act.INCIDENTS_CHANNEL
    assert create.body["tenantId"] == act.TENANT
    assert create.body["bot"]["id"] == act.BOT
    assert "INC-7" in _card_text(create.body["activity"])
    assert create.authorization == "Bearer fake-bf-token"
    root = room.extra["root_id"]
    assert room.id == f"{act.INCIDENTS_CHANNEL};messageid={root}"
    assert room.extra["kind"] == "thread"
    assert "teams.microsoft.com/l/message/" in room.url
    assert ("https://api.botframework.com", ("https://api.botframework.com/.default",)) in (
        tokens.requests
    )


async def test_post_into_the_thread_and_update_in_place(
    port: TeamsPort, connector: FakeBotConnector
) -> None:
    room = await port.open_room(spec())
    ref = await port.post_message(
        room, ChatMessage("incident_summary", "x", {"incident": SNAPSHOT})
    )
    [post] = connector.posted
    assert post.conversation == room.id and post.activity_id is None
    assert ref.room_id == room.id and ref.id
    card = post.card
    assert card is not None and card["version"] == "1.5"
    # The commander is mentioned by id with their (escaped) display name.
    assert card["msteams"]["entities"][0]["mentioned"] == {
        "id": act.ALICE.id,
        "name": "Alice Archer",
    }
    updated = {**SNAPSHOT, "status": "identified"}
    await port.update_message(ref, ChatMessage("incident_summary", "x", {"incident": updated}))
    [put] = connector.updated
    assert put.conversation == room.id and put.activity_id == ref.id
    assert "identified" in put.card_text


async def test_broadcast_card_then_update_replies_in_its_chain(
    port: TeamsPort, connector: FakeBotConnector
) -> None:
    room = port.well_known_room("default", "broadcast")
    assert room is not None and room.id == act.BROADCAST_CHANNEL
    card = await port.post_message(room, ChatMessage("broadcast", "x", {"incident": SNAPSHOT}))
    assert card.room_id == act.BROADCAST_CHANNEL
    update = ChatMessage(
        "status_update",
        "u",
        {
            "incident": SNAPSHOT,
            "update": {
                "text": "Rolled back",
                "author": act.BOB.id,
                "at": "2026-11-23T09:30:00+00:00",
            },
        },
    )
    reply = await port.post_message(room, update, thread=card)
    assert reply.room_id == f"{act.BROADCAST_CHANNEL};messageid={card.id}"
    assert connector.posted[-1].conversation == reply.room_id
    assert "Rolled back" in connector.posted[-1].card_text
    assert port.well_known_room("default", "alerts") is not None


async def test_pin_is_a_no_op_and_bookmark_posts_a_link_card(
    port: TeamsPort, connector: FakeBotConnector
) -> None:
    room = await port.open_room(spec())
    await port.pin(MessageRef("teams", room.id, "1"))
    await port.bookmark(room, "Runbook", "javascript:alert(1)")
    assert connector.posted == []
    await port.bookmark(room, "Runbook", "https://runbooks.example.com/db")
    [post] = connector.posted
    assert post.card is not None
    assert post.card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open", "url": "https://runbooks.example.com/db"}
    ]


async def test_invite_in_a_thread_pages_people_with_mentions(
    port: TeamsPort, connector: FakeBotConnector
) -> None:
    room = await port.open_room(spec())
    await port.invite(room, [act.ALICE.id, "U123SLACK", "cli:ops", act.BOB.id])
    [post] = connector.posted
    assert post.card is not None
    mentioned = [e["mentioned"]["id"] for e in post.card["msteams"]["entities"]]
    assert mentioned == [act.ALICE.id, act.BOB.id]
    assert "<at>Alice Archer</at>" in post.card_text


async def test_set_topic_on_a_thread_does_nothing(
    port: TeamsPort, connector: FakeBotConnector, graph: FakeGraph
) -> None:
    room = await port.open_room(spec())
    await port.set_topic(room, "SEV2 · investigating")
    assert connector.posted == [] and graph.calls == []


@pytest.mark.parametrize(
    ("status", "headers", "permanent", "retry_after"),
    [
        (429, {"Retry-After": "7"}, False, 7.0),
        (503, {}, False, None),
        (500, {}, False, None),
        (404, {}, True, None),
        (403, {}, True, None),
        (400, {}, True, None),
    ],
)
async def test_connector_failures_map_to_delivery_errors(
    port: TeamsPort,
    connector: FakeBotConnector,
    status: int,
    headers: dict[str, str],
    permanent: bool,
    retry_after: float | None,
) -> None:
    room = RoomRef("teams", act.BROADCAST_CHANNEL, extra={"kind": "channel"})
    connector.fail(status, headers=headers)
    with pytest.raises(DeliveryError) as caught:
        await port.post_message(room, ChatMessage("notice", "hello"))
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after


async def test_wrong_token_and_unknown_message_are_permanent(
    port: TeamsPort, connector: FakeBotConnector
) -> None:
    room = RoomRef("teams", act.BROADCAST_CHANNEL, extra={"kind": "channel"})
    connector.token = "some-other-token"
    with pytest.raises(DeliveryError) as caught:
        await port.post_message(room, ChatMessage("notice", "hello"))
    assert caught.value.permanent and "401" in str(caught.value)
    connector.token = "fake-bf-token"
    with pytest.raises(DeliveryError) as missing:
        await port.update_message(
            MessageRef("teams", act.BROADCAST_CHANNEL, "999"), ChatMessage("notice", "x")
        )
    assert missing.value.permanent


async def test_unreachable_connector_is_transient(
    port: TeamsPort, connector: FakeBotConnector
) -> None:
    await connector.close()
    room = RoomRef("teams", act.BROADCAST_CHANNEL, extra={"kind": "channel"})
    with pytest.raises(DeliveryError) as caught:
        await port.post_message(room, ChatMessage("notice", "hello"))
    assert not caught.value.permanent


async def test_send_direct_opens_the_one_to_one_chat(
    port: TeamsPort, connector: FakeBotConnector
) -> None:
    ref = await port.send_direct("default", act.BOB.id, ChatMessage("notice", "psst"))
    [create] = connector.created
    assert create.body["isGroup"] is False
    assert create.body["members"] == [{"id": act.BOB.id}]
    assert connector.posted[0].conversation == ref.room_id
    with pytest.raises(DeliveryError) as caught:
        await port.send_direct("default", "U0SLACK", ChatMessage("notice", "psst"))
    assert caught.value.permanent


def _card_text(activity: dict[str, Any]) -> str:
    return " ".join(texts(activity["attachments"][0]["content"]))
