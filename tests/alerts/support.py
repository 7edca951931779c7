"""Signing webhook requests the way each sender does, and reading back what was stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.domain.model import Incident, TimelineEntry
from bot.outbox_types import OutboxRecord
from bot.runtime import Runtime

Client = TestClient[Any, Any]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "alerts"

AM_TOKEN = "am-token-5d1e"
AM_USER, AM_PASSWORD = "am", "pa:ss"
GRAFANA_SECRET = "grafana-secret-91"
PD_SECRETS = ["pd-old-secret", "pd-new-secret"]
DD_SECRET = "dd-secret-77"
OG_SECRET = "og-secret-88"
GENERIC_KEY = b"generic-webhook-key-0123456789ab"
GENERIC_SECRET = "whsec_" + base64.b64encode(GENERIC_KEY).decode()

ALL_SECRETS: dict[str, Any] = {
    "alertmanager_token": AM_TOKEN,
    "alertmanager_username": AM_USER,
    "alertmanager_password": AM_PASSWORD,
    "grafana_secret": GRAFANA_SECRET,
    "pagerduty_secrets": PD_SECRETS,
    "datadog_secret": DD_SECRET,
    "opsgenie_secret": OG_SECRET,
    "generic_secret": GENERIC_SECRET,
}
# Every delivery summarized and announced in its own transaction (no per-group settling), so
# tests can look right after each request; test_settle.py covers the settling itself.
IMMEDIATE: dict[str, Any] = {**ALL_SECRETS, "alert_settle_seconds": 0}


def fixture(name: str) -> bytes:
    """A recorded payload."""
    return (FIXTURES / name).read_bytes()


def am_headers() -> dict[str, str]:
    """Alertmanager with `http_config.authorization` (bearer)."""
    return {"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": "application/json"}


def basic_headers(user: str = AM_USER, password: str = AM_PASSWORD) -> dict[str, str]:
    """Alertmanager with `http_config.basic_auth`."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def grafana_headers(
    body: bytes, now: datetime, *, secret: str = GRAFANA_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Grafana's HMAC over `timestamp:body`."""
    ts = str(int(now.timestamp()) if timestamp is None else timestamp)
    sig = hmac.new(secret.encode(), ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {
        "X-Grafana-Alerting-Signature": sig,
        "X-Grafana-Alerting-Signature-Timestamp": ts,
        "Content-Type": "application/json",
    }


def pagerduty_headers(
    body: bytes, webhook_id: str, *, secret: str = PD_SECRETS[1]
) -> dict[str, str]:
    """PagerDuty v3: `X-PagerDuty-Signature: v1=<hex>` plus its retry-stable `X-Webhook-Id`."""
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-PagerDuty-Signature": f"v1=deadbeef,v1={sig}",
        "X-Webhook-Id": webhook_id,
        "Content-Type": "application/json",
    }


def generic_headers(
    body: bytes,
    msg_id: str,
    now: datetime,
    *,
    key: bytes = GENERIC_KEY,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, base64, `v1,` prefix."""
    ts = str(int(now.timestamp()) if timestamp is None else timestamp)
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "Content-Type": "application/json",
    }


def shared_headers(secret: str) -> dict[str, str]:
    """Datadog and Opsgenie: a shared secret in a custom header."""
    return {"X-Sitrep-Token": secret, "Content-Type": "application/json"}


def am_payload(
    alerts: list[dict[str, Any]], *, group: str = "DiskFull", status: str = "firing"
) -> dict[str, Any]:
    """An Alertmanager v4 webhook body for one group."""
    return {
        "version": "4",
        "receiver": "sitrep",
        "status": status,
        "groupKey": '{}:{alertname="' + group + '"}',
        "truncatedAlerts": 0,
        "externalURL": "http://127.0.0.1:9093",
        "groupLabels": {"alertname": group},
        "commonLabels": {},
        "commonAnnotations": {},
        "alerts": alerts,
    }


def am_alert(
    name: str,
    *,
    severity: str = "critical",
    status: str = "firing",
    fingerprint: str | None = None,
    starts: str = "2026-11-23T08:55:00Z",
    ends: str = "0001-01-01T00:00:00Z",
    summary: str | None = None,
    **labels: str,
) -> dict[str, Any]:
    """One Alertmanager alert."""
    all_labels = {"alertname": name.split("/")[0], "severity": severity, "instance": name, **labels}
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": summary or f"{name} is unhappy"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prom.example:9090/graph",
        "fingerprint": fingerprint or hashlib.sha256(name.encode()).hexdigest()[:16],
    }


async def post_am(
    client: Client, payload: dict[str, Any] | bytes, *, expect: int = 200
) -> dict[str, Any]:
    """POST to /webhooks/alertmanager with bearer auth and check the status."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    resp = await client.post("/webhooks/alertmanager", data=body, headers=am_headers())
    text = await resp.text()
    assert resp.status == expect, text
    return json.loads(text)  # type: ignore[no-any-return]


async def incidents(runtime: Runtime) -> list[Incident]:
    """All incidents, newest first."""
    ws = runtime.settings.workspace
    return await runtime.db.run(lambda repo: repo.list_incidents(ws, limit=1000))


async def timeline(runtime: Runtime, incident_id: int) -> list[TimelineEntry]:
    """An incident's timeline."""
    return await runtime.db.run(lambda repo: list(repo.timeline(incident_id)))


async def outbox(runtime: Runtime) -> list[OutboxRecord]:
    """Every outbox row, oldest first."""
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=100_000))
    return list(reversed(rows))


async def alert_count(runtime: Runtime) -> int:
    """How many alert rows exist."""
    from sqlalchemy import func, select

    from storage.tables import AlertRow

    def count(repo: Any) -> int:
        return int(repo.session.execute(select(func.count()).select_from(AlertRow)).scalar_one())

    return await runtime.db.run(count)
