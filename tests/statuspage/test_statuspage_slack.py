"""Public updates end to end from Slack (the Slack fake) to the Statuspage stand-in over real
HTTP: preview, confirm, create; cancel sends nothing; later updates patch; resolving resolves;
the stand-in down delays but loses nothing; private incidents are refused.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain.model import EventKind
from bot.outbox_types import OutboxState
from bot.ports import FixedClock
from bot.runtime import Runtime
from tests.alerts.support import incidents, timeline
from tests.fakes.slack_api import CAROL, FakeSlackApi
from tests.fakes.statuspage_api import FakeStatuspage
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    SECRET,
    Client,
    Slack,
    declare,
    eventually,
    fake,
    poll,
    settle,
    slack,
)

API_KEY, PAGE = "sp-api-key", "pg0001"
API, WEB = "cmp-api", "cmp-web"


@pytest_asyncio.fixture
async def page() -> AsyncIterator[FakeStatuspage]:
    async with FakeStatuspage(API_KEY, PAGE, (API, WEB)) as stand_in:
        yield stand_in


@pytest.fixture
def settings_overrides(fake: FakeSlackApi, page: FakeStatuspage) -> dict[str, Any]:  # noqa: F811
    return {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.url,
        "admins": [CAROL],
        "public_url": "https://sitrep.example.com",
        "statuspage_api_key": API_KEY,
        "statuspage_page_id": PAGE,
        "statuspage_api_url": page.url + "/v1",
        "statuspage_components": [API, WEB],
        "statuspage_component_status": {"SEV1": "major_outage", "SEV2": "partial_outage"},
        "statuspage_impact": {"SEV1": "critical", "SEV2": "major"},
        "outbox_max_attempts": 6,
        "outbox_backoff_cap_seconds": 1,
        "statuspage_timeout_seconds": 2,
    }


@pytest_asyncio.fixture
async def room(slack: Slack, runtime: Runtime) -> str:  # noqa: F811
    """The Slack room of an open SEV2 incident."""
    return await declare(slack, runtime, "declare Checkout is down sev2")


def _preview(slack: Slack, room: str) -> Any:  # noqa: F811
    shown = [e for e in slack.fake.ephemerals(room) if e.blocks and "public" in e.text.lower()]
    return shown[-1] if shown else None


def _button(ephemeral: Any, action_id: str) -> str | None:
    for block in ephemeral.blocks or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return str(element["value"])
    return None


async def _previewed(slack: Slack, room: str, command: str) -> Any:  # noqa: F811
    """Type ``command`` in the room and wait for the latest public-update preview."""
    await slack.command(command, channel=room)
    return await eventually(lambda: _preview(slack, room))


async def _press(slack: Slack, room: str, shown: Any, action_id: str) -> None:  # noqa: F811
    """Press the preview's ``action_id`` button; Slack gets its 200."""
    value = _button(shown, action_id)
    assert value is not None
    assert (await slack.button(action_id, value, channel=room)).status == 200


async def _confirm(slack: Slack, room: str, text: str) -> None:  # noqa: F811
    await slack.command(f"update --public {text}", channel=room)
    shown = await eventually(
        lambda: next(
            (
                e
                for e in slack.fake.ephemerals(room)
                if _button(e, "sitrep.public_confirm") and text in json.dumps(e.blocks)
            ),
            None,
        )
    )
    await _press(slack, room, shown, "sitrep.public_confirm")


async def _statuspage_rows(runtime: Runtime) -> list[Any]:
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=200))
    return [r for r in rows if r.platform == "statuspage"]


async def test_preview_then_confirm_creates_the_page_incident_with_mapped_statuses(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    page: FakeStatuspage,
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev1")
    await slack.command("note internal: the db primary is on fire", channel=room)
    shown = await _previewed(
        slack, room, "update --public We are investigating <b>errors</b> at checkout"
    )
    await settle(runtime)
    assert page.incidents == {}  # a preview publishes nothing
    blocks = json.dumps(shown.blocks, ensure_ascii=False)
    # Shown as plain text (no markup applied); the joiner after "<" is invisible.
    said = [
        b["text"]["text"] for b in shown.blocks if b.get("text", {}).get("type") == "plain_text"
    ]
    assert [t.replace("\u2060", "") for t in said] == [
        "We are investigating <b>errors</b> at checkout"
    ]
    assert "investigating" in blocks and "major_outage" in blocks
    await _press(slack, room, shown, "sitrep.public_confirm")
    (inc,) = await eventually(lambda: list(page.incidents.values()))
    assert inc.name == "Checkout is down"
    assert inc.status == "investigating" and inc.impact == "critical"
    assert inc.components == {API: "major_outage", WEB: "major_outage"}
    assert inc.updates[0]["body"] == "We are investigating <b>errors</b> at checkout"
    assert "on fire" not in json.dumps(page.requests)
    (sitrep_inc,) = await incidents(runtime)
    assert sitrep_inc.id is not None
    kinds = [e.kind for e in await timeline(runtime, sitrep_inc.id)]
    assert EventKind.PUBLIC_UPDATE_CONFIRMED in kinds
    linked = await poll(lambda: _when_linked(runtime, sitrep_inc.id or 0))
    assert linked["id"] == inc.id
    (audited,) = [e for e in await runtime.audit.all() if e.action == "publish_update"]
    assert audited.actor and "at checkout" in json.dumps(audited.detail)


async def _when_linked(runtime: Runtime, incident_id: int) -> Any:
    ref = await runtime.db.run(
        lambda repo: repo.get_chat_ref("default", "statuspage", f"inc:{incident_id}:ticket")
    )
    return ref if ref and ref.get("id") else None


async def test_cancel_publishes_nothing(
    slack: Slack,  # noqa: F811
    room: str,
    runtime: Runtime,
    page: FakeStatuspage,
) -> None:
    shown = await _previewed(slack, room, "public-update Checkout is slow")
    await _press(slack, room, shown, "sitrep.public_cancel")
    await eventually(
        lambda: any("nothing was published" in e.text for e in slack.fake.ephemerals(room))
    )
    await settle(runtime)
    assert page.incidents == {} and page.requests == []
    assert await _statuspage_rows(runtime) == []


async def test_later_updates_patch_and_resolving_resolves_the_page_incident(
    slack: Slack,  # noqa: F811
    room: str,
    runtime: Runtime,
    page: FakeStatuspage,
) -> None:
    await _confirm(slack, room, "Investigating checkout errors")
    (inc,) = await eventually(lambda: list(page.incidents.values()))
    await slack.command("status identified", channel=room)
    await _confirm(slack, room, "Cause found; fix rolling out")
    await eventually(lambda: len(inc.updates) == 2)
    assert inc.status == "identified" and inc.updates[1]["body"] == "Cause found; fix rolling out"
    assert inc.components == {API: "partial_outage", WEB: "partial_outage"}
    await slack.command("resolve restarted the pool", channel=room)
    await eventually(lambda: inc.status == "resolved")
    assert inc.components == {API: "operational", WEB: "operational"}
    assert "restarted the pool" not in json.dumps(page.requests)  # internal text stays in
    assert len(page.incidents) == 1


async def test_resolving_an_unpublished_incident_sends_nothing(
    slack: Slack,  # noqa: F811
    room: str,
    runtime: Runtime,
    page: FakeStatuspage,
) -> None:
    await slack.command("resolve fixed", channel=room)
    await settle(runtime)
    assert page.requests == []


async def test_statuspage_down_delays_the_create_and_update_without_losing_either(
    slack: Slack,  # noqa: F811
    room: str,
    runtime: Runtime,
    page: FakeStatuspage,
    clock: FixedClock,
) -> None:
    await page.stop()
    await _confirm(slack, room, "First public words")
    await _confirm(slack, room, "Second public words")

    async def failed() -> list[Any]:
        rows = await _statuspage_rows(runtime)
        return [r for r in rows if r.last_error and r.state is OutboxState.PENDING]

    (create,) = await poll(failed)
    assert create.action == "create"
    await page.start()
    page.rate_limit_next(1, status=420, retry_after="2")

    async def nudged() -> bool:
        clock.advance(seconds=5)
        runtime.wake_outbox()
        import asyncio

        await asyncio.sleep(0.05)
        return any(len(i.updates) == 2 for i in page.incidents.values())

    await poll(nudged)
    (inc,) = page.incidents.values()
    assert [u["body"] for u in inc.updates] == ["First public words", "Second public words"]


async def test_a_private_incident_is_refused_and_nothing_is_sent(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    page: FakeStatuspage,
) -> None:
    room = await declare(slack, runtime, "declare Acquisition of Initech leaked sev1 private")
    await slack.command("update --public All good", channel=room)
    await eventually(lambda: any("never published" in e.text for e in slack.fake.ephemerals(room)))
    # Even a forged confirm press is refused by the core.
    await slack.button(
        "sitrep.public_confirm", json.dumps({"n": "default:1", "t": "All good"}), channel=room
    )
    await eventually(
        lambda: len([e for e in slack.fake.ephemerals(room) if "never published" in e.text]) == 2
    )
    await settle(runtime)
    assert page.requests == []


async def test_a_double_clicked_confirm_publishes_once(
    slack: Slack,  # noqa: F811
    room: str,
    runtime: Runtime,
    page: FakeStatuspage,
) -> None:
    shown = await _previewed(slack, room, "public-update Looking into it")
    await _press(slack, room, shown, "sitrep.public_confirm")
    await _press(slack, room, shown, "sitrep.public_confirm")  # the double click
    (inc,) = await eventually(lambda: list(page.incidents.values()))
    await settle(runtime)
    assert len(inc.updates) == 1
    (sitrep_inc,) = await incidents(runtime)
    updates = [
        e for e in await timeline(runtime, sitrep_inc.id or 0) if e.kind is EventKind.STATUS_UPDATE
    ]
    assert len(updates) == 1
