"""Alert webhook parsers against recorded and documented payloads."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from integrations.alerts import (
    SEVERITIES,
    SOURCES,
    AlertStatus,
    AuthScheme,
    ParsedWebhook,
    PayloadError,
    alertmanager,
    datadog,
    decode_json,
    generic,
    grafana,
    opsgenie,
    pagerduty,
    parse_body,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alerts"
REAL_ALERTMANAGER = [
    "alertmanager_payload.json",
    "alertmanager_payload_resolved.json",
    "alertmanager_payload_fail500.json",
    "alertmanager_payload_from_prometheus.json",
]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def only(parsed: ParsedWebhook) -> Any:
    assert len(parsed.alerts) == 1
    return parsed.alerts[0]


# --- Alertmanager ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_ALERTMANAGER)
def test_fnv_fingerprint_matches_real_alertmanager(name: str) -> None:
    for alert in load(name)["alerts"]:
        assert alertmanager.fingerprint(alert["labels"]) == alert["fingerprint"]


@pytest.mark.parametrize("name", REAL_ALERTMANAGER)
def test_missing_fingerprint_is_computed_like_alertmanager(name: str) -> None:
    payload = load(name)
    expected = payload["alerts"][0].pop("fingerprint")
    assert only(alertmanager.parse(payload, {})).fingerprint == expected


def test_fingerprint_of_no_labels_is_fnv_offset_basis() -> None:
    assert alertmanager.fingerprint({}) == "cbf29ce484222325"


def test_alertmanager_firing() -> None:
    parsed = alertmanager.parse(load("alertmanager_payload.json"), {"User-Agent": "Alertmanager"})
    alert = only(parsed)
    assert parsed.source == "alertmanager"
    assert parsed.group_key == '{}:{alertname="DiskFull"}'
    assert parsed.delivery_id is None
    assert parsed.truncated == 0
    assert parsed.extras["receiver"] == "ok"
    assert parsed.extras["externalURL"] == "http://127.0.0.1:9093"
    assert parsed.extras["commonLabels"]["service"] == "postgres"
    assert "alerts" not in parsed.extras
    assert alert.source == "alertmanager"
    assert alert.fingerprint == "bca19f25a6783506"
    assert alert.group_key == '{}:{alertname="DiskFull"}'
    assert alert.status is AlertStatus.FIRING
    assert alert.severity == "critical"
    assert alert.title == "Disk almost full on db1"
    assert alert.description == ""
    assert alert.labels == {
        "alertname": "DiskFull",
        "instance": "db1:9100",
        "service": "postgres",
        "severity": "critical",
    }
    assert alert.annotations["runbook_url"] == "https://runbooks.example/disk"
    assert alert.starts_at == datetime(2026, 11, 22, 22, 59, 52, 86937, tzinfo=UTC)
    assert alert.ends_at is None  # "0001-01-01T00:00:00Z"
    assert alert.links.generator == "http://prom.example:9090/graph?g0.expr=disk"
    assert alert.links.runbook == "https://runbooks.example/disk"
    assert alert.links.dashboard is None
    assert alert.external_id is None
    assert alert.raw["fingerprint"] == "bca19f25a6783506"


def test_alertmanager_silence_link_prefills_the_labels() -> None:
    alert = only(alertmanager.parse(load("alertmanager_payload.json"), {}))
    assert alert.links.silence is not None
    base, _, encoded = alert.links.silence.partition("?filter=")
    assert base == "http://127.0.0.1:9093/#/silences/new"
    assert " " not in encoded and '"' not in encoded
    assert unquote(encoded) == (
        '{alertname="DiskFull", instance="db1:9100", service="postgres", severity="critical"}'
    )


def test_silence_link_escapes_quotes_and_trailing_slash() -> None:
    url = alertmanager.silence_url("https://am.example/", {"path": '/v1/"x"', "a": "b\\c"})
    assert url is not None
    assert url.startswith("https://am.example/#/silences/new?filter=")
    assert unquote(url.split("filter=")[1]) == '{a="b\\\\c", path="/v1/\\"x\\""}'
    assert alertmanager.silence_url("", {"a": "b"}) is None


@pytest.mark.parametrize(
    "labels",
    [
        {"alertname": "DiskFull", "instance": "db1:9100", "path": "/var/lib"},
        {"a": 'quote " and back\\slash', "b": "new\nline", "c": ""},
        {"ünïcode": "日本 ✓", "emoji": "🔥", "space name": "100% sure & <tags>"},
        {chr(code): chr(code) * 2 for code in range(32, 127)},
    ],
)
def test_silence_link_encodes_the_label_set_as_one_url_component(labels: dict[str, str]) -> None:
    url = alertmanager.silence_url("https://am.example", labels)
    expected = quote(alertmanager.labelset(labels), safe="")
    assert url == f"https://am.example/#/silences/new?filter={expected}"


def test_alertmanager_resolved_keeps_identity_and_sets_end() -> None:
    firing = only(alertmanager.parse(load("alertmanager_payload.json"), {}))
    resolved = only(alertmanager.parse(load("alertmanager_payload_resolved.json"), {}))
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.group_key == firing.group_key
    assert resolved.starts_at == firing.starts_at
    assert resolved.ends_at == datetime(2026, 11, 22, 23, 0, 1, tzinfo=UTC)


def test_alertmanager_without_severity_or_generator() -> None:
    parsed = alertmanager.parse(load("alertmanager_payload_fail500.json"), {})
    alert = only(parsed)
    assert alert.severity == "warning"
    assert alert.links.generator is None
    assert alert.title == "receiver returns 500"
    assert alert.group_key == '{}/{scenario="fail500"}:{alertname="Fail500Test"}'
    assert parsed.extras["receiver"] == "fail500"


def test_alertmanager_from_prometheus_rule() -> None:
    alert = only(alertmanager.parse(load("alertmanager_payload_from_prometheus.json"), {}))
    assert alert.severity == "warning"
    assert alert.fingerprint == "39e8ad63bff262d8"
    assert alert.starts_at == datetime(2026, 11, 22, 23, 3, 35, 480000, tzinfo=UTC)
    assert alert.links.generator == "http://vm:9090/graph?g0.expr=vector%281%29&g0.tab=1"


def test_alertmanager_truncated_group_with_newer_fields() -> None:
    parsed = alertmanager.parse(load("alertmanager_truncated_newer_fields.json"), {})
    assert parsed.truncated == 2
    assert len(parsed.alerts) == 3
    assert parsed.extras["notification_reason"] == "new_alerts"
    assert parsed.extras["routeLabels"] == {"team": "payments"}
    assert [a.status for a in parsed.alerts] == [
        AlertStatus.FIRING,
        AlertStatus.FIRING,
        AlertStatus.RESOLVED,
    ]
    assert len({a.fingerprint for a in parsed.alerts}) == 3
    assert {a.group_key for a in parsed.alerts} == {parsed.group_key}
    first = parsed.alerts[0]
    assert first.severity == "critical"  # severity="page"
    assert first.description == "Error ratio is 7.2% over the last 5m."
    assert first.links.dashboard == "https://grafana.example/d/checkout"
    assert first.links.runbook == "https://runbooks.example/checkout/5xx"
    assert first.links.silence is not None
    assert first.links.silence.startswith("https://alertmanager.example/#/silences/new?filter=")
    assert parsed.alerts[2].ends_at == datetime(2026, 11, 22, 21, 31, 40, 500000, tzinfo=UTC)


def test_alertmanager_title_falls_back_to_alertname_then_fingerprint() -> None:
    payload = load("alertmanager_payload.json")
    payload["alerts"][0]["annotations"] = None  # Go marshals an empty map as null
    assert only(alertmanager.parse(payload, {})).title == "DiskFull"
    payload["alerts"][0]["labels"] = {"job": "node"}
    del payload["alerts"][0]["fingerprint"]
    alert = only(alertmanager.parse(payload, {}))
    assert alert.title == f"Alert {alertmanager.fingerprint({'job': 'node'})}"


def test_alertmanager_group_key_fallback_from_group_labels() -> None:
    payload = load("alertmanager_payload.json")
    del payload["groupKey"]
    parsed = alertmanager.parse(payload, {})
    assert parsed.group_key is None
    assert only(parsed).group_key == '{}:{alertname="DiskFull"}'


# --- Grafana ---------------------------------------------------------------------------------


def test_grafana_links_extras_and_times() -> None:
    parsed = grafana.parse(load("grafana_firing.json"), {})
    assert parsed.source == "grafana"
    assert parsed.extras["orgId"] == 1
    assert parsed.extras["state"] == "alerting"
    assert parsed.extras["title"].startswith("[FIRING:1, RESOLVED:1]")
    assert parsed.extras["message"].startswith("**Firing**")
    assert parsed.extras["version"] == "1"
    assert parsed.truncated == 0
    firing, resolved = parsed.alerts
    assert firing.source == "grafana"
    assert firing.status is AlertStatus.FIRING
    assert firing.severity == "warning"
    assert firing.title == "Memory above 90% in zone us-1"
    assert firing.description == "node-exporter reports 93.4% memory used."
    assert firing.starts_at == datetime(2026, 11, 22, 21, 51, 3, 157076, tzinfo=UTC)  # +02:00
    assert firing.ends_at is None
    assert firing.links.silence is not None
    assert firing.links.silence.startswith("https://grafana.example/alerting/silence/new?")
    assert firing.links.dashboard == "https://grafana.example/d/node-mem?orgId=1"
    assert firing.links.panel == "https://grafana.example/d/node-mem?orgId=1&viewPanel=4"
    assert firing.links.image == "https://grafana.example/public/img/attachments/mem-us-1.png"
    assert firing.links.runbook == "https://runbooks.example/memory"
    assert firing.links.generator == (
        "https://grafana.example/alerting/grafana/ddz1ri9v7mzk0e/view?orgId=1"
    )
    assert firing.raw["values"] == {"B": 93.41, "C": 1}
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.ends_at == datetime(2026, 11, 22, 21, 55, 3, tzinfo=UTC)
    assert resolved.links.dashboard is None  # Grafana sends "" when there is none
    assert resolved.links.panel is None
    assert firing.group_key == resolved.group_key == parsed.group_key
    assert parsed.group_key is not None and "sitrep-webhook" in parsed.group_key
    for alert in parsed.alerts:
        assert alert.fingerprint == alertmanager.fingerprint(alert.labels)


# --- Datadog ---------------------------------------------------------------------------------


def test_datadog_triggered() -> None:
    parsed = datadog.parse(load("datadog_triggered.json"), {})
    alert = only(parsed)
    assert alert.source == "datadog"
    assert alert.fingerprint == "7262842735392187403"  # $ALERT_CYCLE_KEY
    assert alert.group_key == "148393715" == parsed.group_key  # monitor id
    assert alert.status is AlertStatus.FIRING
    assert alert.severity == "critical"  # P2
    assert alert.title == "CPU above 90% on storefront"
    assert alert.annotations["event_title"] == (
        "[Triggered on {host:web-3}] [P2] CPU above 90% on storefront"
    )
    assert alert.annotations["transition"] == "Triggered"
    assert alert.description == "CPU user time is 96.2% on web-3.\n\n@webhook-sitrep"
    assert alert.labels == {
        "env": "prod",
        "service": "storefront",
        "team": "web",
        "host": "web-3",
        "monitor": "true",
        "monitor_id": "148393715",
        "priority": "P2",
        "alert_type": "error",
        "severity": "critical",
    }
    assert alert.starts_at == datetime(2026, 11, 23, 22, 53, tzinfo=UTC)
    assert alert.ends_at is None
    assert alert.links.generator == "https://app.datadoghq.com/event/event?id=7652315223614862338"
    assert alert.links.image is not None and alert.links.image.endswith("/cpu.png")
    assert alert.external_id == "7652315223614862338"
    assert parsed.extras == {"org_id": "12345", "org_name": "Example Corp"}
    assert parsed.delivery_id is None


def test_datadog_recovery_closes_the_same_cycle() -> None:
    triggered = only(datadog.parse(load("datadog_triggered.json"), {}))
    recovered = only(datadog.parse(load("datadog_recovered.json"), {}))
    assert recovered.status is AlertStatus.RESOLVED
    assert recovered.fingerprint == triggered.fingerprint
    assert recovered.group_key == triggered.group_key
    assert recovered.title == triggered.title
    assert recovered.starts_at is None
    assert recovered.ends_at == datetime(2026, 11, 23, 23, 8, tzinfo=UTC)
    assert recovered.external_id != triggered.external_id


@pytest.mark.parametrize(
    ("transition", "status"),
    [
        ("Triggered", AlertStatus.FIRING),
        ("Re-Triggered", AlertStatus.FIRING),
        ("Warn", AlertStatus.FIRING),
        ("No Data", AlertStatus.FIRING),
        ("Renotify", AlertStatus.FIRING),
        ("Recovered", AlertStatus.RESOLVED),
        ("Re-Recovered", AlertStatus.RESOLVED),
    ],
)
def test_datadog_transitions(transition: str, status: AlertStatus) -> None:
    payload = load("datadog_triggered.json")
    payload["transition"] = transition
    assert only(datadog.parse(payload, {})).status is status


@pytest.mark.parametrize(
    ("priority", "alert_type", "transition", "severity"),
    [
        ("P1", "error", "Triggered", "critical"),
        ("P3", "error", "Triggered", "warning"),
        ("P4", "error", "Triggered", "info"),
        ("P5", "error", "Triggered", "info"),
        ("", "warning", "Warn", "warning"),
        ("", "error", "Triggered", "critical"),
        ("", "info", "Triggered", "info"),
        ("", "", "Triggered", "critical"),
        ("", "", "No Data", "warning"),
    ],
)
def test_datadog_severity(priority: str, alert_type: str, transition: str, severity: str) -> None:
    payload = load("datadog_triggered.json")
    payload.update(priority=priority, alert_type=alert_type, transition=transition)
    assert only(datadog.parse(payload, {})).severity == severity


def test_datadog_unfilled_variables_and_numbers() -> None:
    payload = load("datadog_triggered.json")
    payload["alert_cycle_key"] = "$ALERT_CYCLE_KEY"  # a test notification leaves it unfilled
    payload["date"] = 1795474380000  # template written without quotes
    payload["alert_id"] = 148393715
    alert = only(datadog.parse(payload, {}))
    assert alert.fingerprint == "a3b1c9e8f07d2d5c6e1f0b9a8d7c6e5f"  # falls back to $AGGREG_KEY
    assert alert.group_key == "148393715"
    assert alert.starts_at == datetime(2026, 11, 23, 22, 53, tzinfo=UTC)


def test_datadog_template_is_documented_in_the_module() -> None:
    assert datadog.__doc__ is not None
    for key, variable in datadog.TEMPLATE.items():
        if isinstance(variable, str):
            assert f'"{key}": "{variable}"' in datadog.__doc__


# --- PagerDuty -------------------------------------------------------------------------------


def test_pagerduty_triggered() -> None:
    headers = {"x-webhook-id": "4b8f2c1d-delivery", "X-PagerDuty-Signature": "v1=00"}
    parsed = pagerduty.parse(load("pagerduty_incident_triggered.json"), headers)
    alert = only(parsed)
    assert parsed.delivery_id == "4b8f2c1d-delivery"
    assert parsed.group_key == "Q2ZV7HXB1LKPHA"
    assert parsed.extras["event_type"] == "incident.triggered"
    assert alert.source == "pagerduty"
    assert alert.fingerprint == alert.group_key == "Q2ZV7HXB1LKPHA"
    assert alert.status is AlertStatus.FIRING
    assert alert.severity == "critical"  # no priority, urgency high
    assert alert.title == "Checkout latency p99 above 2s"
    assert alert.labels == {
        "service": "Checkout API",
        "urgency": "high",
        "team": "Payments",
        "escalation_policy": "Payments primary",
        "incident_key": "7b2f6a0c91d84c1e8f3b4a5d6e7f8091",
        "severity": "critical",
    }
    assert alert.annotations == {
        "pagerduty_status": "triggered",
        "event_type": "incident.triggered",
        "incident_number": "4127",
        "assignees": "Dana Oncall",
    }
    assert alert.starts_at == datetime(2026, 11, 22, 22, 41, 7, tzinfo=UTC)
    assert alert.ends_at is None
    assert alert.links.generator == "https://acme.pagerduty.com/incidents/Q2ZV7HXB1LKPHA"
    assert alert.links.conference == "https://meet.example/pd-4127"
    assert alert.external_id == "01DEN4HRHFY3BOQMG9ZZ4UPC2G"
    assert alert.raw["event_type"] == "incident.triggered"


def test_pagerduty_delivery_id_header_is_case_insensitive() -> None:
    parsed = pagerduty.parse(load("pagerduty_incident_triggered.json"), {"X-Webhook-Id": "abc"})
    assert parsed.delivery_id == "abc"
    assert pagerduty.parse(load("pagerduty_incident_triggered.json"), {}).delivery_id is None


def test_pagerduty_acknowledged_stays_firing_with_status_annotated() -> None:
    alert = only(pagerduty.parse(load("pagerduty_incident_acknowledged.json"), {}))
    assert alert.status is AlertStatus.FIRING
    assert alert.annotations["pagerduty_status"] == "acknowledged"
    assert alert.annotations["event_type"] == "incident.acknowledged"


def test_pagerduty_priority_sets_severity() -> None:
    alert = only(pagerduty.parse(load("pagerduty_incident_priority_updated.json"), {}))
    assert alert.severity == "critical"
    assert alert.labels["priority"] == "P1"
    assert alert.status is AlertStatus.FIRING


def test_pagerduty_resolved() -> None:
    alert = only(pagerduty.parse(load("pagerduty_incident_resolved.json"), {}))
    assert alert.status is AlertStatus.RESOLVED
    assert alert.fingerprint == "Q2ZV7HXB1LKPHA"
    assert alert.ends_at == datetime(2026, 11, 22, 23, 12, 45, 4000, tzinfo=UTC)


@pytest.mark.parametrize(
    "event_type", ["incident.reopened", "incident.escalated", "incident.unacknowledged"]
)
def test_pagerduty_other_incident_events_are_firing(event_type: str) -> None:
    payload = load("pagerduty_incident_triggered.json")
    payload["event"]["event_type"] = event_type
    alert = only(pagerduty.parse(payload, {}))
    assert alert.status is AlertStatus.FIRING
    assert alert.annotations["event_type"] == event_type


@pytest.mark.parametrize(
    ("priority", "urgency", "severity"),
    [
        ("P1", "low", "critical"),
        ("P2", "low", "critical"),
        ("P3", "high", "warning"),
        ("P4", "high", "info"),
        ("P5", "high", "info"),
        (None, "high", "critical"),
        (None, "low", "warning"),
    ],
)
def test_pagerduty_severity(priority: str | None, urgency: str, severity: str) -> None:
    payload = load("pagerduty_incident_triggered.json")
    data = payload["event"]["data"]
    data["urgency"] = urgency
    data["priority"] = None if priority is None else {"id": "PX", "summary": priority}
    assert only(pagerduty.parse(payload, {})).severity == severity


@pytest.mark.parametrize("name", ["pagerduty_ping.json", "pagerduty_incident_annotated.json"])
def test_pagerduty_non_incident_events_give_no_alerts(name: str) -> None:
    payload = load(name)
    parsed = pagerduty.parse(payload, {"X-Webhook-Id": "d-1"})
    assert parsed.alerts == ()
    assert parsed.group_key is None
    assert parsed.delivery_id == "d-1"
    assert parsed.extras["event_type"] == payload["event"]["event_type"]


# --- Opsgenie --------------------------------------------------------------------------------


def test_opsgenie_create() -> None:
    parsed = opsgenie.parse(load("opsgenie_create.json"), {})
    alert = only(parsed)
    assert alert.source == "opsgenie"
    assert alert.fingerprint == "b8d0c1a4-5c3f-4f6e-9a2b-0d1e2f3a4b5c-1795475012345"
    assert alert.group_key == "payments-gw-error-rate" == parsed.group_key  # alias
    assert alert.status is AlertStatus.FIRING
    assert alert.severity == "critical"  # P1
    assert alert.title == "Payment gateway error rate above 2%"
    assert alert.description == "Error rate 2.7% over 10m (threshold 2%)."
    assert alert.labels == {
        "env": "prod",
        "service": "payments",
        "customer-facing": "true",
        "region": "eu-west-1",
        "runbook": "https://runbooks.example/payments/gateway",
        "priority": "P1",
        "entity": "payment-gateway",
        "team": "Payments",
        "severity": "critical",
    }
    assert alert.annotations == {
        "opsgenie_action": "Create",
        "tiny_id": "1791",
        "alert_source": "Prometheus",
        "responders": "Payments",
        "username": "System",
    }
    assert alert.starts_at == datetime(2026, 11, 23, 23, 3, 32, 345000, tzinfo=UTC)
    assert alert.ends_at is None
    assert alert.links.runbook == "https://runbooks.example/payments/gateway"
    assert alert.external_id is None
    assert parsed.extras["integrationName"] == "sitrep"
    assert parsed.extras["action"] == "Create"
    assert parsed.delivery_id is None


def test_opsgenie_acknowledge_and_close() -> None:
    created = only(opsgenie.parse(load("opsgenie_create.json"), {}))
    acked = only(opsgenie.parse(load("opsgenie_acknowledge.json"), {}))
    closed = only(opsgenie.parse(load("opsgenie_close.json"), {}))
    assert acked.status is AlertStatus.FIRING
    assert acked.annotations["opsgenie_action"] == "Acknowledge"
    assert closed.status is AlertStatus.RESOLVED
    assert closed.fingerprint == acked.fingerprint == created.fingerprint
    assert closed.group_key == created.group_key
    assert closed.ends_at == datetime(2026, 11, 23, 23, 35, 0, 222000, tzinfo=UTC)  # from ns


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("Create", AlertStatus.FIRING),
        ("Acknowledge", AlertStatus.FIRING),
        ("UnAcknowledge", AlertStatus.FIRING),
        ("Escalate", AlertStatus.FIRING),
        ("AddNote", AlertStatus.FIRING),
        ("Close", AlertStatus.RESOLVED),
        ("Delete", AlertStatus.RESOLVED),
    ],
)
def test_opsgenie_actions(action: str, status: AlertStatus) -> None:
    payload = load("opsgenie_create.json")
    payload["action"] = action
    assert only(opsgenie.parse(payload, {})).status is status


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("P1", "critical"),
        ("P2", "critical"),
        ("P3", "warning"),
        ("P4", "info"),
        ("P5", "info"),
        (None, "warning"),
    ],
)
def test_opsgenie_priorities(priority: str | None, severity: str) -> None:
    payload = load("opsgenie_create.json")
    payload["alert"]["priority"] = priority
    assert only(opsgenie.parse(payload, {})).severity == severity


def test_opsgenie_without_alias_groups_by_alert_id() -> None:
    payload = load("opsgenie_create.json")
    del payload["alert"]["alias"]
    alert = only(opsgenie.parse(payload, {}))
    assert alert.group_key == alert.fingerprint


# --- Generic ---------------------------------------------------------------------------------


def test_generic_single() -> None:
    parsed = generic.parse(load("generic_single.json"), {"Webhook-Id": "msg_2KWPBgLlAfxdpx2AI"})
    alert = only(parsed)
    expected = hashlib.sha256(b'[["host","db-2"],["job","backup-db"]]').hexdigest()
    assert parsed.delivery_id == "msg_2KWPBgLlAfxdpx2AI"
    assert alert.source == "generic"
    assert alert.fingerprint == expected
    assert alert.group_key == expected == parsed.group_key
    assert alert.status is AlertStatus.FIRING
    assert alert.severity == "critical"  # "P2"
    assert alert.title == "Nightly backup did not finish"
    assert alert.description == "backup-db job exceeded its 4h window."
    assert alert.labels == {"job": "backup-db", "host": "db-2", "severity": "critical"}
    assert alert.annotations == {"owner": "dba-team"}
    assert alert.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert alert.links.runbook == "https://runbooks.example/backup"
    assert alert.links.dashboard == "https://grafana.example/d/backups"
    assert alert.links.as_dict() == {
        "runbook": "https://runbooks.example/backup",
        "dashboard": "https://grafana.example/d/backups",
    }


def test_generic_batch() -> None:
    parsed = generic.parse(load("generic_batch.json"), {})
    assert parsed.group_key == "synthetic-checks"
    assert parsed.delivery_id is None
    login, search = parsed.alerts
    assert login.fingerprint == "synthetic-login-euw"
    assert login.group_key == search.group_key == "synthetic-checks"
    assert login.severity == "critical"
    assert login.starts_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # epoch seconds
    assert login.links.generator == "https://checks.example/login"
    assert search.status is AlertStatus.RESOLVED
    assert search.severity == "warning"
    assert search.starts_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # +01:00
    assert search.ends_at == datetime(2026, 11, 23, 0, 20, tzinfo=UTC)


def test_generic_defaults_and_label_less_fingerprints() -> None:
    a = only(generic.parse({"title": "Disk full", "status": "RESOLVED"}, {}))
    b = only(generic.parse({"title": "CPU hot"}, {}))
    assert a.status is AlertStatus.RESOLVED
    assert b.status is AlertStatus.FIRING
    assert a.severity == b.severity == "warning"
    assert a.fingerprint != b.fingerprint
    assert a.group_key == a.fingerprint
    assert a.starts_at is None and a.links.as_dict() == {}


def test_generic_naive_timestamp_is_utc() -> None:
    alert = only(generic.parse({"title": "x", "starts_at": "2026-11-23T04:00:00"}, {}))
    assert alert.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


# --- Malformed payloads name the field -------------------------------------------------------


def _with(path: list[str | int], value: Any, name: str = "alertmanager_payload.json") -> Any:
    payload = load(name)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


def _without(name: str, *path: str) -> Any:
    payload = load(name)
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


MALFORMED: list[tuple[str, Any, str]] = [
    (
        "alertmanager",
        _with(["alerts", 2, "labels"], "x", "alertmanager_truncated_newer_fields.json"),
        "alerts[2].labels: expected an object",
    ),
    ("alertmanager", _without("alertmanager_payload.json", "alerts"), "alerts: required"),
    ("alertmanager", [], "payload: expected an object"),
    (
        "alertmanager",
        _with(["alerts", 0, "status"], "pending"),
        "alerts[0].status: expected 'firing' or 'resolved'",
    ),
    (
        "alertmanager",
        _with(["alerts", 0, "startsAt"], "yesterday"),
        "alerts[0].startsAt: expected an RFC 3339 timestamp",
    ),
    (
        "alertmanager",
        _with(["alerts", 0, "labels", "severity"], 3),
        "alerts[0].labels.severity: expected a string",
    ),
    (
        "alertmanager",
        _with(["alerts", 0, "labels", "my label"], None),
        'alerts[0].labels["my label"]: expected a string',
    ),
    ("alertmanager", _with(["alerts"], {}), "alerts: expected an array"),
    (
        "grafana",
        _with(["alerts", 1, "silenceURL"], 5, "grafana_firing.json"),
        "alerts[1].silenceURL: expected a string",
    ),
    ("pagerduty", {"events": []}, "event: required"),
    (
        "pagerduty",
        _without("pagerduty_incident_triggered.json", "event", "data", "id"),
        "event.data.id: required",
    ),
    (
        "pagerduty",
        _with(["event", "data", "assignees"], "dana", "pagerduty_incident_triggered.json"),
        "event.data.assignees: expected an array",
    ),
    (
        "pagerduty",
        _with(["event", "occurred_at"], "noon", "pagerduty_incident_triggered.json"),
        "event.occurred_at: expected an RFC 3339 timestamp",
    ),
    ("opsgenie", _without("opsgenie_create.json", "alert", "alertId"), "alert.alertId: required"),
    ("opsgenie", _without("opsgenie_create.json", "action"), "action: required"),
    (
        "opsgenie",
        _with(["alert", "tags"], "prod", "opsgenie_create.json"),
        "alert.tags: expected an array",
    ),
    (
        "opsgenie",
        _with(["alert", "createdAt"], "today", "opsgenie_create.json"),
        "alert.createdAt: expected a number",
    ),
    (
        "datadog",
        _with(["tags"], {"env": "prod"}, "datadog_triggered.json"),
        "tags: expected a string",
    ),
    (
        "datadog",
        _with(["date"], "soon", "datadog_triggered.json"),
        "date: expected epoch milliseconds ($DATE)",
    ),
    (
        "datadog",
        {"title": "x", "transition": "Triggered"},
        "alert_cycle_key: required ($ALERT_CYCLE_KEY; or alert_id / aggregate)",
    ),
    ("generic", {"severity": "critical"}, "title: required"),
    ("generic", {"title": "   "}, "title: String should have at least 1 character"),
    (
        "generic",
        {"title": "x", "severity": "urgent"},
        "severity: expected critical, warning or info (or P1..P5, sev1..sev5)",
    ),
    ("generic", {"title": "x", "status": "open"}, "status: expected 'firing' or 'resolved'"),
    (
        "generic",
        {"alerts": [{"title": "a"}, {"title": "b", "labels": ["x"]}]},
        "alerts[1].labels: expected an object",
    ),
    ("generic", {"alerts": ["boom"]}, "alerts[0]: expected an object"),
    ("generic", "title", "payload: expected an object"),
]


@pytest.mark.parametrize(("source", "payload", "message"), MALFORMED)
def test_malformed_payload_names_the_field(source: str, payload: Any, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        SOURCES[source].parse(payload, {})
    assert str(caught.value) == message
    assert caught.value.field == message.split(": ", 1)[0]


def test_several_problems_are_counted() -> None:
    payload = load("alertmanager_payload.json")
    payload["alerts"][0]["status"] = "?"
    payload["alerts"][0]["labels"] = []
    payload["truncatedAlerts"] = -1
    with pytest.raises(PayloadError) as caught:
        alertmanager.parse(payload, {})
    assert str(caught.value) == (
        "alerts[0].status: expected 'firing' or 'resolved' (and 2 more problems)"
    )


def test_unknown_fields_are_tolerated() -> None:
    payload = load("alertmanager_payload.json")
    payload["alerts"][0]["notification_reason"] = {"nested": [1, 2]}
    payload["someFutureField"] = True
    parsed = alertmanager.parse(payload, {})
    assert only(parsed).fingerprint == "bca19f25a6783506"
    assert parsed.extras["someFutureField"] is True


# --- Registry and the invariants every parser keeps ------------------------------------------

FIXTURE_SOURCES = sorted(
    (path.name, path.name.split("_", 1)[0]) for path in FIXTURES.glob("*.json")
)


def test_registry_lists_every_source() -> None:
    assert set(SOURCES) == {
        "alertmanager",
        "grafana",
        "datadog",
        "pagerduty",
        "opsgenie",
        "generic",
    }
    assert SOURCES["alertmanager"].auth is AuthScheme.BEARER_OR_BASIC
    assert SOURCES["grafana"].auth is AuthScheme.GRAFANA_HMAC
    assert SOURCES["pagerduty"].auth is AuthScheme.PAGERDUTY_V3
    assert SOURCES["datadog"].auth is AuthScheme.SHARED_SECRET
    assert SOURCES["opsgenie"].auth is AuthScheme.SHARED_SECRET
    assert SOURCES["generic"].auth is AuthScheme.STANDARD_WEBHOOKS
    for name, spec in SOURCES.items():
        assert spec.name == name
        assert spec.description


@pytest.mark.parametrize(("name", "source"), FIXTURE_SOURCES)
def test_every_fixture_parses_to_well_formed_alerts(name: str, source: str) -> None:
    parsed = parse_body(source, (FIXTURES / name).read_bytes(), {})
    assert parsed.source == source
    for alert in parsed.alerts:
        assert alert.source == source
        assert alert.fingerprint and alert.group_key and alert.title
        assert alert.severity in SEVERITIES
        for moment in (alert.starts_at, alert.ends_at):
            assert moment is None or moment.utcoffset() is not None
            assert moment is None or moment.tzinfo is UTC
        assert all(isinstance(v, str) for v in alert.labels.values())
        assert all(isinstance(v, str) for v in alert.annotations.values())


def test_parse_body_rejects_bad_json_and_unknown_sources() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_body("generic", b'{"title": ', {})
    assert str(caught.value).startswith("payload: invalid JSON at line 1 column 11")
    with pytest.raises(PayloadError, match=r"^payload: not UTF-8 text$"):
        decode_json(b"\xff\xfe\xfd")
    with pytest.raises(KeyError, match="nagios"):
        parse_body("nagios", b"{}", {})


def test_raw_is_the_senders_own_object() -> None:
    payload = load("grafana_firing.json")
    parsed = grafana.parse(copy.deepcopy(payload), {})
    assert [dict(a.raw) for a in parsed.alerts] == payload["alerts"]
