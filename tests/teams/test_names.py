"""People are shown by name, not by their ``29:…`` Teams ids: timelines, replies, notices."""

from __future__ import annotations

from dataclasses import replace

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.repository import Repo
from integrations.teams import cards
from tests.teams import activities as act
from tests.teams.conftest import Harness
from tests.teams.test_commands import declare, in_room, replies

IDS = (act.ALICE.id, act.BOB.id)


def assert_names_not_ids(text: str) -> None:
    assert not [i for i in IDS if i in text], text


async def test_timeline_and_replies_name_people_instead_of_showing_their_ids(
    teams: Harness,
) -> None:
    inc = await declare(teams)
    room = (await teams.room(inc))["id"]
    assert await in_room(teams, inc, "commander @Bob Baker", mentions=(act.BOB,)) == 202
    [handover] = [t for t in replies(teams, room) if "Commander is now" in t]
    assert "Commander is now Bob Baker" in handover
    assert_names_not_ids(handover)

    assert await in_room(teams, inc, "timeline") == 202
    [timeline] = [t for t in replies(teams, room) if "timeline (last" in t]
    assert "Commander is now Alice Archer" in timeline
    assert "Commander is now Bob Baker" in timeline
    assert_names_not_ids(timeline)


async def test_a_change_made_outside_the_room_is_announced_there_by_name(teams: Harness) -> None:
    inc = await declare(teams)
    room = (await teams.room(inc))["id"]
    assert await teams.say(f"{inc.ref} status identified") == 202  # from Alice's 1:1 chat
    await teams.settle()
    [notice] = [t for t in replies(teams, room) if "Status changed" in t]
    assert "(by Alice Archer)" in notice
    assert_names_not_ids(notice)


async def test_a_button_press_without_a_sender_name_is_still_credited_by_name(
    teams: Harness,
) -> None:
    inc = await declare(teams)  # Teams showed us Alice's name here
    nameless = replace(act.ALICE, name="")
    body = await teams.click(
        cards.VERB_ACK,
        {"incident": inc.number, "card": "summary"},
        sender=nameless,
        conversation=act.personal_conversation(act.ALICE),
    )
    assert body["statusCode"] == 200
    detail = await teams.runtime.service.detail(inc.workspace, inc.number)
    [ack] = [e for e in detail.timeline if e.kind.value == "acknowledged"]
    assert ack.text == "Acknowledged by Alice Archer"


def test_with_names_replaces_whole_ids_only() -> None:
    names = {"29:1a": "Ann", "29:1ab": "Abe"}
    assert cards.with_names("29:1a and 29:1ab (by 29:1a)", names) == "Ann and Abe (by Ann)"
    assert cards.with_names("x29:1a 29:1ax", names) == "x29:1a 29:1ax"


async def test_cards_name_people_from_other_surfaces_through_the_people_directory(
    teams: Harness,
) -> None:
    # Declared on the web, commanded by a Slack user: Teams never saw either of them.
    rt = teams.runtime
    ws = rt.settings.workspace
    web_person, slack_user = "oidc:https://idp.test#sub-olive", "U0SAMSLACK"

    def cache(repo: Repo) -> None:
        repo.put_person(ws, slack_user, "Sam Slack", "slack", rt.clock.now())

    await rt.db.run(cache)
    declare = c.Declare(title="Checkout 500s", commander=slack_user)
    out = await rt.service.declare(ws, declare, Actor(web_person, "Olive Oidc"))
    await rt.service.execute(ws, out.incident.number, c.Acknowledge(), Actor(act.BOB.id, "Bob"))
    await teams.settle()
    shown = " ".join(call.card_text for call in teams.connector.posted + teams.connector.updated)
    assert "Sam Slack" in shown
    assert slack_user not in shown and web_person not in shown
