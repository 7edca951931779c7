"""Routing rules from config: regex matchers, sources, ignore, attach, templates, auto-resolve."""

from __future__ import annotations

from typing import Any

import pytest

from bot.runtime import Runtime
from tests.alerts.support import (
    IMMEDIATE,
    Client,
    am_alert,
    am_payload,
    fixture,
    grafana_headers,
    incidents,
    outbox,
    post_am,
    timeline,
)

RULES = [
    {"name": "dev-is-noise", "match": [{"name": "env", "value": "dev"}], "action": "ignore"},
    {
        "name": "payments",
        "match": [{"name": "service", "op": "=~", "value": "pay.*"}],
        "action": "declare",
        "severity": "SEV1",
        "title_template": "[{severity}] {labels.service}: {title} {labels.nope}",
        "auto_resolve": True,
    },
    {"name": "db-joins", "match": [{"name": "service", "value": "db"}], "action": "attach"},
    {"name": "grafana", "sources": ["grafana"], "action": "declare", "severity": "SEV3"},
    {"name": "rest", "action": "notify"},
]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {**IMMEDIATE, "alert_rules": RULES}


async def test_ignore_rule_records_and_does_nothing_else(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    await post_am(client, am_payload([am_alert("x1", env="dev")]))
    assert await incidents(runtime) == [] and await outbox(runtime) == []
    alerts = (await (await client.get("/api/alerts", headers=auth)).json())["alerts"]
    assert (alerts[0]["route"], alerts[0]["rule"]) == ("ignore", "dev-is-noise")


async def test_regex_rule_declares_with_its_severity_and_template_then_auto_resolves(
    client: Client, runtime: Runtime
) -> None:
    await post_am(
        client,
        am_payload(
            [am_alert("p1", severity="warning", service="payments", summary="Card auth failing")],
            group="Pay",
        ),
    )
    (inc,) = await incidents(runtime)
    assert inc.severity == "SEV1"
    assert inc.title == "[warning] payments: Card auth failing"
    await post_am(
        client,
        am_payload(
            [am_alert("p1", status="resolved", service="payments", ends="2026-11-23T09:00:00Z")],
            group="Pay",
        ),
    )
    (inc,) = await incidents(runtime)
    assert inc.status == "resolved" and inc.id is not None
    kinds = [e.kind for e in await timeline(runtime, inc.id)]
    assert kinds[-2:] == ["alert_resolved", "status_changed"]


async def test_regexes_are_fully_anchored(client: Client, runtime: Runtime) -> None:
    await post_am(client, am_payload([am_alert("r1", service="repay")], group="Repay"))
    assert await incidents(runtime) == []  # "pay.*" does not match "repay"; it notifies
    assert len(await outbox(runtime)) == 1


async def test_attach_rule_without_an_open_incident_notifies_then_joins_one(
    client: Client, runtime: Runtime
) -> None:
    await post_am(client, am_payload([am_alert("db1", service="db")], group="Db"))
    assert await incidents(runtime) == []
    (row,) = await outbox(runtime)
    assert row.payload["room"] == "@alerts"
    # A payments alert of the same group declares; the db alert announced earlier joins it.
    await post_am(client, am_payload([am_alert("pay1", service="payments")], group="Db"))
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    attached = await runtime.db.run(lambda repo: repo.alerts_for_incident(inc.id or 0))
    assert sorted(a.labels["instance"] for a in attached) == ["db1", "pay1"]


async def test_source_scoped_rule(client: Client, runtime: Runtime) -> None:
    body = fixture("grafana_firing.json")
    resp = await client.post(
        "/webhooks/grafana", data=body, headers=grafana_headers(body, runtime.clock.now())
    )
    assert resp.status == 200
    (inc,) = await incidents(runtime)
    assert inc.severity == "SEV3"
