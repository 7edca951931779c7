"""Postmortem publishing end to end over real HTTP: the CLI and the postmortem page's button
queue a publish that the outbox delivers to the Confluence and Notion stand-ins; a re-publish
updates the same page; a service that is down or throttling delays the page, never loses it.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.domain import commands as c
from bot.outbox_types import OutboxState, Priority
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.cli import app as cli
from tests.fakes.confluence_api import FakeConfluence, storage_tree
from tests.fakes.notion_api import FakeNotion
from tests.publish import support
from tests.publish.support import PARENT, delivered, failed, publish_settings, published
from tests.slack_flow.test_slack_flow import poll
from tests.web.support import OPERATOR, Client, declare, logged_in

TITLE = "INC-1: Checkout <b>500s</b> & co — postmortem"
RI = "{http://atlassian.com/resource/identifier}"
AC = "{http://atlassian.com/content}"

# The stand-ins' fixtures, shared with the chat tests.
confluence, notion = support.confluence, support.notion


@pytest.fixture
def settings_overrides(confluence: FakeConfluence, notion: FakeNotion) -> dict[str, Any]:
    return publish_settings(confluence, notion)


async def incident_with_postmortem(runtime: Runtime, **kw: Any) -> None:
    ws = runtime.settings.workspace
    await declare(runtime, "Checkout <b>500s</b> & co", summary="card auth 502", **kw)
    for field, value in (
        ("root_cause", "A <script>alert(1)</script> config push ]]> & friends"),
        ("impact", "Checkout failed for 12 minutes.\n\nEU only."),
    ):
        await runtime.service.execute(ws, 1, c.EditField(field, value), OPERATOR)
    await runtime.service.execute(
        ws, 1, c.AddActionItem("Add a canary for config pushes"), OPERATOR
    )
    await runtime.service.execute(ws, 1, c.EditField("contributing_factors", "x" * 4500), OPERATOR)


async def publish(runtime: Runtime, target: str) -> None:
    await runtime.service.execute(runtime.settings.workspace, 1, c.RequestPublish(target), OPERATOR)
    runtime.wake_outbox()


def texts(page: Any) -> str:
    return "\n".join(
        t["text"]["content"]
        for b in page.all_blocks()
        for t in b.get(b["type"], {}).get("rich_text", [])
    )


# -- Confluence -------------------------------------------------------------------------------


async def test_the_web_button_publishes_a_confluence_page_and_republishing_makes_version_2(
    client: Client, runtime: Runtime, confluence: FakeConfluence
) -> None:
    await incident_with_postmortem(runtime)
    browser = await logged_in(client)
    status, page = await browser.get("/incidents/1/postmortem")
    assert status == 200 and "Publish to Confluence" in page and "Publish to Notion" in page
    resp = await browser.post("/incidents/1/postmortem/publish", {"target": "confluence"})
    assert resp.status == 303
    await delivered(runtime, "confluence")
    (entry,) = await published(runtime)
    (pub,) = confluence.published()
    assert pub.title == TITLE and pub.space == "OPS" and pub.ancestors == ["65541"]
    assert pub.version == 1
    page_url = f"{confluence.url}/wiki/spaces/OPS/pages/{pub.id}"
    assert entry.text == f"Published the postmortem as a Confluence page: {page_url}"
    tree = storage_tree(pub.body)
    headings = [h.text for h in tree.iter("h2")]
    for wanted in (
        "Timeline at a glance",
        "Summary",
        "Impact",
        "Root cause",
        "Metrics",
        "Action items",
        "Timeline",
    ):
        assert wanted in headings
    (image,) = tree.iter(f"{AC}image")
    assert image.find(f"{RI}attachment").get(f"{RI}filename") == "timeline.svg"  # type: ignore[union-attr]
    svg = pub.attachments["timeline.svg"].decode()
    assert svg.startswith("<svg") and "INC-1" in svg
    # Text stays text: no element came from the incident's words.
    assert not list(tree.iter("script")) and not list(tree.iter("b"))
    assert "<script>alert(1)</script> config push ]]> & friends" in "".join(tree.itertext())
    cells = ["".join(td.itertext()) for td in tree.iter("td")]
    assert "Add a canary for config pushes" in cells

    await runtime.service.execute(
        runtime.settings.workspace, 1, c.EditField("lessons", "Canaries first."), OPERATOR
    )
    resp = await browser.post("/incidents/1/postmortem/publish", {"target": "confluence"})
    assert resp.status == 303
    await delivered(runtime, "confluence", 2)
    assert len(confluence.pages) == 2  # the parent and ours: updated in place
    assert pub.version == 2 and "Canaries first." in pub.body
    assert pub.attachment_versions["timeline.svg"] == 2
    _, page = await browser.get("/incidents/1/postmortem")
    assert f'href="{confluence.url}/wiki/spaces/OPS/pages/{pub.id}"' in page
    assert "(version 2)" in page
    rows = [
        r
        for r in await runtime.db.run(lambda repo: repo.list_outbox(limit=50))
        if r.platform == "confluence"
    ]
    assert {r.priority for r in rows} == {Priority.OUTSIDE}
    audit = await runtime.db.run(lambda repo: repo.audit_entries(runtime.settings.workspace))
    assert sum(1 for a in audit if a.action == "request_publish") == 2


async def test_a_version_conflict_is_reread_and_retried_once(
    client: Client, runtime: Runtime, confluence: FakeConfluence
) -> None:
    await incident_with_postmortem(runtime)
    await publish(runtime, "confluence")
    await delivered(runtime, "confluence")
    (pub,) = confluence.published()
    confluence.conflict_next = 1  # someone saves the page between our read and our write
    await publish(runtime, "confluence")
    await delivered(runtime, "confluence", 2)
    assert pub.version == 3 and len(confluence.published()) == 1


async def test_confluence_down_loses_nothing_and_the_page_appears_once_it_is_back(
    client: Client, runtime: Runtime, confluence: FakeConfluence, clock: FixedClock
) -> None:
    await incident_with_postmortem(runtime)
    await confluence.stop()
    await publish(runtime, "confluence")
    row = await poll(lambda: failed(runtime, "confluence"))
    assert row.attempts >= 1 and row.state is not OutboxState.PARKED
    await confluence.start()
    clock.advance(seconds=5)
    runtime.wake_outbox()
    await poll(lambda: published(runtime))
    assert len(confluence.published()) == 1


async def test_a_throttled_publish_waits_for_retry_after(
    client: Client, runtime: Runtime, confluence: FakeConfluence, clock: FixedClock
) -> None:
    await incident_with_postmortem(runtime)
    confluence.rate_limit_next = 1
    await publish(runtime, "confluence")
    row = await poll(lambda: failed(runtime, "confluence"))
    assert "429" in (row.last_error or "")
    clock.advance(seconds=2)
    runtime.wake_outbox()
    await poll(lambda: published(runtime))


# -- Notion -----------------------------------------------------------------------------------


async def test_notion_gets_a_page_of_blocks_within_its_limits_and_republish_rebuilds_it(
    client: Client, runtime: Runtime, notion: FakeNotion
) -> None:
    await incident_with_postmortem(runtime)
    for n in range(120):  # more blocks than one request may carry
        await runtime.service.execute(
            runtime.settings.workspace, 1, c.AddNote(f"note {n}"), OPERATOR
        )
    await publish(runtime, "notion")
    await delivered(runtime, "notion")
    (entry,) = await published(runtime)
    page = notion.page()
    assert page.title == TITLE and page.parent == PARENT
    assert entry.text == f"Published the postmortem as a Notion page: {page.url}"
    assert set(notion.versions) == {"2022-06-28"}
    (box,) = page.children  # one container holds it all
    assert box["type"] == "synced_block" and len(box["children"]) > 100
    body = texts(page)
    assert "Root cause" in body and "Add a canary for config pushes" in body
    assert "x" * 4500 in body.replace("\n", "")  # split into text objects of ≤ 2000
    (image,) = [b for b in page.all_blocks() if b["type"] == "image"]
    url = image["image"]["external"]["url"]
    assert url == "https://sitrep.example.com/incidents/1/postmortem/timeline.svg"
    first = {b["id"] for b in page.all_blocks()}
    requests = len(notion.requests)

    await publish(runtime, "notion")
    await delivered(runtime, "notion", 2)
    assert len(notion.pages) == 1
    # Rebuilt in place: none of the old blocks is left, and the new ones say what happened since.
    assert not first & {b["id"] for b in page.all_blocks()} and len(page.children) == 1
    # rename, list, delete the container, append it, then the rest 100 at a time
    assert len(notion.requests) - requests == 4 + len(box["children"]) // 100
    headings = [
        b["heading_2"]["rich_text"][0]["text"]["content"]
        for b in page.all_blocks()
        if b["type"] == "heading_2"
    ]
    assert headings.count("Root cause") == 1 and headings.count("Timeline") == 1
    assert "Published the postmortem as a Notion page" in texts(page)
    (again,) = [e for e in await published(runtime) if e.data["version"] == 2]
    assert again.text.startswith("Republished (version 2) the postmortem as a Notion page")


async def test_the_picture_route_serves_the_svg_under_the_page_s_access_rules(
    client: Client, runtime: Runtime
) -> None:
    await declare(runtime, "Checkout down")
    resp = await client.get("/incidents/1/postmortem/timeline.svg", allow_redirects=False)
    assert resp.status == 303 and "/login" in resp.headers["Location"]
    browser = await logged_in(client)
    resp = await client.get("/incidents/1/postmortem/timeline.svg", headers=browser.headers())
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert (await resp.text()).startswith("<svg")
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


async def test_notion_throttling_waits_and_the_page_still_appears_once(
    client: Client, runtime: Runtime, notion: FakeNotion, clock: FixedClock
) -> None:
    await incident_with_postmortem(runtime)
    notion.rate_limit_next = 1
    await publish(runtime, "notion")
    row = await poll(lambda: failed(runtime, "notion"))
    assert "429" in (row.last_error or "")
    clock.advance(seconds=2)
    runtime.wake_outbox()
    await poll(lambda: published(runtime))
    assert len(notion.pages) == 1


# -- refusals ---------------------------------------------------------------------------------


async def test_a_private_incident_is_not_published_unless_the_setting_allows(
    client: Client, runtime: Runtime, confluence: FakeConfluence
) -> None:
    await incident_with_postmortem(runtime, private=True)
    browser = await logged_in(client)
    resp = await browser.post("/incidents/1/postmortem/publish", {"target": "confluence"})
    assert resp.status == 400 and "SITREP_PUBLISH_PRIVATE" in await resp.text()
    await asyncio.sleep(0.2)
    assert confluence.requests == [] and await published(runtime) == []


async def test_an_unknown_target_is_refused(client: Client, runtime: Runtime) -> None:
    await declare(runtime, "Checkout down")
    browser = await logged_in(client)
    resp = await browser.post("/incidents/1/postmortem/publish", {"target": "wiki"})
    assert resp.status == 400
    resp = await browser.post("/incidents/1/postmortem/publish", {"target": "confluence"}, csrf="")
    assert resp.status == 403


# -- CLI --------------------------------------------------------------------------------------


async def test_the_cli_queues_a_publish_and_waits_for_the_page_url(
    client: Client,
    runtime: Runtime,
    confluence: FakeConfluence,
    notion: FakeNotion,
    clock: FixedClock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # The CLI's rows carry the real time; the server's (fixed) clock must be past them.
    clock.set(datetime.now(UTC) + timedelta(minutes=5))
    await incident_with_postmortem(runtime)
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": database_url, **publish_settings(confluence, notion)}
    for key, value in env.items():
        monkeypatch.setenv(f"SITREP_{key.upper()}", str(value))
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["export", "INC-1", "--to", "confluence", "--wait", "--timeout", "20"],
    )
    assert result.exit_code == 0, result.stderr
    (pub,) = confluence.published()
    assert result.stdout.strip() == f"{confluence.url}/wiki/spaces/OPS/pages/{pub.id}"
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "INC-1", "--to", "jira"])
    assert result.exit_code == 2 and "not configured" in result.stderr
    assert os.environ["SITREP_CONFLUENCE_SPACE_KEY"] == "OPS"


# -- API --------------------------------------------------------------------------------------


async def test_the_api_queues_a_publish_and_refuses_an_unconfigured_target(
    client: Client,
    runtime: Runtime,
    notion: FakeNotion,
    auth: dict[str, str],
    settings_overrides: dict[str, Any],
) -> None:
    await incident_with_postmortem(runtime)
    resp = await client.post(
        "/api/incidents/INC-1/postmortem/publish", json={"target": "notion"}, headers=auth
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert [e["kind"] for e in body["events"]] == ["publish_requested"]
    await delivered(runtime, "notion")
    resp = await client.post(
        "/api/incidents/INC-1/postmortem/publish", json={"target": "wiki"}, headers=auth
    )
    assert resp.status == 400
