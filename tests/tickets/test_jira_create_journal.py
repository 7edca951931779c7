"""A Jira create's "sent at" note lives in the database, not in one process: whichever replica
(or restarted process) retries a create whose answer was lost, or whose key failed to be
recorded, waits for Jira's lagging search instead of opening a second issue, for as long as
sitrep's clock says the note is young; a first create never searches at all.
"""

from __future__ import annotations

import aiohttp
import pytest

from bot.ports import DeliveryError, FixedClock
from bot.runtime import Runtime
from bot.tickets.links import ServiceTicketLinks
from bot.tickets.refs import JIRA, linked, ticket_key
from integrations.jira.client import INDEX_WAIT_SECONDS, JiraConfig, JiraTickets, basic_auth
from tests.fakes.jira_api import FakeJira
from tests.support.links import MemoryTicketLinks
from tests.tickets import test_jira_create_is_idempotent as idempotent
from tests.tickets.test_jira_create_is_idempotent import INCIDENT, OURS, call, port, recorded
from tests.web.support import Client, declare

SEARCH = ("GET", "/rest/api/3/search/jql")

# The port tests' fixtures: a client session and a Jira stand-in.
session, stand_in = idempotent.session, idempotent.stand_in


async def test_a_key_that_failed_to_record_makes_the_retry_wait_for_the_index_not_reopen(
    session: aiohttp.ClientSession, stand_in: FakeJira
) -> None:
    links = MemoryTicketLinks()
    p = port(session, stand_in, links)
    stand_in.index_lags = True
    links.crash_next_record = True  # Jira answered; keeping the key failed
    with pytest.raises(RuntimeError):
        await p.deliver(call("create", INCIDENT, 1))

    with pytest.raises(DeliveryError, match="waiting") as waiting:
        await p.deliver(call("create", INCIDENT, 2))
    assert not waiting.value.permanent and len(stand_in.issues) == 1
    assert links.refs[OURS]["state"] == "sent"  # the note outlived the answer

    stand_in.catch_up()
    answer = await p.deliver(call("create", INCIDENT, 3))
    assert answer["key"] == "OPS-1" and list(stand_in.issues) == ["OPS-1"]
    assert links.records == [recorded("OPS-1")]


async def test_another_replica_retrying_a_lost_create_waits_for_the_index_not_reopens(
    session: aiohttp.ClientSession, stand_in: FakeJira
) -> None:
    links = MemoryTicketLinks()  # the shared database
    stand_in.index_lags = True
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError, match="502"):
        await port(session, stand_in, links).deliver(call("create", INCIDENT, 1))

    replica = port(session, stand_in, links)  # no memory of the first attempt
    with pytest.raises(DeliveryError, match="waiting"):
        await replica.deliver(call("create", INCIDENT, 2))
    assert len(stand_in.issues) == 1 and links.records == []

    stand_in.catch_up()
    assert (await replica.deliver(call("create", INCIDENT, 3)))["key"] == "OPS-1"
    assert len(stand_in.issues) == 1


async def test_the_wait_is_counted_from_the_notes_time_on_sitreps_clock(
    session: aiohttp.ClientSession, stand_in: FakeJira
) -> None:
    links = MemoryTicketLinks()
    stand_in.index_lags = True
    stand_in.lose_next_create()
    with pytest.raises(DeliveryError):
        await port(session, stand_in, links).deliver(call("create", INCIDENT, 1))

    links.clock.advance(seconds=10)
    with pytest.raises(DeliveryError, match="waiting") as waiting:
        await port(session, stand_in, links).deliver(call("create", INCIDENT, 2))
    assert waiting.value.retry_after == pytest.approx(INDEX_WAIT_SECONDS - 10)

    # Past the window an issue still missing from the search was never made: send again.
    links.clock.advance(seconds=INDEX_WAIT_SECONDS)
    stand_in.issues.clear()
    answer = await port(session, stand_in, links).deliver(call("create", INCIDENT, 3))
    assert len(stand_in.issues) == 1 and links.records == [recorded(answer["key"])]


async def test_a_first_create_sends_without_searching(
    session: aiohttp.ClientSession, stand_in: FakeJira
) -> None:
    links = MemoryTicketLinks()
    answer = await port(session, stand_in, links).deliver(call("create", INCIDENT, 1))
    assert answer["key"] == "OPS-1" and SEARCH not in stand_in.requests
    assert links.refs[OURS]["id"] == "OPS-1"  # the note replaced by the key


async def test_a_create_jira_never_received_is_sent_again_at_once(
    session: aiohttp.ClientSession, stand_in: FakeJira
) -> None:
    links = MemoryTicketLinks()
    stand_in.index_lags = True
    await stand_in.stop()  # connection refused: the request never left
    with pytest.raises(DeliveryError):
        await port(session, stand_in, links).deliver(call("create", INCIDENT, 1))
    assert links.refs[OURS] == {"state": "planned"}
    await stand_in.start()
    answer = await port(session, stand_in, links).deliver(call("create", INCIDENT, 2))
    assert answer["key"] == "OPS-1" and SEARCH not in stand_in.requests


async def test_the_note_is_in_the_database_where_a_second_replica_reads_it(
    client: Client, runtime: Runtime, clock: FixedClock, session: aiohttp.ClientSession
) -> None:
    incident = await declare(runtime, "Checkout is down")
    assert incident.id is not None
    ws, key = runtime.settings.workspace, ticket_key(incident.id)
    payload = INCIDENT | {"number": incident.number, "incident": incident.ref}

    async def stored() -> dict[str, object] | None:
        return await runtime.db.run(lambda repo: repo.get_chat_ref(ws, JIRA, key))

    async with FakeJira(email="e@x", token="t") as jira:
        config = JiraConfig(jira.url, basic_auth("e@x", "t"), "OPS", "Task")

        def replica() -> JiraTickets:
            return JiraTickets(lambda: session, ServiceTicketLinks(runtime.service), config)

        jira.index_lags = True
        jira.lose_next_create()
        with pytest.raises(DeliveryError, match="502"):
            await replica().deliver(call("create", payload, 1, ws=ws))
        assert await stored() == {"state": "sent", "at": clock.now().isoformat()}

        clock.advance(seconds=5)
        with pytest.raises(DeliveryError, match="waiting") as waiting:
            await replica().deliver(call("create", payload, 2, ws=ws))
        assert waiting.value.retry_after == pytest.approx(INDEX_WAIT_SECONDS - 5)
        assert len(jira.issues) == 1

        jira.catch_up()
        answer = await replica().deliver(call("create", payload, 3, ws=ws))
        assert answer["key"] == "OPS-1" and len(jira.issues) == 1
        ref = await stored()
        assert linked(ref) and ref is not None and ref["key"] == "OPS-1"
