"""One person across surfaces: the web incident page and the postmortem exports of an incident
worked from Slack, Teams, the web (OIDC) and the API name every person, never their ids; Slack
names come from users.info once and then from the ``person`` table."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Role
from bot.runtime import Runtime
from integrations.slack.client import make_client
from integrations.slack.people import SlackPeople
from integrations.teams.directory import TEAMS_STORE, TeamsDirectory
from integrations.teams.people import TeamsPeople
from storage.db import Database
from tests.fakes.slack_api import FakeSlackApi
from tests.web.support import logged_in

Client = TestClient[Any, Any]

SLACK_ID = "U0SAMSLACK"
TEAMS_ID = "29:1tara-teams-id"
OIDC_ID = "oidc:https://idp.test#sub-olive"
TOKEN_OWNER = "oidc:https://idp.test#sub-dana"
GHOST = "U0GHOSTXYZ"  # a Slack id Slack does not know
ODD = "web:<i>odd</i>"  # an id nobody can name, with markup in it
NAMES = ("Sam Slack", "Tara Teams", "Olive Oidc", "Dana Scully")
RAW_IDS = (SLACK_ID, TEAMS_ID, OIDC_ID, TOKEN_OWNER, "sub-olive", "sub-dana", "29:1tara")


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as api:
        # Slack leaves display_name empty for people who never set one: the real name shows.
        api.add_user(SLACK_ID, "sam.handle", real_name="Sam Slack", display_name="")
        yield api


async def work_the_incident(
    client: Client, auth: dict[str, str], runtime: Runtime[Database], slack: FakeSlackApi
) -> None:
    runtime.people.add_source(SlackPeople(make_client("xoxb-test", slack.url)))
    ws, service = runtime.settings.workspace, runtime.service
    await service.declare(ws, c.Declare(title="Checkout 500s"), Actor(OIDC_ID, "Olive Oidc"))
    # Slack commands carry only the user id: the name has to come from users.info.
    await service.execute(ws, 1, c.AddNote(text="looking at the db"), Actor(SLACK_ID))
    await service.execute(ws, 1, c.Acknowledge(), Actor(TEAMS_ID, "Tara Teams"))
    await service.execute(ws, 1, c.AssignRole(Role.COMMANDER, SLACK_ID), Actor(OIDC_ID))
    await service.execute(ws, 1, c.AssignRole(Role.COMMS_LEAD, TEAMS_ID), Actor(OIDC_ID))
    await service.execute(ws, 1, c.AddNote(text="who am I"), Actor(GHOST))
    await service.execute(ws, 1, c.AddNote(text="odd one"), Actor(ODD))
    # Ids in fields beside the timeline: an update's author, an action item's owner and closer.
    await service.execute(ws, 1, c.PostUpdate("Rolled back"), Actor(SLACK_ID))
    await service.execute(ws, 1, c.AddActionItem("Add a db alert", TEAMS_ID), Actor(OIDC_ID))
    await service.execute(ws, 1, c.SetActionItemDone(1, True), Actor(SLACK_ID))
    resp = await client.post(
        "/api/tokens",
        json={
            "owner": TOKEN_OWNER,
            "owner_name": "Dana Scully",
            "name": "ci",
            "scopes": ["incidents:write"],
        },
        headers=auth,
    )
    assert resp.status == 201, await resp.text()
    dana = {"Authorization": f"Bearer {(await resp.json())['secret']}"}
    note = {"text": "rolled back"}
    resp = await client.post("/api/incidents/INC-1/notes", json=note, headers=dana)
    assert resp.status == 201, await resp.text()


def assert_names_not_ids(text: str) -> None:
    for name in NAMES:
        assert name in text
    for raw in RAW_IDS:
        assert raw not in text


async def test_the_web_page_and_exports_show_four_names_and_no_raw_ids(
    client: Client, auth: dict[str, str], runtime: Runtime[Database], slack: FakeSlackApi
) -> None:
    await work_the_incident(client, auth, runtime, slack)
    browser = await logged_in(client)

    status, page = await browser.get("/incidents/1")
    assert status == 200
    assert_names_not_ids(page)
    assert "<dt>Commander</dt><dd>Sam Slack</dd>" in page
    assert "<dt>Comms lead</dt><dd>Tara Teams</dd>" in page
    assert "Commander is now Sam Slack" in page

    for fmt in ("md", "html"):
        status, doc = await browser.get(f"/incidents/1/postmortem.{fmt}")
        assert status == 200, doc
        assert_names_not_ids(doc)

    status, body = await browser.get("/incidents/1/postmortem.json")
    assert status == 200
    data = json.loads(body)
    shown = {e["actor"]: e["actor_name"] for e in data["timeline"]}
    assert shown[SLACK_ID] == "Sam Slack"
    assert shown[TEAMS_ID] == "Tara Teams"
    assert shown[OIDC_ID] == "Olive Oidc"
    assert shown[TOKEN_OWNER] == "Dana Scully"
    assert data["role_names"]["commander"] == "Sam Slack"
    assert data["role_names"]["comms_lead"] == "Tara Teams"


async def test_an_unknown_id_falls_back_to_itself_escaped(
    client: Client, auth: dict[str, str], runtime: Runtime[Database], slack: FakeSlackApi
) -> None:
    await work_the_incident(client, auth, runtime, slack)
    browser = await logged_in(client)
    status, page = await browser.get("/incidents/1")
    assert status == 200
    assert GHOST in page
    assert "web:&lt;i&gt;odd&lt;/i&gt;" in page
    assert ODD not in page
    status, doc = await browser.get("/incidents/1/postmortem.html")
    assert "web:&lt;i&gt;odd&lt;/i&gt;" in doc and ODD not in doc


async def test_users_info_is_asked_once_per_person_then_the_cache_answers(
    client: Client, auth: dict[str, str], runtime: Runtime[Database], slack: FakeSlackApi
) -> None:
    await work_the_incident(client, auth, runtime, slack)
    browser = await logged_in(client)
    for path in ("/incidents/1", "/incidents/1/postmortem.md", "/incidents/1", "/incidents/1"):
        status, _ = await browser.get(path)
        assert status == 200
    asked = [call.args.get("user") for call in slack.calls_to("users.info")]
    # Sam once, then cached; the ghost once too, then known to be nobody (until a retry).
    assert asked.count(SLACK_ID) == 1
    assert asked.count(GHOST) == 1
    # Only Slack ids go to Slack.
    assert set(asked) == {SLACK_ID, GHOST}
    cached = await runtime.db.run(lambda repo: repo.person_names("default", [SLACK_ID, TEAMS_ID]))
    assert cached == {SLACK_ID: "Sam Slack", TEAMS_ID: "Tara Teams"}


class _Down:
    """A platform that owns every ``X…`` id and is unreachable."""

    source = "down"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def owns(self, actor: str) -> bool:
        return actor.startswith("X")

    async def lookup(self, workspace: str, actors: Sequence[str]) -> dict[str, str]:
        self.asked += actors
        raise ConnectionError("platform unreachable")


async def test_an_unreachable_platform_leaves_the_id_and_names_stay_from_the_cache(
    client: Client, runtime: Runtime[Database]
) -> None:
    down = _Down()
    runtime.people.add_source(down)
    ws = runtime.settings.workspace
    await runtime.service.declare(ws, c.Declare(title="x"), Actor("Xknown", "Known Person"))
    got = await runtime.people.names(ws, ["Xknown", "Xnobody", "cli:root"])
    # Known from acting; the platform is asked only about its own ids it has no name for.
    assert got == {"Xknown": "Known Person", "Xnobody": "Xnobody", "cli:root": "cli:root"}
    assert down.asked == ["Xnobody"]


async def test_a_teams_id_is_named_from_the_roster_teams_showed_us(
    client: Client, app: web.Application, runtime: Runtime[Database]
) -> None:
    ws = runtime.settings.workspace
    directory = TeamsDirectory(
        runtime.units,
        runtime.clock,
        ws,
        store=app[TEAMS_STORE],
        default_service_url="http://127.0.0.1:9/",
        tenant_id=None,
    )
    await directory.observe(
        service_url=None, tenant_id=None, user_id=TEAMS_ID, name="Tara Teams", aad_id=None
    )
    runtime.people.add_source(TeamsPeople(directory))
    got = await runtime.people.names(ws, [TEAMS_ID, "29:1someone-else"])
    assert got == {TEAMS_ID: "Tara Teams", "29:1someone-else": "29:1someone-else"}
    cached = await runtime.db.run(lambda repo: repo.person_names(ws, [TEAMS_ID]))
    assert cached == {TEAMS_ID: "Tara Teams"}


async def test_the_api_keeps_ids_for_machines_and_adds_names_for_people(
    client: Client, auth: dict[str, str], runtime: Runtime[Database], slack: FakeSlackApi
) -> None:
    await work_the_incident(client, auth, runtime, slack)
    resp = await client.get("/api/incidents/INC-1", headers=auth)
    assert resp.status == 200
    body = await resp.json()
    assert (body["commander"], body["commander_name"]) == (SLACK_ID, "Sam Slack")
    assert (body["comms_lead"], body["comms_lead_name"]) == (TEAMS_ID, "Tara Teams")
    assert (body["declared_by"], body["declared_by_name"]) == (OIDC_ID, "Olive Oidc")
    assert body["scribe"] is None and body["scribe_name"] is None
    shown = {e["actor"]: e["actor_name"] for e in body["timeline"]}
    assert shown[SLACK_ID] == "Sam Slack" and shown[TOKEN_OWNER] == "Dana Scully"
    assert shown[GHOST] == GHOST  # nobody could name it: the id, as itself
    [item] = body["action_items"]
    assert (item["owner"], item["owner_name"]) == (TEAMS_ID, "Tara Teams")
    assert item["created_by_name"] == "Olive Oidc"
    [update] = body["updates"]
    assert (update["author"], update["author_name"]) == (SLACK_ID, "Sam Slack")

    resp = await client.get("/api/incidents/INC-1/timeline", headers=auth)
    timeline = (await resp.json())["timeline"]
    assert {e["actor"]: e["actor_name"] for e in timeline} == shown


async def test_the_incident_list_names_commanders(
    client: Client, auth: dict[str, str], runtime: Runtime[Database], slack: FakeSlackApi
) -> None:
    await work_the_incident(client, auth, runtime, slack)
    browser = await logged_in(client)
    for path in ("/incidents", "/incidents?status=investigating"):
        status, page = await browser.get(path)
        assert status == 200
        assert "<td>Sam Slack</td>" in page
        assert SLACK_ID not in page
