"""An incident declared from alerts names the service its alert labels say."""

from __future__ import annotations

from typing import Any

import pytest

from bot.alerting.routing import service_label
from bot.runtime import Runtime
from tests.alerts.support import IMMEDIATE, Client, am_alert, am_payload, incidents, post_am


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(IMMEDIATE)


@pytest.mark.parametrize(
    ("labels", "service"),
    [
        ({"service": "payments", "job": "api", "app": "web"}, "payments"),
        ({"job": "node-exporter", "app": "web"}, "node-exporter"),
        ({"app": "web"}, "web"),
        ({"service": "  ", "job": "api"}, "api"),
        ({"instance": "db1"}, ""),
        ({"service": "x" * 300}, "x" * 100),
        ({"service": "two\nlines"}, "two lines"),
    ],
)
def test_service_comes_from_service_then_job_then_app(labels: dict[str, str], service: str) -> None:
    assert service_label(labels) == service


async def test_alert_declared_incident_carries_the_alert_service(
    client: Client, runtime: Runtime
) -> None:
    await post_am(client, am_payload([am_alert("a1", service="checkout")], group="Checkout"))
    (inc,) = await incidents(runtime)
    assert inc.origin == "alert" and inc.service == "checkout"
