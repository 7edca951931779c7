"""The Jira and ServiceNow stand-ins, served to every ticket test that names them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.jira_api import FakeJira
from tests.fakes.servicenow_api import FakeServiceNow
from tests.tickets.support import JIRA_EMAIL, JIRA_TOKEN, SN_PASSWORD, SN_USER


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with FakeJira(email=JIRA_EMAIL, token=JIRA_TOKEN, accounts=("acc-bob",)) as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def snow() -> AsyncIterator[FakeServiceNow]:
    async with FakeServiceNow(SN_USER, SN_PASSWORD) as stand_in:
        yield stand_in
