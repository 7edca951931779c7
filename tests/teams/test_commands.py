"""Typed commands over real HTTP: @mention in a channel, or a 1:1 chat; replies via the outbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.chatops import grammar as g
from bot.domain.model import Incident, Status
from tests.teams import activities as act
from tests.teams.conftest import Harness


def top_level(root: str | None = None) -> dict[str, Any]:
    """A new post in the incidents channel (its own reply chain)."""
    return act.channel_conversation(act.INCIDENTS_CHANNEL, root or act.next_id())


async def declare(
    teams: Harness, text: str = "incident declare Checkout errors sev2", **kwargs: Any
) -> Incident:
    kwargs.setdefault("conversation", top_level())
    assert await teams.say(text, **kwargs) == 202
    await teams.settle()
    incidents = await teams.incidents()
    assert incidents, "nothing declared"
    return incidents[0]


async def in_room(teams: Harness, incident: Incident, text: str, **kwargs: Any) -> int:
    """Say something in the incident's thread."""
    room = await teams.room(incident)
    channel, _, root = room["id"].partition(";messageid=")
    status = await teams.say(text, conversation=act.channel_conversation(channel, root), **kwargs)
    await teams.settle()
    return status


def replies(teams: Harness, conversation: str) -> list[str]:
    return [c.card_text for c in teams.connector.posted_to(conversation)]


async def test_declare_in_the_channel_starts_a_thread_and_announces_it(teams: Harness) -> None:
    asked_in = top_level()
    inc = await declare(teams, conversation=asked_in)
    assert (inc.title, inc.severity, inc.origin) == ("Checkout errors", "SEV2", "teams")
    assert inc.declared_by == act.ALICE.id and inc.commander == act.ALICE.id

    # The room: a new thread in the incidents channel, started proactively.
    [create] = teams.connector.created
    assert create.body["channelData"]["channel"]["id"] == act.INCIDENTS_CHANNEL
    room = await teams.room(inc)
    assert room["extra"]["kind"] == "thread"
    assert room["id"] == f"{act.INCIDENTS_CHANNEL};messageid={room['extra']['root_id']}"

    # In the thread: the paging mention and the summary card with its actions.
    in_thread = teams.connector.posted_to(room["id"])
    summary = [
        c
        for c in in_thread
        if c.card and c.card.get("actions") and c.card["actions"][0]["title"] == "Acknowledge"
    ]
    assert len(summary) == 1
    assert (await teams.ref(inc, "summary")) is not None

    # Stakeholders: one broadcast card, top level in the broadcast channel.
    [broadcast] = teams.connector.posted_to(act.BROADCAST_CHANNEL)
    assert "Checkout errors" in broadcast.card_text

    # The person who asked hears back where they asked.
    [reply] = replies(teams, asked_in["id"])
    assert "INC-1 declared (SEV2)" in reply
    assert all(c.authorization == "Bearer fake-bf-token" for c in teams.connector.calls)


async def test_the_same_activity_delivered_twice_declares_once(teams: Harness) -> None:
    asked_in = top_level()
    activity = act.message(
        "incident declare Twice", service_url=teams.service_url, conversation=asked_in
    )
    assert (await teams.post(activity))[0] == 202
    assert (await teams.post(activity))[0] == 202
    await teams.settle()
    assert len(await teams.incidents()) == 1
    assert len(teams.connector.created) == 1
    assert len(replies(teams, asked_in["id"])) == 1


async def test_room_commands_change_the_incident_and_update_the_card_in_place(
    teams: Harness,
) -> None:
    inc = await declare(teams)
    summary_ref = await teams.ref(inc, "summary")
    assert summary_ref is not None
    room = await teams.room(inc)
    before = len(teams.connector.updated)

    assert await in_room(teams, inc, "status identified") == 202
    assert await in_room(teams, inc, "sev sev1") == 202
    assert await in_room(teams, inc, "commander @Bob Baker", mentions=(act.BOB,)) == 202
    assert await in_room(teams, inc, "update Rolled back the deploy; errors falling") == 202
    assert await in_room(teams, inc, "note Cache hit ratio dropped at 09:02") == 202
    assert await in_room(teams, inc, "action Add an alert on checkout 5xx") == 202

    now = (await teams.incidents())[0]
    assert now.status is Status.IDENTIFIED
    assert now.severity == "SEV1"
    assert now.commander == act.BOB.id
    assert now.last_update_at is not None
    detail = await teams.runtime.service.detail(now.workspace, now.number)
    kinds = [e.kind.value for e in detail.timeline]
    assert "note" in kinds and "action_item_added" in kinds
    assert [i.text for i in detail.action_items] == ["Add an alert on checkout 5xx"]

    # The summary card was replaced in place (PUT), not reposted.
    puts = [c for c in teams.connector.updated[before:] if c.activity_id == summary_ref["id"]]
    assert puts, "summary card never updated"
    assert "identified" in puts[-1].card_text and "SEV1" in puts[-1].card_text
    assert "Bob Baker" in puts[-1].card_text
    # The stakeholder update went to the room and under the broadcast card.
    broadcast = await teams.ref(inc, "broadcast")
    assert broadcast is not None
    chain = f"{act.BROADCAST_CHANNEL};messageid={broadcast['id']}"
    assert any("Rolled back the deploy" in t for t in replies(teams, chain))
    assert any("Rolled back the deploy" in t for t in replies(teams, room["id"]))
    # Bob was paged into the thread when he became commander.
    assert any(
        e["mentioned"]["id"] == act.BOB.id
        for c in teams.connector.posted_to(room["id"])
        if c.card
        for e in c.card["msteams"].get("entities", [])
    )

    assert await in_room(teams, inc, "resolve Fixed by rollback") == 202
    done = (await teams.incidents())[0]
    assert done.status is Status.RESOLVED


async def test_commands_work_in_a_one_to_one_chat_by_naming_the_incident(
    teams: Harness,
) -> None:
    await declare(teams, "incident declare Queue backlog", conversation=None)
    personal = act.ALICE.personal
    assert any("INC-1 declared" in t for t in replies(teams, personal))
    assert await teams.say("INC-1 status monitoring") == 202
    await teams.settle()
    assert (await teams.incidents())[0].status is Status.MONITORING
    assert any("monitoring" in t.lower() for t in replies(teams, personal))


async def test_list_and_help(teams: Harness) -> None:
    await declare(teams, "incident declare First one")
    await declare(teams, "incident declare Second one")
    assert await teams.say("list") == 202
    assert await teams.say("help") == 202
    await teams.settle()
    texts = replies(teams, act.ALICE.personal)
    listing = next(t for t in texts if "First one" in t)
    assert "Second one" in listing and "INC-2" in listing
    assert any("incident declare" in t.lower() or "declare" in t for t in texts[1:])


async def test_room_commands_outside_a_room_say_where_to_run_them(teams: Harness) -> None:
    assert await teams.say("status identified") == 202
    await teams.settle()
    [answer] = replies(teams, act.ALICE.personal)
    assert "isn't an incident room" in answer


async def test_refusals_are_answered_not_swallowed(teams: Harness) -> None:
    inc = await declare(teams)
    assert await in_room(teams, inc, "status closed") == 202  # not allowed from investigating
    room = await teams.room(inc)
    assert any("cannot move from investigating to closed" in t for t in replies(teams, room["id"]))
    assert await teams.say("INC-99 status identified") == 202
    await teams.settle()
    assert any("INC-99 not found" in t for t in replies(teams, act.ALICE.personal))


async def test_bot_added_to_a_team_says_hello_in_that_channel(teams: Harness) -> None:
    conv = {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": act.TENANT,
        "id": act.INCIDENTS_CHANNEL,
    }
    activity = act.bot_added(
        service_url=teams.service_url, conversation=conv, channel=act.INCIDENTS_CHANNEL
    )
    assert (await teams.post(activity))[0] == 202
    await teams.settle()
    [hello] = teams.connector.posted_to(act.INCIDENTS_CHANNEL)
    assert "I'm sitrep" in hello.card_text


class TestServiceUrlIsLearnt:
    """The configured global endpoint is unreachable; the inbound activity teaches the real one."""

    @pytest.fixture
    def settings_overrides(self, settings_overrides: dict[str, Any]) -> dict[str, Any]:
        return {**settings_overrides, "teams_service_url": "http://127.0.0.1:9/unreachable/"}

    async def test_proactive_sends_use_the_service_url_from_inbound_activities(
        self, teams: Harness
    ) -> None:
        inc = await declare(teams)
        assert teams.connector.created, "thread creation did not use the learnt service URL"
        assert (await teams.room(inc))["extra"]["kind"] == "thread"


async def test_unknown_commands_get_the_help_without_trusting_the_text(teams: Harness) -> None:
    assert await teams.say("dance [now](https://evil.example)") == 202
    await teams.settle()
    [answer] = teams.connector.posted_to(act.ALICE.personal)
    assert answer.card is not None
    quoted, *help_blocks = answer.card["body"]
    assert quoted["type"] == "RichTextBlock"  # the user's words: never markdown
    assert "evil.example" in quoted["inlines"][0]["text"]
    assert help_blocks[0].get("separator") is True
    assert all(b["type"] == "RichTextBlock" for b in help_blocks)
    assert "evil" not in json.dumps(help_blocks)
    assert any(line.startswith("declare <title> [sev1-4]") for line in lines_of(help_blocks))


async def test_action_items_take_a_mentioned_owner_and_maintenance_works_too(
    teams: Harness,
) -> None:
    inc = await declare(teams)
    status = await in_room(
        teams, inc, "action Add a 5xx alert @Bob Baker due 2026-12-01", mentions=(act.BOB,)
    )
    assert status == 202
    detail = await teams.runtime.service.detail(inc.workspace, inc.number)
    [item] = detail.action_items
    assert (item.text, item.owner) == ("Add a 5xx alert", act.BOB.id)
    assert item.due is not None and item.due.date().isoformat() == "2026-12-01"

    assert await teams.say("maintenance 2h service=checkout deploying") == 202
    await teams.settle()
    answer = replies(teams, act.ALICE.personal)[-1]
    assert "Maintenance window #1" in answer and "service=checkout" in answer
    rt = teams.runtime
    [window] = await rt.db.run(lambda repo: repo.alerts.windows(inc.workspace, rt.clock.now()))
    assert [(m.name, m.op, m.value) for m in window.matchers] == [("service", "=", "checkout")]
    assert window.reason == "deploying"


def lines_of(blocks: list[dict[str, Any]]) -> list[str]:
    """What each block shows, one entry per block (TextRuns are shown literally)."""
    return ["".join(run["text"] for run in b["inlines"]) for b in blocks]


async def test_help_shows_placeholders_literally_one_line_per_block(teams: Harness) -> None:
    assert await teams.say("help") == 202
    await teams.settle()
    [answer] = teams.connector.posted_to(act.ALICE.personal)
    assert answer.card is not None
    blocks = answer.card["body"]
    # No markdown TextBlock: Teams reads "<title>" there as an HTML tag and drops it.
    assert {b["type"] for b in blocks} == {"RichTextBlock"}
    shown = lines_of(blocks)
    assert "declare <title> [sev1-4] [private] · declare an incident and open its room" in shown[2]
    assert "status <" in " ".join(shown) and "`" not in " ".join(shown)
    # Every line of the help is a block of its own, in order (blank lines are gaps).
    assert shown == [line.replace("`", "") for line in g.HELP_TEXT.splitlines() if line.strip()]
    commands = [r for r in blocks[2]["inlines"] if r.get("weight") == "Bolder"]
    assert commands and commands[0]["text"] == "declare <title> [sev1-4] [private]"
