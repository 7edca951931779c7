"""/metrics renders the runtime's plain counters in the Prometheus text format, exactly."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.runtime import Runtime

Client = TestClient[Any, Any]


async def test_request_latency_buckets_are_cumulative_and_a_bound_is_inclusive(
    client: Client, runtime: Runtime
) -> None:
    t = runtime.telemetry
    t.request_served("GET", "/x", 200, 0.005)  # exactly a bound: counts in le="0.005"
    t.request_served("GET", "/x", 200, 0.3)
    t.request_served("GET", "/x", 200, 9.0)  # beyond the last bound: only +Inf
    text = await (await client.get("/metrics")).text()
    series = 'method="GET",route="/x",status="200"'
    assert f'sitrep_http_request_duration_seconds_bucket{{le="0.0025",{series}}} 0.0' in text
    assert f'sitrep_http_request_duration_seconds_bucket{{le="0.005",{series}}} 1.0' in text
    assert f'sitrep_http_request_duration_seconds_bucket{{le="0.5",{series}}} 2.0' in text
    assert f'sitrep_http_request_duration_seconds_bucket{{le="5.0",{series}}} 2.0' in text
    assert f'sitrep_http_request_duration_seconds_bucket{{le="+Inf",{series}}} 3.0' in text
    assert f"sitrep_http_request_duration_seconds_count{{{series}}} 3.0" in text
    assert f"sitrep_http_request_duration_seconds_sum{{{series}}} 9.305" in text


async def test_alert_and_reminder_counters_keep_their_total_names(
    client: Client, runtime: Runtime
) -> None:
    runtime.telemetry.alert_received("generic", "accepted", 2)
    runtime.telemetry.alert_received("generic", "accepted")
    runtime.telemetry.reminders_sent("digest", 4)
    text = await (await client.get("/metrics")).text()
    assert "# TYPE sitrep_alerts_received_total counter" in text
    assert 'sitrep_alerts_received_total{outcome="accepted",source="generic"} 3.0' in text
    assert 'sitrep_reminders_sent_total{kind="digest"} 4.0' in text
