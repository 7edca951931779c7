"""After a crash, the Slack port finds what the dead process already posted, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.delivery import DELIVERY_KEY
from bot.ports import ChatMessage, MessageRef, RoomRef, RoomSpec
from integrations.slack.client import make_client
from integrations.slack.port import SlackPort
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as api:
        api.add_channel("incidents", members=[BOT_USER_ID])
        yield api


def port_for(fake: FakeSlackApi) -> SlackPort:
    """A fresh port, as a restarted process has: no cache of channel ids."""
    client = make_client("xoxb-test", fake.url)
    return SlackPort(client, broadcast_channel="incidents", alerts_channel="alerts")


async def post_as(
    port: SlackPort, key: str, room: RoomRef, thread: MessageRef | None = None
) -> MessageRef:
    token = DELIVERY_KEY.set(key)
    try:
        return await port.post_message(room, ChatMessage("notice", f"posted by {key}"), thread)
    finally:
        DELIVERY_KEY.reset(token)


async def test_a_restarted_port_finds_a_post_by_its_outbox_key(fake: FakeSlackApi) -> None:
    broadcast = port_for(fake).well_known_room("w", "broadcast")
    assert broadcast is not None
    posted = await post_as(port_for(fake), "k-1", broadcast)
    await post_as(port_for(fake), "k-2", broadcast)

    found = await port_for(fake).find_posted(broadcast, "k-1")

    assert found == posted
    assert await port_for(fake).find_posted(broadcast, "k-3") is None
    [history] = fake.calls_to("conversations.history")[-1:]
    assert history.args["include_all_metadata"] in (True, "true", "1")


async def test_a_post_in_a_thread_is_found_in_that_thread(fake: FakeSlackApi) -> None:
    port = port_for(fake)
    broadcast = port.well_known_room("w", "broadcast")
    assert broadcast is not None
    root = await post_as(port, "root", broadcast)
    reply = await post_as(port, "reply", broadcast, root)

    assert await port_for(fake).find_posted(broadcast, "reply", root) == reply
    assert await port_for(fake).find_posted(broadcast, "root", root) == root
    assert await port_for(fake).find_posted(broadcast, "other", root) is None


async def test_a_channel_the_bot_cannot_read_holds_nothing_of_ours(fake: FakeSlackApi) -> None:
    secret = fake.add_channel("secret", is_private=True, members=[])
    assert await port_for(fake).find_posted(RoomRef("slack", secret), "k-1") is None


async def test_posts_outside_the_outbox_carry_no_metadata(fake: FakeSlackApi) -> None:
    port = port_for(fake)
    channel = fake.add_channel("plain", members=[BOT_USER_ID])
    await port.post_message(RoomRef("slack", channel), ChatMessage("notice", "hello"))
    [message] = fake.messages(channel)
    assert message.metadata is None


async def test_a_retried_room_creation_adopts_the_channel_it_already_made(
    fake: FakeSlackApi,
) -> None:
    spec = RoomSpec("w", 7, "DB down", private=False)
    first = await port_for(fake).open_room(spec)  # its answer "lost": the retry runs anew

    again = await port_for(fake).open_room(spec)

    assert again.id == first.id
    assert [c.name for c in fake.channels() if c.name.startswith("inc-7")] == ["inc-7-db-down"]


async def test_a_name_taken_by_someone_else_still_moves_on(fake: FakeSlackApi) -> None:
    fake.add_channel("inc-8-db-down", members=[BOT_USER_ID])  # made by a person
    room = await port_for(fake).open_room(RoomSpec("w", 8, "DB down", private=False))
    assert room.name == "inc-8-db-down-2"
