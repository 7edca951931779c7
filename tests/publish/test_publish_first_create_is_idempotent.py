"""A first publish whose page the service created but whose answer sitrep never heard (the
connection dropped after the service acted) is retried onto that same page: Confluence finds
it by its title in the space (titles are unique there, so a second create would be refused)
and its marker label, Notion among the parent page's children by title and the marker its
container starts with (Notion would happily make a second page). Only a retry of a create
that was sent looks (the create journal).
"""

from __future__ import annotations

from typing import Any

from bot.ports import FixedClock
from bot.publish.refs import page_title
from bot.runtime import Runtime
from integrations.markers import marker
from integrations.notion.client import carries
from tests.fakes.confluence_api import FakeConfluence
from tests.fakes.notion_api import FakeNotion
from tests.publish.support import PARENT, delivered, published
from tests.publish.test_publish_flow import (  # noqa: F401 (fixtures)
    TITLE,
    confluence,
    incident_with_postmortem,
    notion,
    publish,
    settings_overrides,
    texts,
)
from tests.slack_flow.test_slack_flow import poll
from tests.web.support import Client


async def _lost(runtime: Runtime, service: str) -> list[Any]:
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=50))
    return [r for r in rows if r.platform == service and "502" in (r.last_error or "")]


async def _retry(runtime: Runtime, clock: FixedClock) -> list[Any]:
    clock.advance(seconds=5)
    runtime.wake_outbox()
    return await poll(lambda: published(runtime))  # type: ignore[no-any-return]


def _child_page(page_id: str, title: str) -> dict[str, Any]:
    return {
        "object": "block",
        "id": page_id,
        "type": "child_page",
        "child_page": {"title": title},
        "has_children": False,
        "archived": False,
    }


async def test_a_lost_confluence_create_is_found_by_title_and_updated_not_duplicated(
    client: Client,
    runtime: Runtime,
    confluence: FakeConfluence,  # noqa: F811
    clock: FixedClock,
) -> None:
    await incident_with_postmortem(runtime)
    confluence.lose_next_create = 1
    await publish(runtime, "confluence")
    await poll(lambda: _lost(runtime, "confluence"))
    (made,) = confluence.published()  # Confluence did create it, with our label
    assert made.title == TITLE and made.version == 1 and made.labels == [marker("default", 1)]

    (entry,) = await _retry(runtime, clock)
    await delivered(runtime, "confluence")

    assert confluence.published() == [made] and len(confluence.pages) == 2  # + the parent
    assert made.version == 2  # the retry replaced the body in place
    assert entry.data["id"] == made.id and made.id in entry.data["url"]
    assert made.attachments  # and the picture reached the found page


async def test_a_lost_notion_create_is_found_among_the_parents_children_and_filled_once(
    client: Client,
    runtime: Runtime,
    notion: FakeNotion,  # noqa: F811
    clock: FixedClock,
) -> None:
    await incident_with_postmortem(runtime)
    # Someone else's page under the same parent, and enough siblings to need a second
    # listing page: only the exact title of this postmortem counts.
    siblings = notion.containers[PARENT]
    siblings.append(_child_page("other-page", page_title("INC-2", "Checkout slow")))
    siblings.extend(_child_page(f"filler-{n}", f"Runbook {n}") for n in range(120))
    notion.lose_next_create = 1
    await publish(runtime, "notion")
    await poll(lambda: _lost(runtime, "notion"))
    made = notion.page()  # Notion did create it, with its marked container
    (box,) = made.children
    assert made.title == TITLE and carries(box["children"][0], marker("default", 1))

    (entry,) = await _retry(runtime, clock)
    await delivered(runtime, "notion")

    assert notion.page() is made  # still the one page: no second create
    assert entry.data["id"] == made.id and entry.data["url"] == made.url
    assert entry.data["version"] == 1
    assert "config push" in texts(made)
    (again,) = made.children  # one container, filled once, its marker kept
    assert carries(again["children"][0], marker("default", 1)) and again["id"] != box["id"]


async def test_a_first_notion_publish_creates_its_page_without_looking_for_one(
    client: Client,
    runtime: Runtime,
    notion: FakeNotion,  # noqa: F811
) -> None:
    await incident_with_postmortem(runtime)
    notion.containers[PARENT].append(_child_page("other-page", "INC-1: Another title"))
    await publish(runtime, "notion")
    (entry,) = await poll(lambda: published(runtime))
    assert entry.data["id"] == notion.page().id != "other-page"
    # No earlier create was sent (the journal says so): nothing to look for.
    assert ("GET", f"/v1/blocks/{PARENT}/children") not in notion.requests
