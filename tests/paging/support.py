"""The PagerDuty and Opsgenie stand-ins as the paging tests configure them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.opsgenie_api import FakeOpsgenie
from tests.fakes.pagerduty_events import FakePagerDutyEvents

PD_KEY = "R0UTINGKEY0000000000000000000001"
GENIE_KEY = "eb243592-faa2-4ba2-a551-1afdf565c889"


@pytest_asyncio.fixture
async def pd() -> AsyncIterator[FakePagerDutyEvents]:
    """PagerDuty Events, knowing one routing key (the Payments API service)."""
    async with FakePagerDutyEvents({PD_KEY: "Payments API"}) as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def og() -> AsyncIterator[FakeOpsgenie]:
    """Opsgenie, accepting one API key."""
    async with FakeOpsgenie(GENIE_KEY) as stand_in:
        yield stand_in
