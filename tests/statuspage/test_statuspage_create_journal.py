"""A Statuspage create looks for an earlier attempt's incident only when the create journal
says one was sent, and then pages through all the page's unresolved incidents (up to a cap),
not only the first hundred; a create refused or throttled takes its note back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from bot.ports import DeliveryError
from integrations.statuspage.client import marker
from tests.fakes.statuspage_api import FakeStatuspage, PageIncident
from tests.statuspage import test_statuspage_create_is_idempotent as idempotent
from tests.statuspage.test_statuspage_create_is_idempotent import (
    KEY,
    OURS,
    PAGE_ID,
    create,
    port,
    recorded,
)
from tests.support.links import MemoryTicketLinks


class PagedStatuspage(FakeStatuspage):
    """The stand-in, answering ``page`` (1-based pages of ``per_page``) as Statuspage does."""

    async def _unresolved(self, request: web.Request) -> web.Response:
        checked = await super()._unresolved(request)  # auth, throttling, per_page, counting
        if checked.status != 200:
            return checked
        per_page = int(request.query.get("per_page", "100"))
        page = int(request.query.get("page", "1"))
        newest = [self._json(i) for i in reversed(self.incidents.values())]
        open_ = [i for i in newest if i["status"] != "resolved"]
        return web.json_response(open_[(page - 1) * per_page : page * per_page])


session = idempotent.session  # the port tests' client session fixture


@pytest_asyncio.fixture
async def stand_in() -> AsyncIterator[PagedStatuspage]:
    async with PagedStatuspage(KEY, PAGE_ID, ("c1",)) as sp:
        yield sp


def others(sp: FakeStatuspage, n: int) -> None:
    """``n`` newer unresolved incidents that are not ours (another tool's, another page's)."""
    for k in range(n):
        inc_id = uuid.uuid4().hex[:12]
        sp.incidents[inc_id] = PageIncident(inc_id, f"Other {k}", "investigating", "minor", {})


async def test_a_first_create_sends_without_listing_the_pages_incidents(
    session: aiohttp.ClientSession, stand_in: PagedStatuspage
) -> None:
    links = MemoryTicketLinks()
    answer = await port(session, stand_in, links).deliver(create(1))
    assert stand_in.listed == 0 and len(stand_in.incidents) == 1
    assert links.records == [recorded(answer["id"])]


async def test_a_lost_create_is_found_behind_more_than_a_hundred_newer_unresolved_incidents(
    session: aiohttp.ClientSession, stand_in: PagedStatuspage
) -> None:
    links = MemoryTicketLinks()
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError, match="502"):
        await port(session, stand_in, links).deliver(create(1))
    (ours,) = stand_in.incidents.values()
    others(stand_in, 150)

    answer = await port(session, stand_in, links).deliver(create(2))

    assert answer["id"] == ours.id and len(stand_in.incidents) == 151
    assert ours.metadata == {"sitrep": {"key": marker("default", 1)}}
    assert stand_in.listed == 2  # the second page of a hundred held it


async def test_the_lookup_stops_at_its_cap_and_then_creates(
    session: aiohttp.ClientSession, stand_in: PagedStatuspage
) -> None:
    links = MemoryTicketLinks()
    links.refs[OURS] = {"state": "sent", "at": links.now().isoformat()}
    others(stand_in, 1200)  # an earlier attempt that never arrived; a very busy page
    answer = await port(session, stand_in, links).deliver(create(2))
    assert stand_in.listed == 10 and answer["id"] in stand_in.incidents
    assert len(stand_in.incidents) == 1201


@pytest.mark.parametrize("status", [420, 429])
async def test_a_throttled_create_takes_its_note_back_so_the_retry_does_not_look(
    session: aiohttp.ClientSession, stand_in: PagedStatuspage, status: int
) -> None:
    links = MemoryTicketLinks()
    stand_in.rate_limit_next(1, status=status, retry_after="3")
    with pytest.raises(DeliveryError) as slow:
        await port(session, stand_in, links).deliver(create(1))
    assert slow.value.retry_after == 3 and stand_in.incidents == {}
    assert links.refs[OURS] == {"state": "planned"}
    await port(session, stand_in, links).deliver(create(2))
    assert stand_in.listed == 0 and len(stand_in.incidents) == 1
