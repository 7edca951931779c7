"""``/incident search`` in chat: the grammar, the desk's neutral reply (at most five results,
private incidents only in a reply nobody else reads), and its rendering in Slack blocks and
Teams cards with every piece of incident text escaped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.chatops import desk as d
from bot.chatops import grammar as g
from bot.domain.decide import Actor
from bot.outbox_types import OutboxRecord
from bot.ports import ChatMessage, RoomRef
from bot.runtime import Runtime
from integrations.slack.blocks import render
from integrations.teams.port import render_message
from tests.fakes.slack_api import validate_blocks
from tests.teams.test_cards import textblocks

ALICE = Actor("U1", "alice")
EPHEMERAL = d.Where("slack", RoomRef("slack", "C1"), private_to="U1")
CHANNEL = d.Where("teams", RoomRef("teams", "19:chan"))
HOSTILE = "<!channel> @here <at>Everyone</at> [phish](https://evil.example) *bold* &amp;"


def test_search_and_find_parse_the_rest_verbatim() -> None:
    assert g.parse('search "db pool" conn*') == g.Search('"db pool" conn*')
    assert g.parse("/incident find timeout") == g.Search("timeout")
    with pytest.raises(g.GrammarError) as exc:
        g.parse("search   ")
    assert exc.value.usage.startswith("search <")
    assert "search <words>" in g.HELP_TEXT


async def replies(runtime: Runtime) -> list[dict[str, Any]]:
    rows: list[OutboxRecord] = await runtime.desk.service.read(
        lambda repo: repo.list_outbox(limit=500)
    )
    messages = [r.payload["message"] for r in rows if r.ordering_key.startswith("reply:")]
    return list(reversed(messages))


async def test_the_reply_shows_five_results_with_links_and_marked_snippets(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    for n in range(7):
        await runtime.desk.handle(EPHEMERAL, ALICE, f"declare Walrus outage {n}", None)
    await runtime.desk.handle(EPHEMERAL, ALICE, "search walrus", "req-s1")
    answer = (await replies(runtime))[-1]
    data = answer["data"]
    assert data["shows"] == "search" and data["more"] is True
    assert len(data["results"]) == 5
    first = data["results"][0]
    assert first["incident"]["url"].startswith("https://sitrep.example.com/incidents/")
    assert ["Walrus", True] in first["snippets"][0]["parts"]
    assert data["url"] == "https://sitrep.example.com/search?q=walrus"


async def test_private_incidents_only_in_the_askers_own_ephemeral_reply(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    await runtime.desk.handle(EPHEMERAL, ALICE, "declare Public heron", None)
    await runtime.desk.handle(EPHEMERAL, ALICE, "declare Secret heron private", None)
    await runtime.desk.handle(EPHEMERAL, ALICE, "search heron", "req-s2")
    mine = (await replies(runtime))[-1]
    titles = {r["incident"]["title"] for r in mine["data"]["results"]}
    assert titles == {"Public heron", "Secret heron"}  # Alice declared it: a member
    bob = Actor("U2", "bob")
    await runtime.desk.handle(
        d.Where("slack", RoomRef("slack", "C1"), private_to="U2"), bob, "search heron", "req-s3"
    )
    theirs = (await replies(runtime))[-1]
    assert {r["incident"]["title"] for r in theirs["data"]["results"]} == {"Public heron"}
    await runtime.desk.handle(CHANNEL, ALICE, "search heron", "req-s4")
    channel = (await replies(runtime))[-1]
    assert {r["incident"]["title"] for r in channel["data"]["results"]} == {"Public heron"}
    assert "Secret" not in json.dumps(channel)


async def test_a_search_without_words_is_answered_with_the_reason(
    client: TestClient[Any, Any], runtime: Runtime
) -> None:
    await runtime.desk.handle(EPHEMERAL, ALICE, 'search "*"', "req-s5")
    assert "Type a word" in (await replies(runtime))[-1]["text"]


def _message(title: str = HOSTILE) -> ChatMessage:
    return ChatMessage(
        "reply",
        "Search: x",
        {
            "shows": "search",
            "query": HOSTILE,
            "more": True,
            "url": "https://sitrep.example.com/search?q=x",
            "results": [
                {
                    "incident": {
                        "ref": "INC-4",
                        "title": title,
                        "severity": "SEV1",
                        "status": "resolved",
                        "url": "https://sitrep.example.com/incidents/4",
                    },
                    "snippets": [
                        {"label": "Timeline", "parts": [["<!here> said ", False], ["x", True]]}
                    ],
                }
            ],
        },
    )


def test_slack_renders_escaped_text_bold_hits_and_links() -> None:
    text, blocks = render(_message())
    assert validate_blocks(blocks) == []
    everything = json.dumps(blocks, ensure_ascii=False) + text
    for forbidden in ("<!channel>", "<!here>", "@here"):
        assert forbidden not in everything
    assert "<https://sitrep.example.com/incidents/4|INC-4>" in everything
    assert "&lt;!here&gt; said *x*" in everything
    assert "<https://sitrep.example.com/search?q=x|More results on the web>" in everything


def test_teams_renders_text_runs_only_with_highlighted_hits() -> None:
    card = render_message(_message(), {}).card
    for block in textblocks(card):
        assert "evil.example" not in block
    dumped = json.dumps(card, ensure_ascii=False)
    assert "<at>Everyone</at>" not in dumped
    runs = [i for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]
    hit = next(r for r in runs if r["text"] == "x")
    assert hit.get("highlight") is True
    ref = next(r for r in runs if r["text"] == "INC-4")
    assert ref["selectAction"]["url"] == "https://sitrep.example.com/incidents/4"
    assert card["actions"][0]["url"] == "https://sitrep.example.com/search?q=x"
