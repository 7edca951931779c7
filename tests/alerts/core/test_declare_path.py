"""Every declaration, from chat/API or from an alert, takes IncidentService.declare_in."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime import Runtime
from bot.service import IncidentService, Outcome
from tests.alerts.support import IMMEDIATE, am_alert, am_payload, fixture, incidents, post_am

Client = TestClient[Any, Any]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(IMMEDIATE)


async def test_alert_rule_button_and_api_declare_through_one_service_path(
    client: Client, runtime: Runtime, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, dict[str, Any] | None]] = []
    real = IncidentService.declare_in

    def recording(self: IncidentService, *args: Any, **kw: Any) -> Outcome:
        outcome = real(self, *args, **kw)
        seen.append((outcome.incident.ref, kw.get("audit")))
        return outcome

    monkeypatch.setattr(IncidentService, "declare_in", recording)

    # A rule declares (the critical alert of the recorded Alertmanager payload).
    assert (await post_am(client, fixture("alertmanager_payload.json")))["incidents"] == ["INC-1"]
    # The "Declare incident" button on a notified group.
    group = '{}:{alertname="HighLatency"}'
    await post_am(client, am_payload([am_alert("web1", severity="warning")], group="HighLatency"))
    body = {"source": "alertmanager", "group_key": group, "severity": "SEV3"}
    resp = await client.post("/api/alert-groups/declare", headers=auth, json=body)
    assert resp.status == 201, await resp.text()
    # A person, through the API.
    resp = await client.post(
        "/api/incidents", headers=auth, json={"title": "By hand", "severity": "SEV2"}
    )
    assert resp.status == 201, await resp.text()

    assert [ref for ref, _ in seen] == ["INC-1", "INC-2", "INC-3"]
    by_rule, by_button, by_hand = (detail for _, detail in seen)
    assert by_rule is not None and by_rule["origin"] == "alert" and by_rule["rule"]
    assert by_button == {"origin": "api", "rule": "button"}
    assert by_hand is None
    assert sorted((i.ref, i.origin) for i in await incidents(runtime)) == [
        ("INC-1", "alert"),
        ("INC-2", "api"),
        ("INC-3", "api"),
    ]
