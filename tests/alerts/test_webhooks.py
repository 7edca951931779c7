"""POST /webhooks/{source} over real HTTP: each sender's auth, size, type and shape checks.

Every refusal must store nothing; every source's recorded payload must go through.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.ports import FixedClock
from bot.runtime import Runtime
from tests.alerts.support import (
    ALL_SECRETS,
    DD_SECRET,
    OG_SECRET,
    PD_SECRETS,
    Client,
    alert_count,
    am_headers,
    basic_headers,
    fixture,
    generic_headers,
    grafana_headers,
    pagerduty_headers,
    shared_headers,
)
from tests.conftest import T0

AM = fixture("alertmanager_payload.json")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(ALL_SECRETS)


async def post(
    client: Client, source: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    resp = await client.post(f"/webhooks/{source}", data=body, headers=headers)
    text = await resp.text()
    assert resp.content_type == "application/json", text
    return resp.status, json.loads(text)


# -- every source, recorded payloads, properly signed --------------------------------------


def signed(source: str, body: bytes, clock: FixedClock, n: int = 1) -> dict[str, str]:
    now = clock.now()
    return {
        "alertmanager": lambda: am_headers(),
        "grafana": lambda: grafana_headers(body, now),
        "pagerduty": lambda: pagerduty_headers(body, f"wh-{n}"),
        "datadog": lambda: shared_headers(DD_SECRET),
        "opsgenie": lambda: shared_headers(OG_SECRET),
        "generic": lambda: generic_headers(body, f"msg_{n}", now),
    }[source]()


@pytest.mark.parametrize(
    ("source", "name", "alerts"),
    [
        ("alertmanager", "alertmanager_payload.json", 1),
        ("alertmanager", "alertmanager_truncated_newer_fields.json", 3),
        ("grafana", "grafana_firing.json", 2),
        ("pagerduty", "pagerduty_incident_triggered.json", 1),
        ("pagerduty", "pagerduty_ping.json", 0),
        ("datadog", "datadog_triggered.json", 1),
        ("opsgenie", "opsgenie_create.json", 1),
        ("generic", "generic_single.json", 1),
        ("generic", "generic_batch.json", 2),
    ],
)
async def test_each_source_accepts_its_recorded_payload(
    client: Client, runtime: Runtime, clock: FixedClock, source: str, name: str, alerts: int
) -> None:
    body = fixture(name)
    status, answer = await post(client, source, body, signed(source, body, clock))
    assert status == 200, answer
    assert answer["received"] == alerts and answer["new"] == alerts
    assert await alert_count(runtime) == alerts
    listed = await client.get(
        f"/api/alerts?source={source}", headers={"Authorization": "Bearer test-token-0123456789"}
    )
    assert len((await listed.json())["alerts"]) == alerts


async def test_alertmanager_basic_auth_works_too(client: Client) -> None:
    status, _ = await post(client, "alertmanager", AM, basic_headers())
    assert status == 200


async def test_pagerduty_accepts_a_signature_from_the_old_secret_during_rotation(
    client: Client,
) -> None:
    body = fixture("pagerduty_incident_triggered.json")
    status, _ = await post(
        client, "pagerduty", body, pagerduty_headers(body, "wh-rot", secret=PD_SECRETS[0])
    )
    assert status == 200


# -- refusals: 401 and nothing stored -------------------------------------------------------

JSON = {"Content-Type": "application/json"}


def refusals(clock: FixedClock) -> list[tuple[str, str, bytes, dict[str, str], str]]:
    """(case, source, body, headers, reason) — missing, bad and stale credentials."""
    now = clock.now()
    pd = fixture("pagerduty_incident_triggered.json")
    gr = fixture("grafana_firing.json")
    gen = fixture("generic_single.json")
    old = int((now - timedelta(minutes=10)).timestamp())
    return [
        ("am-missing", "alertmanager", AM, JSON, "missing credentials"),
        (
            "am-bad-bearer",
            "alertmanager",
            AM,
            {**JSON, "Authorization": "Bearer nope"},
            "bad credentials",
        ),
        ("am-bad-basic", "alertmanager", AM, basic_headers(password="wrong"), "bad credentials"),
        ("grafana-missing", "grafana", gr, JSON, "missing signature"),
        ("grafana-bad", "grafana", gr, grafana_headers(gr, now, secret="other"), "bad signature"),
        (
            "grafana-stale",
            "grafana",
            gr,
            grafana_headers(gr, now, timestamp=old),
            "stale timestamp",
        ),
        ("grafana-tampered", "grafana", gr + b" ", grafana_headers(gr, now), "bad signature"),
        ("pd-missing", "pagerduty", pd, JSON, "missing signature"),
        ("pd-bad", "pagerduty", pd, pagerduty_headers(pd, "x", secret="other"), "bad signature"),
        ("dd-missing", "datadog", fixture("datadog_triggered.json"), JSON, "missing credentials"),
        (
            "dd-bad",
            "datadog",
            fixture("datadog_triggered.json"),
            shared_headers("x"),
            "bad credentials",
        ),
        (
            "og-bad",
            "opsgenie",
            fixture("opsgenie_create.json"),
            shared_headers(DD_SECRET),
            "bad credentials",
        ),
        ("generic-missing", "generic", gen, JSON, "missing signature"),
        (
            "generic-bad",
            "generic",
            gen,
            generic_headers(gen, "m", now, key=b"k" * 32),
            "bad signature",
        ),
        (
            "generic-stale",
            "generic",
            gen,
            generic_headers(gen, "m", now, timestamp=old),
            "stale timestamp",
        ),
    ]


CASES = [c[0] for c in refusals(FixedClock(T0))]


@pytest.mark.parametrize("case", CASES)
async def test_unauthenticated_requests_get_401_and_store_nothing(
    client: Client, runtime: Runtime, clock: FixedClock, case: str
) -> None:
    ((_, source, body, headers, reason),) = [r for r in refusals(clock) if r[0] == case]
    status, answer = await post(client, source, body, headers)
    assert status == 401
    assert answer["error"] == f"not authenticated: {reason}"
    assert await alert_count(runtime) == 0


# -- disabled and unknown sources -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "setting", "empty"),
    [
        ("grafana", "grafana_secret", None),
        ("pagerduty", "pagerduty_secrets", []),
        ("datadog", "datadog_secret", None),
        ("opsgenie", "opsgenie_secret", None),
        ("generic", "generic_secret", None),
    ],
)
async def test_a_source_without_a_secret_is_disabled_not_open(
    client: Client,
    settings: Settings,
    runtime: Runtime,
    clock: FixedClock,
    source: str,
    setting: str,
    empty: Any,
) -> None:
    setattr(settings, setting, empty)
    body = fixture("generic_single.json")
    status, answer = await post(client, source, body, signed(source, body, clock))
    assert status == 404
    assert "not enabled" in answer["error"] and "SITREP_" in answer["error"]
    assert await alert_count(runtime) == 0


async def test_alertmanager_without_token_or_user_is_disabled(
    client: Client, settings: Settings
) -> None:
    settings.alertmanager_token = None
    settings.alertmanager_username = None
    status, answer = await post(client, "alertmanager", AM, am_headers())
    assert status == 404 and "SITREP_ALERTMANAGER_TOKEN" in answer["error"]


async def test_unknown_source_is_404(client: Client) -> None:
    status, answer = await post(client, "nagios", AM, am_headers())
    assert status == 404 and "alertmanager" in answer["sources"]


# -- size, media type and shape -------------------------------------------------------------


async def test_body_over_one_mib_is_413_with_a_json_message(
    client: Client, runtime: Runtime
) -> None:
    big = b'{"alerts": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
    status, answer = await post(client, "alertmanager", big, am_headers())
    assert status == 413 and "1 MiB" in answer["error"]
    assert await alert_count(runtime) == 0


async def test_chunked_body_over_one_mib_is_413_too(client: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"alerts": [], "pad": "'
        for _ in range(40):
            yield b"x" * 32768
        yield b'"}'

    resp = await client.post("/webhooks/alertmanager", data=chunks(), headers=am_headers())
    assert resp.status == 413
    assert "1 MiB" in (await resp.json())["error"]


async def test_unauthenticated_big_body_is_refused_before_reading(client: Client) -> None:
    big = b"x" * (2 * 1024 * 1024)
    status, _ = await post(client, "alertmanager", big, JSON)
    assert status in (401, 413)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (AM, "text/plain"),
        (AM, "application/x-www-form-urlencoded"),
        (b"not json at all", "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
)
async def test_non_json_is_415(
    client: Client, runtime: Runtime, body: bytes, content_type: str
) -> None:
    headers = {**am_headers(), "Content-Type": content_type}
    status, answer = await post(client, "alertmanager", body, headers)
    assert status == 415, answer
    assert await alert_count(runtime) == 0


async def test_a_body_without_content_type_is_accepted_when_it_is_json(client: Client) -> None:
    headers = {"Authorization": am_headers()["Authorization"]}
    resp = await client.post(
        "/webhooks/alertmanager", data=AM, headers=headers, skip_auto_headers=["Content-Type"]
    )
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"version": "4"}, "alerts"),
        ({"alerts": [{"status": "burning", "labels": {}}]}, "alerts[0].status"),
        ({"alerts": [{"status": "firing", "labels": "x"}]}, "alerts[0].labels"),
        ({"alerts": [{"status": "firing", "startsAt": "yesterday"}]}, "alerts[0].startsAt"),
        ([1, 2], "payload"),
    ],
)
async def test_malformed_payload_is_400_naming_the_field(
    client: Client, runtime: Runtime, payload: Any, field: str
) -> None:
    status, answer = await post(client, "alertmanager", json.dumps(payload).encode(), am_headers())
    assert status == 400, answer
    assert answer["field"] == field and answer["error"].startswith(field)
    assert await alert_count(runtime) == 0


async def test_metrics_count_alerts_by_source_and_outcome(client: Client) -> None:
    await post(client, "alertmanager", AM, am_headers())
    await post(client, "alertmanager", AM, am_headers())
    await post(client, "alertmanager", AM, JSON)
    text = await (await client.get("/metrics")).text()
    assert 'sitrep_alerts_received_total{outcome="new",source="alertmanager"} 1.0' in text
    assert 'sitrep_alerts_received_total{outcome="unchanged",source="alertmanager"} 1.0' in text
    assert 'sitrep_alerts_received_total{outcome="unauthorized",source="alertmanager"} 1.0' in text
