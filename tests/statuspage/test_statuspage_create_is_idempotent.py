"""A Statuspage create delivered twice opens one page incident: when Statuspage made it but
sitrep never heard the answer (the connection dropped, the process died before recording),
the retry finds it among the page's unresolved incidents by the key sitrep left in its
metadata, and links it; subscribers get no second notice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import ANY

import aiohttp
import pytest
import pytest_asyncio

from bot.domain.model import EventKind
from bot.ports import DeliveryError, FixedClock, OutsideCall
from bot.runtime import Runtime
from bot.statuspage.rules import STATUSPAGE
from integrations.statuspage.client import StatuspageIncidents, marker
from tests.alerts.support import incidents, timeline
from tests.fakes.statuspage_api import FakeStatuspage
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    Slack,
    declare,
    fake,
    poll,
    slack,
)
from tests.statuspage.test_statuspage_slack import (  # noqa: F401 (fixtures)
    _confirm,
    page,
    settings_overrides,
)
from tests.support.links import MemoryTicketLinks, Recorded

KEY, PAGE_ID = "sp-key", "pg0042"


OURS = ("default", STATUSPAGE, 1, None)  # INC-1's ref in the links


def recorded(ext_id: str) -> Recorded:
    """INC-1's record of page incident ``ext_id``, whatever its url."""
    return Recorded("default", STATUSPAGE, 1, None, ext_id, ext_id, ANY)


@pytest_asyncio.fixture
async def stand_in() -> AsyncIterator[FakeStatuspage]:
    async with FakeStatuspage(KEY, PAGE_ID, ("c1",)) as sp:
        yield sp


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def port(
    session: aiohttp.ClientSession, sp: FakeStatuspage, links: MemoryTicketLinks
) -> StatuspageIncidents:
    return StatuspageIncidents(
        lambda: session, links, api_key=KEY, page_id=PAGE_ID, base_url=sp.url + "/v1"
    )


def create(attempt: int, ws: str = "default", number: int = 1) -> OutsideCall:
    body = {
        "incident": f"INC-{number}",
        "number": number,
        "name": "Checkout down",
        "status": "investigating",
        "body": "We are looking into it",
        "component_status": "major_outage",
        "components": ["c1"],
        "impact": "critical",
    }
    return OutsideCall(ws, "create", body, "k", attempt)


async def test_a_create_whose_answer_was_lost_is_found_by_its_metadata_and_linked_once(
    session: aiohttp.ClientSession, stand_in: FakeStatuspage
) -> None:
    links = MemoryTicketLinks()
    sp = port(session, stand_in, links)
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError) as lost:
        await sp.deliver(create(1))
    assert not lost.value.permanent and "502" in str(lost.value)
    (made,) = stand_in.incidents.values()  # Statuspage did create it
    assert made.metadata == {"sitrep": {"key": marker("default", 1)}}

    answer = await sp.deliver(create(2))

    assert answer["id"] == made.id and len(stand_in.incidents) == 1
    assert links.records == [recorded(made.id)]
    assert len(made.updates) == 1  # found, not patched: subscribers hear it once
    assert stand_in.listed == 1  # only the retry looks: the first create was never sent before


async def test_a_process_that_died_before_recording_the_id_finds_the_incident_after_restart(
    session: aiohttp.ClientSession, stand_in: FakeStatuspage
) -> None:
    links = MemoryTicketLinks()
    links.crash_next_record = True
    with pytest.raises(RuntimeError):
        await port(session, stand_in, links).deliver(create(1))
    answer = await port(session, stand_in, links).deliver(create(2))
    (only,) = stand_in.incidents.values()
    assert answer["id"] == only.id and links.records == [recorded(only.id)]


async def test_another_incident_of_the_same_name_or_number_elsewhere_is_not_taken(
    session: aiohttp.ClientSession, stand_in: FakeStatuspage
) -> None:
    links = MemoryTicketLinks()
    sp = port(session, stand_in, links)
    first = await sp.deliver(create(1, ws="acme"))
    other_ws = await sp.deliver(create(1, ws="globex"))
    other_number = await sp.deliver(create(1, ws="acme", number=2))
    assert len({first["id"], other_ws["id"], other_number["id"]}) == 3
    assert len(stand_in.incidents) == 3


async def test_a_resolved_incident_is_not_reused_for_a_new_create(
    session: aiohttp.ClientSession, stand_in: FakeStatuspage
) -> None:
    links = MemoryTicketLinks()
    sp = port(session, stand_in, links)
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError):
        await sp.deliver(create(1))
    (made,) = stand_in.incidents.values()
    made.status = "resolved"  # someone resolved it in Statuspage meanwhile
    answer = await sp.deliver(create(2))
    assert answer["id"] != made.id and len(stand_in.incidents) == 2


async def test_the_listing_refused_or_throttled_is_told_the_outbox_way(
    session: aiohttp.ClientSession, stand_in: FakeStatuspage
) -> None:
    links = MemoryTicketLinks()
    stand_in.lose_next_create()  # so the retries look for it first
    with pytest.raises(DeliveryError):
        await port(session, stand_in, links).deliver(create(1))
    stand_in.rate_limit_next(1, status=420, retry_after="7")
    with pytest.raises(DeliveryError) as slow:
        await port(session, stand_in, links).deliver(create(2))
    assert slow.value.retry_after == 7 and not slow.value.permanent
    wrong = StatuspageIncidents(
        lambda: session, links, api_key="nope", page_id=PAGE_ID, base_url=stand_in.url + "/v1"
    )
    with pytest.raises(DeliveryError, match="credentials refused") as refused:
        await wrong.deliver(create(3))
    assert refused.value.permanent and len(stand_in.incidents) == 1
    assert stand_in.listed == 0  # neither listing was answered


async def test_through_the_outbox_a_lost_create_answer_still_yields_one_linked_incident(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
    page: FakeStatuspage,  # noqa: F811
    clock: FixedClock,
) -> None:
    room = await declare(slack, runtime, "declare Checkout is down sev1")
    page.lose_next_create()
    await _confirm(slack, room, "We are investigating errors at checkout")
    await poll(lambda: _lost(runtime))
    assert len(page.incidents) == 1

    clock.advance(seconds=5)
    runtime.wake_outbox()
    (linked,) = await poll(lambda: _linked(runtime))
    (only,) = page.incidents.values()
    assert only.id in linked.text and len(only.updates) == 1


async def _lost(runtime: Runtime) -> list[Any]:
    found = await runtime.db.run(lambda repo: repo.list_outbox(limit=50))
    return [r for r in found if r.platform == "statuspage" and "502" in (r.last_error or "")]


async def _linked(runtime: Runtime) -> list[Any]:
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    return [e for e in await timeline(runtime, inc.id) if e.kind is EventKind.TICKET_LINKED]
