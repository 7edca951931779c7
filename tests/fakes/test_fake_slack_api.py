"""The Slack fake behaves like Slack, as seen through the real slack_sdk client over HTTP."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import (
    ALICE,
    BOB,
    BOT_ID,
    BOT_USER_ID,
    CAROL,
    GENERAL_ID,
    FakeSlackApi,
    validate_blocks,
)
from tests.fakes.slack_signing import sign_slack_request

TOKEN = "xoxb-test-token"
TS = re.compile(r"^\d{10}\.\d{6}$")


class ManualClock:
    """A clock the test moves by hand, for rate-limit windows and trigger expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlackApi) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.url)


async def slack_error(call: Awaitable[Any]) -> SlackApiError:
    """Await ``call`` and return the SlackApiError it must raise."""
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


async def error_name(call: Awaitable[Any]) -> str:
    """The ``error`` field of the failed call's body."""
    return str((await slack_error(call)).response["error"])


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str, action_id: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}


# --------------------------------------------------------------------------- server and auth


async def test_url_ends_in_api_and_auth_test_names_the_bot(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", fake.url)
    resp = await client.auth_test()
    assert resp.status_code == 200
    assert resp["ok"] is True
    assert (resp["user_id"], resp["bot_id"], resp["team_id"]) == (BOT_USER_ID, BOT_ID, "T0001")
    assert resp["url"].startswith("https://")


async def test_missing_token_is_not_authed(fake: FakeSlackApi) -> None:
    anonymous = AsyncWebClient(base_url=fake.url)
    assert await error_name(anonymous.auth_test()) == "not_authed"


async def test_non_bot_token_is_invalid_auth(fake: FakeSlackApi) -> None:
    user_token = AsyncWebClient(token="xoxp-123", base_url=fake.url)
    err = await slack_error(user_token.chat_postMessage(channel=GENERAL_ID, text="hi"))
    assert err.response.status_code == 200
    assert err.response["error"] == "invalid_auth"
    assert fake.messages(GENERAL_ID) == []


async def test_configured_tokens_are_the_only_valid_ones() -> None:
    async with FakeSlackApi(valid_tokens={"xoxb-right"}) as fake:
        right = AsyncWebClient(token="xoxb-right", base_url=fake.url)
        wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake.url)
        assert (await right.auth_test())["ok"] is True
        assert await error_name(wrong.auth_test()) == "invalid_auth"


async def test_token_may_come_in_a_form_body_like_slack_allows(fake: FakeSlackApi) -> None:
    async with aiohttp.ClientSession() as session:
        form = {"token": TOKEN, "channel": GENERAL_ID, "text": "from a form"}
        async with session.post(fake.url + "chat.postMessage", data=form) as resp:
            body = await resp.json()
    assert body["ok"] is True
    assert [m.text for m in fake.messages(GENERAL_ID)] == ["from a form"]
    assert "token" not in fake.calls[-1].args


async def test_malformed_json_body_is_invalid_json(fake: FakeSlackApi) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake.url + "chat.postMessage",
            data=b"{not json",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        ) as resp,
    ):
        body = await resp.json()
    assert (resp.status, body) == (200, {"ok": False, "error": "invalid_json"})


async def test_unknown_method(client: AsyncWebClient) -> None:
    err = await slack_error(client.api_call("incidents.declare"))
    assert err.response["error"] == "unknown_method"


# --------------------------------------------------------------------------- conversations


async def test_create_public_and_private_channels(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    public = (await client.conversations_create(name="inc-42-db-down"))["channel"]
    private = (await client.conversations_create(name="inc-43", is_private=True))["channel"]
    assert public["id"].startswith("C") and public["id"] != private["id"]
    assert (public["name"], public["is_private"]) == ("inc-42-db-down", False)
    assert (private["name"], private["is_private"]) == ("inc-43", True)
    assert isinstance(public["created"], int)
    stored = fake.channel_by_name("#inc-42-db-down")
    assert stored is not None and stored.id == public["id"]
    # The creator (the bot) is a member of what it creates.
    assert fake.members(public["id"]) == [BOT_USER_ID]
    assert fake.members(private["id"]) == [BOT_USER_ID]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("a" * 81, "invalid_name_maxlength"),
        ("Inc-42", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc#42", "invalid_name_specials"),
        ("inc.42", "invalid_name_specials"),
        ("incidént", "invalid_name_specials"),
        ("--_-", "invalid_name_punctuation"),
        ("general", "name_taken"),
    ],
)
async def test_channel_name_rules(
    fake: FakeSlackApi, client: AsyncWebClient, name: str, error: str
) -> None:
    before = len(fake.channels())
    assert await error_name(client.conversations_create(name=name)) == error
    assert len(fake.channels()) == before


async def test_longest_allowed_name_is_80_characters(client: AsyncWebClient) -> None:
    name = "a" * 79 + "_"
    assert (await client.conversations_create(name=name))["channel"]["name"] == name


async def test_private_and_archived_names_stay_taken(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    fake.add_channel("secret", is_private=True, members=[ALICE])
    fake.add_channel("old-incident", is_archived=True)
    assert await error_name(client.conversations_create(name="secret")) == "name_taken"
    assert await error_name(client.conversations_create(name="old-incident")) == "name_taken"


async def test_invite_adds_members(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    channel_id = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    resp = await client.conversations_invite(channel=channel_id, users=[ALICE, BOB])
    assert resp["channel"]["id"] == channel_id
    assert fake.members(channel_id) == [BOT_USER_ID, ALICE, BOB]


async def test_inviting_a_member_again_is_already_in_channel(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    channel_id = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    await client.conversations_invite(channel=channel_id, users=ALICE)
    assert await error_name(client.conversations_invite(channel=channel_id, users=ALICE)) == (
        "already_in_channel"
    )


async def test_one_bad_user_fails_the_whole_invite_unless_forced(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    channel_id = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    await client.conversations_invite(channel=channel_id, users=ALICE)

    err = await slack_error(client.conversations_invite(channel=channel_id, users=[ALICE, BOB]))
    assert err.response["error"] == "already_in_channel"
    assert err.response["errors"] == [{"user": ALICE, "ok": False, "error": "already_in_channel"}]
    assert fake.members(channel_id) == [BOT_USER_ID, ALICE]

    resp = await client.conversations_invite(channel=channel_id, users=[ALICE, BOB], force=True)
    assert resp["errors"][0]["user"] == ALICE
    assert fake.members(channel_id) == [BOT_USER_ID, ALICE, BOB]


async def test_invite_errors(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    mine = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    not_mine = fake.add_channel("not-mine", members=[ALICE])
    hidden = fake.add_channel("hidden", is_private=True, members=[ALICE])

    assert await error_name(client.conversations_invite(channel=mine, users="U404")) == (
        "user_not_found"
    )
    assert await error_name(client.conversations_invite(channel=mine, users=BOT_USER_ID)) == (
        "cant_invite_self"
    )
    assert await error_name(client.conversations_invite(channel=not_mine, users=BOB)) == (
        "not_in_channel"
    )
    # Private channels the bot is not in look, to the bot, as if they did not exist.
    assert await error_name(client.conversations_invite(channel=hidden, users=BOB)) == (
        "channel_not_found"
    )
    assert await error_name(client.conversations_invite(channel="C404", users=BOB)) == (
        "channel_not_found"
    )
    assert fake.members(mine) == [BOT_USER_ID]


async def test_join_public_channel_only(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    public = fake.add_channel("ops", members=[ALICE])
    private = fake.add_channel("ops-private", is_private=True, members=[ALICE])
    resp = await client.conversations_join(channel=public)
    assert resp["channel"]["is_member"] is True
    assert fake.members(public) == [ALICE, BOT_USER_ID]
    again = await client.conversations_join(channel=public)
    assert again["warning"] == "already_in_channel"
    assert fake.members(public) == [ALICE, BOT_USER_ID]
    assert await error_name(client.conversations_join(channel=private)) == "channel_not_found"


async def test_set_topic_and_its_limit(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    channel_id = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    resp = await client.conversations_setTopic(channel=channel_id, topic="SEV1 | IC: alice")
    assert resp["channel"]["topic"]["value"] == "SEV1 | IC: alice"
    assert fake.topic(channel_id) == "SEV1 | IC: alice"

    assert (await client.conversations_setTopic(channel=channel_id, topic="x" * 250))["ok"]
    err = await error_name(client.conversations_setTopic(channel=channel_id, topic="y" * 251))
    assert err == "too_long"
    assert fake.topic(channel_id) == "x" * 250

    outside = fake.add_channel("elsewhere", members=[ALICE])
    assert await error_name(client.conversations_setTopic(channel=outside, topic="t")) == (
        "not_in_channel"
    )


async def test_info_and_members(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    channel_id = fake.add_channel("ops", members=[BOT_USER_ID, ALICE])
    info = await client.conversations_info(channel=channel_id, include_num_members=True)
    assert info["channel"]["name"] == "ops"
    assert info["channel"]["is_member"] is True
    assert info["channel"]["num_members"] == 2
    members = await client.conversations_members(channel=channel_id)
    assert members["members"] == [BOT_USER_ID, ALICE]
    assert await error_name(client.conversations_info(channel="C404")) == "channel_not_found"


async def test_list_paginates_with_cursors_and_hides_foreign_private_channels(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    for n in range(4):
        fake.add_channel(f"ops-{n}")
    mine = fake.add_channel("mine", is_private=True, members=[BOT_USER_ID])
    fake.add_channel("theirs", is_private=True, members=[ALICE])

    names: list[str] = []
    pages = 0
    async for page in await client.conversations_list(limit=2):
        pages += 1
        names += [c["name"] for c in page["channels"]]
    assert pages == 3
    assert names == ["general", "ops-0", "ops-1", "ops-2", "ops-3"]

    private = await client.conversations_list(types="private_channel")
    assert [c["id"] for c in private["channels"]] == [mine]
    assert await error_name(client.conversations_list(cursor="bogus")) == "invalid_cursor"


async def test_open_dm_is_stable_and_post_to_user_id_lands_there(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    first = await client.conversations_open(users=ALICE)
    second = await client.conversations_open(users=[ALICE])
    dm_id = first["channel"]["id"]
    assert dm_id.startswith("D")
    assert second["channel"]["id"] == dm_id
    assert second["already_open"] is True

    posted = await client.chat_postMessage(channel=ALICE, text="you are paged")
    assert posted["channel"] == dm_id
    assert [m.text for m in fake.messages(dm_id)] == ["you are paged"]

    group = await client.conversations_open(users=[ALICE, BOB])
    assert group["channel"]["id"].startswith("G")
    assert await error_name(client.conversations_open(users="U404")) == "user_not_found"


async def test_users_info(client: AsyncWebClient) -> None:
    user = (await client.users_info(user=CAROL))["user"]
    assert (user["id"], user["name"], user["tz"]) == (CAROL, "carol", "Asia/Tokyo")
    assert user["tz_offset"] == 9 * 3600
    assert await error_name(client.users_info(user="U404")) == "user_not_found"


async def test_seeded_users_are_visible(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    fake.add_user("U09DAVE", "dave", tz="Europe/Paris", email="dave@example.com")
    user = (await client.users_info(user="U09DAVE"))["user"]
    assert user["profile"]["email"] == "dave@example.com"
    assert user["tz"] == "Europe/Paris"


# --------------------------------------------------------------------------- messages


async def test_post_by_id_and_by_name(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    channel_id = fake.add_channel("incidents", members=[BOT_USER_ID])
    by_id = await client.chat_postMessage(channel=channel_id, text="one")
    by_name = await client.chat_postMessage(channel="incidents", text="two")
    by_hash = await client.chat_postMessage(channel="#incidents", text="three")
    assert {by_id["channel"], by_name["channel"], by_hash["channel"]} == {channel_id}
    stamps = [by_id["ts"], by_name["ts"], by_hash["ts"]]
    assert all(TS.match(ts) for ts in stamps)
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 3
    assert by_id["message"]["text"] == "one"
    assert by_id["message"]["bot_id"] == BOT_ID
    assert [m.text for m in fake.messages(channel_id)] == ["one", "two", "three"]


async def test_private_channels_cannot_be_addressed_by_name(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    fake.add_channel("war-room", is_private=True, members=[BOT_USER_ID])
    assert await error_name(client.chat_postMessage(channel="war-room", text="x")) == (
        "channel_not_found"
    )
    assert await error_name(client.chat_postMessage(channel="C404", text="x")) == (
        "channel_not_found"
    )


async def test_posting_to_a_public_channel_auto_joins_by_default(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    channel_id = fake.add_channel("announce", members=[ALICE])
    await client.chat_postMessage(channel=channel_id, text="hello")
    assert fake.members(channel_id) == [ALICE, BOT_USER_ID]


async def test_posting_without_membership_fails_when_auto_join_is_off() -> None:
    async with FakeSlackApi(auto_join_public=False) as fake:
        client = AsyncWebClient(token=TOKEN, base_url=fake.url)
        channel_id = fake.add_channel("announce", members=[ALICE])
        assert await error_name(client.chat_postMessage(channel=channel_id, text="x")) == (
            "not_in_channel"
        )
        assert fake.messages(channel_id) == []
        assert fake.members(channel_id) == [ALICE]


async def test_text_rules(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    # slack_sdk warns about the missing text before sending; the fake must still refuse it.
    with pytest.warns(UserWarning, match="text"):
        empty = await error_name(client.chat_postMessage(channel=GENERAL_ID, text=""))
    assert empty == "no_text"
    too_long = "x" * 40_001
    assert await error_name(client.chat_postMessage(channel=GENERAL_ID, text=too_long)) == (
        "msg_too_long"
    )
    assert (await client.chat_postMessage(channel=GENERAL_ID, text="x" * 40_000))["ok"]
    assert len(fake.messages(GENERAL_ID)) == 1


async def test_threads(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    parent = (await client.chat_postMessage(channel=GENERAL_ID, text="incident"))["ts"]
    reply = await client.chat_postMessage(channel=GENERAL_ID, text="update", thread_ts=parent)
    assert reply["message"]["thread_ts"] == parent
    # Replying to a reply files the message under the thread's root.
    nested = await client.chat_postMessage(channel=GENERAL_ID, text="again", thread_ts=reply["ts"])
    assert nested["message"]["thread_ts"] == parent
    assert [m.text for m in fake.thread(GENERAL_ID, parent)] == ["update", "again"]

    history = await client.conversations_history(channel=GENERAL_ID)
    assert [m["text"] for m in history["messages"]] == ["incident"]
    assert history["messages"][0]["reply_count"] == 2

    err = await error_name(
        client.chat_postMessage(channel=GENERAL_ID, text="lost", thread_ts="1600000000.000100")
    )
    assert err == "thread_not_found"
    assert len(fake.messages(GENERAL_ID)) == 3


async def test_unfurl_flags_and_blocks_are_stored(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    blocks = [section("*SEV1* database down", accessory=button("Ack", "ack"))]
    resp = await client.chat_postMessage(
        channel=GENERAL_ID, text="SEV1", blocks=blocks, unfurl_links=False
    )
    stored = fake.message(GENERAL_ID, resp["ts"])
    assert stored is not None
    assert stored.blocks == blocks
    assert stored.unfurl_links is False
    assert resp["message"]["blocks"] == blocks


async def test_posting_twice_makes_two_messages(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel=GENERAL_ID, text="same")
    second = await client.chat_postMessage(channel=GENERAL_ID, text="same")
    assert first["ts"] != second["ts"]
    assert [m.text for m in fake.messages(GENERAL_ID)] == ["same", "same"]


async def test_update_changes_stored_content(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel=GENERAL_ID, text="investigating"))["ts"]
    resp = await client.chat_update(
        channel=GENERAL_ID, ts=ts, text="resolved", blocks=[section("*resolved*")]
    )
    assert (resp["ts"], resp["text"]) == (ts, "resolved")
    [message] = fake.messages(GENERAL_ID)
    assert message.text == "resolved"
    assert message.blocks == [section("*resolved*")]
    assert message.edited_ts is not None


async def test_text_only_update_keeps_old_blocks_as_slack_does(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    ts = (await client.chat_postMessage(channel=GENERAL_ID, text="old", blocks=[section("old")]))[
        "ts"
    ]
    await client.chat_update(channel=GENERAL_ID, ts=ts, text="new")
    message = fake.message(GENERAL_ID, ts)
    assert message is not None
    assert (message.text, message.blocks) == ("new", [section("old")])
    await client.chat_update(channel=GENERAL_ID, ts=ts, text="new", blocks=[])
    message = fake.message(GENERAL_ID, ts)
    assert message is not None and message.blocks is None


async def test_update_errors(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    human = fake.add_message(GENERAL_ID, "I am a human", user=ALICE)
    assert await error_name(client.chat_update(channel=GENERAL_ID, ts=human, text="x")) == (
        "cant_update_message"
    )
    missing = "1700000999.000100"
    assert await error_name(client.chat_update(channel=GENERAL_ID, ts=missing, text="x")) == (
        "message_not_found"
    )
    message = fake.message(GENERAL_ID, human)
    assert message is not None and message.text == "I am a human"


async def test_ephemeral(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    resp = await client.chat_postEphemeral(channel=GENERAL_ID, user=ALICE, text="only you")
    assert TS.match(resp["message_ts"])
    [sent] = fake.ephemerals(GENERAL_ID)
    assert (sent.user, sent.text) == (ALICE, "only you")
    assert fake.messages(GENERAL_ID) == []
    outsider = fake.add_channel("ops", members=[BOT_USER_ID])
    assert await error_name(client.chat_postEphemeral(channel=outsider, user=ALICE, text="x")) == (
        "user_not_in_channel"
    )


async def test_permalinks(client: AsyncWebClient) -> None:
    parent = (await client.chat_postMessage(channel=GENERAL_ID, text="p"))["ts"]
    reply = (await client.chat_postMessage(channel=GENERAL_ID, text="r", thread_ts=parent))["ts"]
    link = (await client.chat_getPermalink(channel=GENERAL_ID, message_ts=parent))["permalink"]
    assert link == f"https://fake.slack.com/archives/{GENERAL_ID}/p{parent.replace('.', '')}"
    reply_link = (await client.chat_getPermalink(channel=GENERAL_ID, message_ts=reply))["permalink"]
    assert reply_link.endswith(f"?thread_ts={parent}&cid={GENERAL_ID}")
    missing = client.chat_getPermalink(channel=GENERAL_ID, message_ts="1600000000.000100")
    assert await error_name(missing) == "message_not_found"


async def test_pins(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel=GENERAL_ID, text="pin me"))["ts"]
    assert (await client.pins_add(channel=GENERAL_ID, timestamp=ts))["ok"] is True
    assert fake.pins(GENERAL_ID) == [ts]
    assert await error_name(client.pins_add(channel=GENERAL_ID, timestamp=ts)) == ("already_pinned")
    assert await error_name(client.pins_add(channel=GENERAL_ID, timestamp="1600000000.000100")) == (
        "message_not_found"
    )
    assert await error_name(client.pins_add(channel=GENERAL_ID)) == "no_item_specified"
    listed = await client.pins_list(channel=GENERAL_ID)
    assert [item["message"]["ts"] for item in listed["items"]] == [ts]
    assert fake.pins(GENERAL_ID) == [ts]


async def test_bookmarks(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    resp = await client.bookmarks_add(
        channel_id=GENERAL_ID, title="Runbook", type="link", link="https://runbooks/db"
    )
    bookmark = resp["bookmark"]
    assert bookmark["id"].startswith("Bk")
    assert (bookmark["title"], bookmark["link"], bookmark["type"]) == (
        "Runbook",
        "https://runbooks/db",
        "link",
    )
    [stored] = fake.bookmarks(GENERAL_ID)
    assert stored.id == bookmark["id"]
    bad_type = client.bookmarks_add(channel_id=GENERAL_ID, title="x", type="file", link="https://x")
    assert await error_name(bad_type) == "invalid_bookmark_type"
    missing = client.bookmarks_add(channel_id="C404", title="x", type="link", link="https://x")
    assert await error_name(missing) == "channel_not_found"
    assert len(fake.bookmarks(GENERAL_ID)) == 1


# --------------------------------------------------------------------------- Block Kit limits


async def test_valid_rich_message_is_accepted(client: AsyncWebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "SEV1: database down"}},
        section("Impact: checkout", fields=[{"type": "mrkdwn", "text": "*IC*\n<@U01ALICE>"}]),
        {"type": "divider"},
        {"type": "actions", "elements": [button("Ack", "ack"), button("Resolve", "resolve")]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "declared by sitrep"}]},
    ]
    assert (await client.chat_postMessage(channel=GENERAL_ID, text="SEV1", blocks=blocks))["ok"]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section(f"b{i}") for i in range(51)], "/blocks]"),
        ([section("x" * 3001)], "/blocks/0/text/text]"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "/blocks/0/text/type]"),
        (
            [{"type": "actions", "elements": [button("A", "same"), button("B", "same")]}],
            "/blocks/0/elements/1/action_id]",
        ),
        (
            [
                section("a", accessory=button("A", "dup")),
                section("b", accessory=button("B", "dup")),
            ],
            "/blocks/1/accessory/action_id]",
        ),
        ([{"type": "actions", "elements": [button("b" * 76, "long")]}], "/elements/0/text/text]"),
        ([{"type": "sectoin", "text": {"type": "mrkdwn", "text": "typo"}}], "/blocks/0/type]"),
    ],
)
async def test_invalid_blocks_are_rejected(
    fake: FakeSlackApi, client: AsyncWebClient, blocks: list[dict[str, Any]], pointer: str
) -> None:
    err = await slack_error(client.chat_postMessage(channel=GENERAL_ID, text="x", blocks=blocks))
    assert err.response["error"] == "invalid_blocks"
    assert any(pointer in e for e in err.response["errors"]), err.response["errors"]
    assert fake.messages(GENERAL_ID) == []


async def test_limits_at_the_edge_are_accepted(client: AsyncWebClient) -> None:
    blocks = [section(f"b{i}") for i in range(49)]
    blocks.append({"type": "actions", "elements": [button("b" * 75, "edge")]})
    blocks[0] = section("x" * 3000)
    resp = await client.chat_postMessage(channel=GENERAL_ID, text="edge", blocks=blocks)
    assert resp["ok"] is True


async def test_blocks_sent_as_a_json_string_in_a_form_are_decoded(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    blocks = [section("form")]
    form = {"channel": GENERAL_ID, "text": "f", "blocks": json.dumps(blocks)}
    resp = await client.api_call("chat.postMessage", data=form)
    assert resp["ok"] is True
    assert fake.calls[-1].args["blocks"] == blocks
    message = fake.message(GENERAL_ID, resp["ts"])
    assert message is not None and message.blocks == blocks
    bad = {"channel": GENERAL_ID, "text": "f", "blocks": "{broken"}
    assert await error_name(client.api_call("chat.postMessage", data=bad)) == (
        "invalid_blocks_format"
    )


def test_validate_blocks_is_usable_offline() -> None:
    assert validate_blocks([section("fine")]) == []
    assert validate_blocks([section("")]) != []


# --------------------------------------------------------------------------- views


MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title"},
        }
    ],
}


async def test_views_open_and_update(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    opened = (await client.views_open(trigger_id=fake.mint_trigger_id(), view=MODAL))["view"]
    assert opened["id"].startswith("V")
    assert opened["title"]["text"] == "Declare incident"
    updated_view = {**MODAL, "title": {"type": "plain_text", "text": "Declared"}}
    updated = await client.views_update(
        view_id=opened["id"], view=updated_view, hash=opened["hash"]
    )
    assert updated["view"]["title"]["text"] == "Declared"
    stale = client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])
    assert await error_name(stale) == "hash_conflict"
    assert await error_name(client.views_update(view_id="V404", view=MODAL)) == "not_found"
    [view] = fake.views()
    assert view.body["title"]["text"] == "Declared"


async def test_trigger_id_rules() -> None:
    clock = ManualClock()
    async with FakeSlackApi(clock=clock) as fake:
        client = AsyncWebClient(token=TOKEN, base_url=fake.url)
        assert await error_name(client.views_open(view=MODAL)) == "invalid_trigger_id"
        assert await error_name(client.views_open(trigger_id="abc", view=MODAL)) == (
            "invalid_trigger_id"
        )
        trigger = fake.mint_trigger_id()
        await client.views_open(trigger_id=trigger, view=MODAL)
        assert await error_name(client.views_open(trigger_id=trigger, view=MODAL)) == (
            "exchanged_trigger_id"
        )
        late = fake.mint_trigger_id()
        clock.now += 3.5
        assert await error_name(client.views_open(trigger_id=late, view=MODAL)) == (
            "expired_trigger_id"
        )
        # A well-formed trigger the fake did not mint (e.g. from a recorded payload) works.
        assert (await client.views_open(trigger_id="12345.98765.abcd2358fdea", view=MODAL))["ok"]
        assert len(fake.views()) == 2


async def test_invalid_view_is_invalid_arguments(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}
    err = await slack_error(client.views_open(trigger_id=fake.mint_trigger_id(), view=long_title))
    assert err.response["error"] == "invalid_arguments"
    assert any("/view/title" in m for m in err.response["response_metadata"]["messages"])
    no_submit = {key: value for key, value in MODAL.items() if key != "submit"}
    trigger = fake.mint_trigger_id()
    assert await error_name(client.views_open(trigger_id=trigger, view=no_submit)) == (
        "invalid_arguments"
    )
    # A rejected call does not use up its trigger.
    assert (await client.views_open(trigger_id=trigger, view=MODAL))["ok"]


async def test_views_publish_home_tab(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [section("Open incidents: 0")]}
    first = (await client.views_publish(user_id=ALICE, view=home))["view"]
    second = (await client.views_publish(user_id=ALICE, view=home))["view"]
    assert first["id"] == second["id"] and first["hash"] != second["hash"]
    published = fake.home_view(ALICE)
    assert published is not None and published.body["blocks"] == home["blocks"]
    assert await error_name(client.views_publish(user_id="U404", view=home)) == "user_not_found"
    assert await error_name(client.views_publish(user_id=ALICE, view=MODAL)) == (
        "invalid_arguments"
    )


# --------------------------------------------------------------------------- rate limits


async def test_rate_limit_window_answers_429_with_retry_after() -> None:
    clock = ManualClock()
    async with FakeSlackApi(clock=clock) as fake:
        client = AsyncWebClient(token=TOKEN, base_url=fake.url)
        fake.set_rate_limit("chat.postMessage", per_minute=2)
        await client.chat_postMessage(channel=GENERAL_ID, text="1")
        clock.now += 15
        await client.chat_postMessage(channel=GENERAL_ID, text="2")
        err = await slack_error(client.chat_postMessage(channel=GENERAL_ID, text="3"))
        assert err.response.status_code == 429
        assert err.response["error"] == "ratelimited"
        assert err.response.headers["Retry-After"] == "45"
        # Other methods have their own budget.
        assert (await client.auth_test())["ok"] is True
        clock.now += 45
        await client.chat_postMessage(channel=GENERAL_ID, text="4")
        assert [m.text for m in fake.messages(GENERAL_ID)] == ["1", "2", "4"]
        assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 200, 429, 200]


async def test_channel_rate_limit_paces_each_channel_on_its_own() -> None:
    clock = ManualClock()
    async with FakeSlackApi(clock=clock) as fake:
        client = AsyncWebClient(token=TOKEN, base_url=fake.url)
        other = fake.add_channel("other", members=[ALICE])
        fake.set_channel_rate_limit("chat.postMessage", calls=2, seconds=3.0)
        await client.chat_postMessage(channel=GENERAL_ID, text="1")
        await client.chat_postMessage(channel=GENERAL_ID, text="2")
        err = await slack_error(client.chat_postMessage(channel=GENERAL_ID, text="3"))
        assert err.response.status_code == 429
        assert err.response.headers["Retry-After"] == "3"
        # Another channel has its own budget.
        await client.chat_postMessage(channel=other, text="elsewhere")
        clock.now += 3
        await client.chat_postMessage(channel=GENERAL_ID, text="4")
        assert [m.text for m in fake.messages(GENERAL_ID)] == ["1", "2", "4"]


async def test_rate_limit_next_is_honoured_by_slack_sdk_retry_handler(
    fake: FakeSlackApi,
) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=fake.url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.rate_limit_next("chat.postMessage", retry_after=0)
    resp = await client.chat_postMessage(channel=GENERAL_ID, text="eventually")
    assert resp["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert len(fake.messages(GENERAL_ID)) == 1


# --------------------------------------------------------------------------- faults


async def test_fail_next_returns_5xx_and_changes_nothing(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    fake.fail_next("conversations.create", 2, status=503)
    for _ in range(2):
        err = await slack_error(client.conversations_create(name="inc-9"))
        assert err.response.status_code == 503
    assert fake.channel_by_name("inc-9") is None
    assert (await client.conversations_create(name="inc-9"))["ok"] is True
    assert [c.fault for c in fake.calls_to("conversations.create")] == [
        "fail_next",
        "fail_next",
        None,
    ]


async def test_fail_next_without_method_hits_any_method(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    fake.fail_next(None)
    err = await slack_error(client.users_info(user=ALICE))
    assert err.response.status_code == 500
    assert (await client.users_info(user=ALICE))["ok"] is True


async def test_random_faults_are_seeded_and_leave_no_state() -> None:
    outcomes: list[list[int]] = []
    for _ in range(2):
        async with FakeSlackApi() as fake:
            client = AsyncWebClient(token=TOKEN, base_url=fake.url)
            fake.faults(0.5, kinds=("500", "429"), seed=7)
            posted = 0
            for i in range(20):
                try:
                    await client.chat_postMessage(channel=GENERAL_ID, text=str(i))
                    posted += 1
                except SlackApiError as exc:
                    assert exc.response.status_code in (500, 429)
            statuses = [c.status for c in fake.calls]
            assert 0 < posted < 20
            assert len(fake.messages(GENERAL_ID)) == posted == statuses.count(200)
            assert all(c.fault for c in fake.calls if c.status != 200)
            outcomes.append(statuses)
    assert outcomes[0] == outcomes[1]


async def test_faults_can_target_methods(fake: FakeSlackApi, client: AsyncWebClient) -> None:
    fake.faults(1.0, kinds=("502",), methods=["pins.add"])
    ts = (await client.chat_postMessage(channel=GENERAL_ID, text="x"))["ts"]
    err = await slack_error(client.pins_add(channel=GENERAL_ID, timestamp=ts))
    assert err.response.status_code == 502
    assert fake.pins(GENERAL_ID) == []
    fake.clear_faults()
    assert (await client.pins_add(channel=GENERAL_ID, timestamp=ts))["ok"] is True


async def test_slow_fault_times_the_client_out_and_does_nothing(fake: FakeSlackApi) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=fake.url, timeout=1)
    fake.faults(1.0, kinds=("slow",), slow_seconds=1.5)
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel=GENERAL_ID, text="never")
    await asyncio.sleep(0.8)
    [call] = fake.calls
    assert (call.fault, call.status) == ("slow", 503)
    assert fake.messages(GENERAL_ID) == []


async def test_delay_slows_calls_that_still_take_effect(fake: FakeSlackApi) -> None:
    fake.delay(0.3)
    client = AsyncWebClient(token=TOKEN, base_url=fake.url)
    started = time.monotonic()
    await client.chat_postMessage(channel=GENERAL_ID, text="slow but fine")
    assert time.monotonic() - started >= 0.3

    # A client that gives up still leaves the call applied: the ambiguous outcome of a timeout.
    fake.delay(1.5)
    impatient = AsyncWebClient(token=TOKEN, base_url=fake.url, timeout=1)
    with pytest.raises(TimeoutError):
        await impatient.chat_postMessage(channel=GENERAL_ID, text="did it post?")
    await asyncio.sleep(0.8)
    assert [m.text for m in fake.messages(GENERAL_ID)] == ["slow but fine", "did it post?"]


# --------------------------------------------------------------------------- call record


async def test_calls_are_recorded_with_args_status_and_response(
    fake: FakeSlackApi, client: AsyncWebClient
) -> None:
    blocks = [section("hi")]
    resp = await client.chat_postMessage(channel=GENERAL_ID, text="hi", blocks=blocks)
    await error_name(client.conversations_create(name="Bad Name"))
    assert fake.called("chat.postMessage") and not fake.called("pins.add")
    [post] = fake.calls_to("chat.postMessage")
    assert post.args == {"channel": GENERAL_ID, "text": "hi", "blocks": blocks}
    assert (post.status, post.ok, post.response["ts"]) == (200, True, resp["ts"])
    [create] = fake.calls_to("conversations.create")
    assert create.ok is False
    assert create.response == {"ok": False, "error": "invalid_name_specials"}


# --------------------------------------------------------------------------- request signing


def test_signature_is_accepted_by_slack_sdk_verifier() -> None:
    body = b"token=x&team_id=T0001&command=%2Fincident&text=declare+sev1"
    headers = sign_slack_request("s3cret", body)
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, headers)
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert not verifier.is_valid_request(body + b"x", headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)


def test_signature_uses_the_given_timestamp() -> None:
    body = b'{"type":"url_verification"}'
    headers = sign_slack_request("s3cret", body, timestamp=1_700_000_000)
    assert headers["X-Slack-Request-Timestamp"] == "1700000000"
    assert headers != sign_slack_request("s3cret", body, timestamp=1_700_000_001)
    verifier = SignatureVerifier("s3cret", clock=_FixedClock(1_700_000_100))
    assert verifier.is_valid_request(body, headers)


class _FixedClock(Clock):
    """slack_sdk's verifier rejects stale timestamps; pin its notion of now."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now
