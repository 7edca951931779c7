"""The status page is off until its block is whole, bad values stop start-up naming the key,
and the port speaks Statuspage's API as the stand-in enforces it (OAuth header, statuses,
unknown ids, 420 throttling) with the outbox's retry and park rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from pydantic import ValidationError

from bot.config import Settings
from bot.ports import DeliveryError, OutsideCall
from bot.statuspage.rules import STATUSPAGE, StatuspageRules
from integrations.statuspage.client import StatuspageIncidents
from tests.fakes.statuspage_api import FakeStatuspage
from tests.support.links import MemoryTicketLinks

KEY, PAGE = "sp-key", "pg0001"


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, database_url="sqlite://", **values)


def test_off_until_configured_and_whole() -> None:
    assert StatuspageRules.from_settings(_settings()) is None
    with pytest.raises(ValidationError, match="SITREP_STATUSPAGE_API_KEY"):
        _settings(statuspage_page_id=PAGE)
    with pytest.raises(ValidationError, match="SITREP_STATUSPAGE_PAGE_ID"):
        _settings(statuspage_api_key=KEY)
    with pytest.raises(ValidationError, match="SITREP_STATUSPAGE_API_KEY"):
        _settings(statuspage_components=["abc"])


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"statuspage_component_status": {"SEV1": "down"}}, "COMPONENT_STATUS"),
        ({"statuspage_component_status": {"SEV9": "major_outage"}}, "unknown severity"),
        ({"statuspage_impact": {"SEV1": "huge"}}, "SITREP_STATUSPAGE_IMPACT"),
        ({"statuspage_components": ["no spaces please"]}, "SITREP_STATUSPAGE_COMPONENTS"),
        ({"statuspage_api_url": "ftp://x"}, "SITREP_STATUSPAGE_API_URL"),
    ],
)
def test_bad_values_stop_start_up_naming_the_key(values: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        _settings(statuspage_api_key=KEY, statuspage_page_id=PAGE, **values)


def test_the_key_never_shows_in_the_config_dump() -> None:
    settings = _settings(statuspage_api_key=KEY, statuspage_page_id=PAGE)
    assert KEY not in str(settings.safe_dump())


OURS = ("default", STATUSPAGE, 1, None)  # INC-1's ref in the links


@pytest_asyncio.fixture
async def page() -> AsyncIterator[FakeStatuspage]:
    async with FakeStatuspage(KEY, PAGE, ("c1",)) as stand_in:
        yield stand_in


def _call(action: str, **payload: Any) -> OutsideCall:
    body = {
        "number": 1,
        "name": "Checkout down",
        "status": "investigating",
        "body": "Looking",
        "component_status": "major_outage",
        "components": ["c1"],
        "impact": "critical",
        **payload,
    }
    return OutsideCall("default", action, body, "k", 1)


async def test_port_creates_records_then_patches_and_maps_refusals(page: FakeStatuspage) -> None:
    links = MemoryTicketLinks()
    async with aiohttp.ClientSession() as session:
        port = StatuspageIncidents(
            lambda: session, links, api_key=KEY, page_id=PAGE, base_url=page.url + "/v1"
        )
        wrong = StatuspageIncidents(
            lambda: session, links, api_key="nope", page_id=PAGE, base_url=page.url + "/v1"
        )
        with pytest.raises(DeliveryError) as refused:
            await wrong.deliver(_call("create"))
        assert refused.value.permanent and "credentials refused" in str(refused.value)
        with pytest.raises(DeliveryError) as bad:
            await port.deliver(_call("create", status="panicking"))
        assert bad.value.permanent and "422" in str(bad.value)
        with pytest.raises(DeliveryError) as early:
            await port.deliver(_call("update"))
        assert not early.value.permanent  # waits for its create
        page.rate_limit_next(1, status=420, retry_after="7")
        with pytest.raises(DeliveryError) as slow:
            await port.deliver(_call("create"))
        assert not slow.value.permanent and slow.value.retry_after == 7
        made = await port.deliver(_call("create"))
        assert links.refs[OURS]["id"] == made["id"] and made["url"].startswith("https://stspg.io/")
        # A retried create after the id was kept patches instead of opening a second one.
        await port.deliver(_call("create", body="Still looking"))
        await port.deliver(_call("resolve", status="resolved", component_status="operational"))
        (inc,) = page.incidents.values()
        assert inc.status == "resolved" and page.component_status == {"c1": "operational"}
        assert [u["body"] for u in inc.updates] == ["Looking", "Still looking", "Looking"]
        links.refs[OURS] = {"id": "gone", "key": "gone", "url": ""}
        with pytest.raises(DeliveryError) as gone:
            await port.deliver(_call("update"))
        assert gone.value.permanent and "404" in str(gone.value)


async def test_stand_in_refuses_a_create_without_a_name(page: FakeStatuspage) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{page.url}/v1/pages/{PAGE}/incidents"
        auth = {"Authorization": f"OAuth {KEY}"}
        resp = await session.post(url, json={"incident": {"status": "investigating"}}, headers=auth)
        assert resp.status == 422
        resp = await session.post(url, json={"nothing": 1}, headers=auth)
        assert resp.status == 400
        resp = await session.post(url, json={"incident": {"name": "x"}})
        assert resp.status == 401
