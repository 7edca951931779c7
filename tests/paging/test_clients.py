"""The PagerDuty and Opsgenie ports against their stand-ins over real HTTP, and the stand-ins
themselves: they refuse what the real services refuse, with the real services' shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.paging.targets import RESOLVE, TRIGGER, dedup_key
from bot.ports import DeliveryError, OutsideCall
from integrations.opsgenie.alerts import OpsgenieAlerts
from integrations.outbound import (
    journaled_create,
    made_nothing,
    refusal,
    retry_after,
    status_of,
)
from integrations.pagerduty.events import PagerDutyEvents
from tests.fakes.opsgenie_api import FakeOpsgenie
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.paging.support import GENIE_KEY, PD_KEY, og, pd

__all__ = ["og", "pd"]  # fixtures (PagerDuty and Opsgenie stand-ins)

KEY = dedup_key("default", 7, "payments")
TEAM = [{"type": "team", "name": "Payments"}]


def call(action: str = TRIGGER, **payload: Any) -> OutsideCall:
    body = {
        "target": "payments",
        "dedup_key": KEY,
        "summary": "INC-7 SEV1: Checkout down",
        "severity": "SEV1",
        "rank": 1,
        "incident": "INC-7",
        "url": "https://sitrep.example.com/incidents/7",
        "source": "sitrep",
    }
    return OutsideCall("default", action, body | payload, f"k:{action}", 1)


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def pd_port(session: aiohttp.ClientSession, pd: FakePagerDutyEvents) -> PagerDutyEvents:
    return PagerDutyEvents(lambda: session, {"Payments": PD_KEY}, base_url=pd.url, timeout=2)


def og_port(
    session: aiohttp.ClientSession, og: FakeOpsgenie, key: str = GENIE_KEY
) -> OpsgenieAlerts:
    return OpsgenieAlerts(lambda: session, key, {"payments": TEAM}, base_url=og.url, timeout=2)


# -- PagerDuty -----------------------------------------------------------------------------------


async def test_pagerduty_trigger_opens_one_incident_however_often_it_is_retried(
    session: aiohttp.ClientSession, pd: FakePagerDutyEvents
) -> None:
    port = pd_port(session, pd)
    first = await port.deliver(call())
    again = await port.deliver(call())
    assert first == {"status": "success", "dedup_key": KEY, "message": "Event processed"}
    assert again["dedup_key"] == KEY
    (incident,) = pd.incidents
    assert (incident.service, incident.severity, incident.alerts) == ("Payments API", "critical", 2)
    assert incident.summary == "INC-7 SEV1: Checkout down"
    sent = pd.received[0]
    assert sent["links"][0]["href"] == "https://sitrep.example.com/incidents/7"


async def test_pagerduty_resolve_closes_the_incident_of_the_same_dedup_key(
    session: aiohttp.ClientSession, pd: FakePagerDutyEvents
) -> None:
    port = pd_port(session, pd)
    await port.deliver(call())
    await port.deliver(call(RESOLVE))
    assert pd.open_incidents() == []
    assert pd.incident(KEY) is not None and pd.incident(KEY).status == "resolved"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {
                "event_action": "trigger",
                "payload": {"summary": "s", "source": "x", "severity": "info"},
            },
            "'routing_key' is missing or blank",
        ),
        (
            {"routing_key": PD_KEY, "payload": {"summary": "s", "source": "x", "severity": "info"}},
            "'event_action' is missing or blank",
        ),
        (
            {
                "routing_key": PD_KEY,
                "event_action": "trigger",
                "payload": {"source": "x", "severity": "info"},
            },
            "'payload.summary' is missing or blank",
        ),
        (
            {
                "routing_key": PD_KEY,
                "event_action": "trigger",
                "payload": {"summary": "s", "severity": "info"},
            },
            "'payload.source' is missing or blank",
        ),
        (
            {
                "routing_key": PD_KEY,
                "event_action": "trigger",
                "payload": {"summary": "s", "source": "x"},
            },
            "'payload.severity' is missing or blank",
        ),
        (
            {
                "routing_key": "nope",
                "event_action": "trigger",
                "payload": {"summary": "s", "source": "x", "severity": "info"},
            },
            "Invalid routing key",
        ),
    ],
)
async def test_pagerduty_stand_in_refuses_events_missing_what_pagerduty_requires(
    session: aiohttp.ClientSession, pd: FakePagerDutyEvents, body: dict[str, Any], error: str
) -> None:
    async with session.post(f"{pd.url}/v2/enqueue", json=body) as resp:
        answer = await resp.json()
    assert resp.status == 400
    assert answer["status"] == "invalid event" and answer["message"] == "Event object is invalid"
    assert error in answer["errors"]
    assert pd.incidents == []


async def test_pagerduty_refusal_parks_and_rate_limit_and_outage_retry(
    session: aiohttp.ClientSession, pd: FakePagerDutyEvents
) -> None:
    port = pd_port(session, pd)
    bad = PagerDutyEvents(lambda: session, {"payments": "not-a-key"}, base_url=pd.url)
    with pytest.raises(DeliveryError) as refused:
        await bad.deliver(call())
    assert refused.value.permanent and "Invalid routing key" in str(refused.value)
    assert "not-a-key" not in str(refused.value)  # the key never reaches logs or the outbox

    pd.rate_limit_next(1, retry_after="7")
    with pytest.raises(DeliveryError) as limited:
        await port.deliver(call())
    assert not limited.value.permanent and limited.value.retry_after == 7

    pd.fail_next(1, 503)
    with pytest.raises(DeliveryError) as down:
        await port.deliver(call())
    assert not down.value.permanent and "503" in str(down.value)
    assert pd.incidents == []


async def test_pagerduty_unreachable_is_retried_not_parked(session: aiohttp.ClientSession) -> None:
    fake = FakePagerDutyEvents({PD_KEY: "Payments API"})
    await fake.start()
    await fake.stop()  # its port now refuses connections
    port = pd_port(session, fake)
    with pytest.raises(DeliveryError) as refused:
        await port.deliver(call())
    assert not refused.value.permanent
    await fake.start()  # back on the same port
    try:
        assert (await port.deliver(call()))["status"] == "success"
    finally:
        await fake.stop()


async def test_pagerduty_target_without_a_key_is_parked(
    session: aiohttp.ClientSession, pd: FakePagerDutyEvents
) -> None:
    with pytest.raises(DeliveryError) as missing:
        await pd_port(session, pd).deliver(call(target="billing"))
    assert missing.value.permanent


# -- Opsgenie ------------------------------------------------------------------------------------


async def test_opsgenie_create_and_close_by_alias(
    session: aiohttp.ClientSession, og: FakeOpsgenie
) -> None:
    port = og_port(session, og)
    created = await port.deliver(call())
    assert created["result"] == "Request will be processed" and created["request_id"]
    await port.deliver(call())  # a retry: Opsgenie deduplicates by alias
    (alert,) = og.alerts
    assert (alert.alias, alert.priority, alert.count) == (KEY, "P1", 2)
    assert alert.responders == TEAM
    _path, headers, _ = og.requests[0]
    assert headers["Authorization"] == f"GenieKey {GENIE_KEY}"
    await port.deliver(call(RESOLVE))
    assert og.open_alerts() == []
    close_path = og.requests[-1][0]
    assert close_path.endswith("/close?identifierType=alias")


async def test_opsgenie_stand_in_wants_the_genie_key_and_a_message(
    session: aiohttp.ClientSession, og: FakeOpsgenie
) -> None:
    body = {"message": "x", "alias": "a"}
    async with session.post(f"{og.url}/v2/alerts", json=body) as resp:
        assert resp.status == 401
    bearer = {"Authorization": f"Bearer {GENIE_KEY}"}
    async with session.post(f"{og.url}/v2/alerts", json=body, headers=bearer) as resp:
        assert resp.status == 401
    genie = {"Authorization": f"GenieKey {GENIE_KEY}"}
    async with session.post(f"{og.url}/v2/alerts", json={"alias": "a"}, headers=genie) as resp:
        answer = await resp.json()
    assert resp.status == 422 and answer["errors"] == {"message": "Message can not be empty."}
    assert answer["requestId"]
    async with session.post(f"{og.url}/v2/alerts", json=body, headers=genie) as resp:
        assert resp.status == 202 and (await resp.json())["requestId"]
    assert [a.alias for a in og.alerts] == ["a"]


async def test_opsgenie_wrong_key_parks_and_rate_limit_retries_after(
    session: aiohttp.ClientSession, og: FakeOpsgenie
) -> None:
    with pytest.raises(DeliveryError) as refused:
        await og_port(session, og, key="wrong-key").deliver(call())
    assert refused.value.permanent and "wrong-key" not in str(refused.value)
    og.rate_limit_next(1, retry_after="3")
    with pytest.raises(DeliveryError) as limited:
        await og_port(session, og).deliver(call())
    assert not limited.value.permanent and limited.value.retry_after == 3
    assert og.alerts == []


def test_retry_after_reads_seconds_and_http_dates_and_ignores_nonsense() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 6, 8, 0, 0, tzinfo=UTC)
    assert retry_after("12", now) == 12
    assert retry_after("Sun, 06 Dec 2026 08:00:30 GMT", now) == 30
    assert retry_after("Sun, 06 Dec 2026 07:00:00 GMT", now) == 0
    assert retry_after("soon", now) is None
    assert retry_after("nan", now) is None
    assert retry_after("99999999", now) == 3600


@pytest.mark.parametrize(
    ("status", "permanent", "made_nothing_there"),
    [
        (400, True, True),
        (401, True, True),
        (409, True, True),
        (420, False, True),
        (429, False, True),
        (500, False, False),
        (503, False, False),
    ],
)
def test_a_refusal_keeps_its_status_and_says_whether_the_service_made_anything(
    status: int, permanent: bool, made_nothing_there: bool
) -> None:
    exc = refusal("jira", status, "no such field", 7.0)
    assert (status_of(exc), exc.permanent, made_nothing(exc)) == (
        status,
        permanent,
        made_nothing_there,
    )
    assert exc.retry_after == (None if permanent else 7.0)
    assert str(exc).startswith(f"jira: HTTP {status}: ")
    # A call that never got an answer has no status; a timeout may have acted.
    assert status_of(DeliveryError("jira: no answer within 10s")) is None
    assert not made_nothing(DeliveryError("jira: no answer within 10s"))


async def test_a_journaled_create_takes_its_note_back_only_when_nothing_was_made() -> None:
    notes: list[str] = []

    async def sending() -> None:
        notes.append("sent")

    async def unsent() -> None:
        notes.append("unsent")

    async def fails(exc: DeliveryError) -> dict[str, str]:
        raise exc

    async def made() -> dict[str, str]:
        return {"key": "OPS-1"}

    assert await journaled_create(sending, unsent, made) == {"key": "OPS-1"}
    assert notes == ["sent"]
    for exc, after in [
        (refusal("jira", 429, "slow down", 1.0), ["sent", "unsent"]),
        (refusal("jira", 502, "bad gateway", None), ["sent"]),
    ]:
        notes.clear()
        with pytest.raises(DeliveryError):
            await journaled_create(sending, unsent, partial(fails, exc))
        assert notes == after
