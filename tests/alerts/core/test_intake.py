"""Alert intake end to end over real HTTP: dedup, grouping, default routing, maintenance,
storms and escaping. Chat is not connected, so every message waits in the outbox, where the
tests read exactly what would be sent.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import pytest

from bot.outbox_types import OutboxRecord
from bot.ports import ChatMessage, FixedClock
from bot.runtime import Runtime
from integrations.slack.blocks import render as render_slack
from tests.alerts.support import (
    IMMEDIATE,
    Client,
    am_alert,
    am_payload,
    fixture,
    generic_headers,
    incidents,
    outbox,
    pagerduty_headers,
    post_am,
    timeline,
)

FIRING = fixture("alertmanager_payload.json")
RESOLVED = fixture("alertmanager_payload_resolved.json")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(IMMEDIATE)


def alert_rows(rows: list[OutboxRecord]) -> list[OutboxRecord]:
    """The alerts-channel group messages."""
    return [r for r in rows if r.payload.get("room") == "@alerts"]


async def api(
    client: Client, auth: dict[str, str], method: str, path: str, expect: int = 200, **kw: Any
) -> Any:
    resp = await client.request(method, path, headers=auth, **kw)
    body = await resp.json()
    assert resp.status == expect, body
    return body


# -- the recorded Alertmanager cycle --------------------------------------------------------


async def test_critical_alert_declares_and_its_resolution_asks_the_commander(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    answer = await post_am(client, FIRING)
    assert answer["new"] == 1 and answer["incidents"] == ["INC-1"]
    (inc,) = await incidents(runtime)
    assert (inc.severity, inc.title, inc.origin) == ("SEV2", "Disk almost full on db1", "alert")
    assert inc.id is not None
    assert [e.kind for e in await timeline(runtime, inc.id)] == ["declared", "alert_firing"]
    await api(
        client,
        auth,
        "POST",
        "/api/incidents/INC-1/roles",
        json={"role": "commander", "user": "U0DANA"},
    )
    before = len(await outbox(runtime))

    answer = await post_am(client, RESOLVED)
    assert answer["changed"] == 1
    last = (await timeline(runtime, inc.id))[-1]
    assert last.kind == "alert_resolved" and "Disk almost full on db1" in last.text
    asks = [
        r
        for r in (await outbox(runtime))[before:]
        if r.action == "post" and r.payload["room"] == f"inc:{inc.id}:room"
    ]
    assert len(asks) == 1
    message = asks[0].payload["message"]
    assert message["data"]["ask"] == "resolve" and message["data"]["mention"] == "U0DANA"
    assert "All alerts of INC-1 have resolved" in message["text"]
    (inc,) = await incidents(runtime)
    assert inc.status == "investigating"  # the commander decides; no auto-resolve by default


async def test_an_alerts_runbook_becomes_the_incidents_runbook(
    client: Client, runtime: Runtime
) -> None:
    with_runbook = am_alert("db1")
    with_runbook["annotations"]["runbook_url"] = "https://runbooks.example/db"
    await post_am(client, am_payload([with_runbook], group="DbDown"))
    bad = am_alert("web1")
    bad["annotations"]["runbook_url"] = "javascript:alert(1)"
    await post_am(client, am_payload([bad], group="WebDown"))

    web, db = await incidents(runtime)
    assert db.runbook_url == "https://runbooks.example/db"
    assert web.runbook_url == ""  # a bad link is dropped; the incident is still declared
    rows = await outbox(runtime)
    marks = [r.payload for r in rows if r.action == "bookmark" and r.payload["title"] == "Runbook"]
    assert marks == [{"room": "inc:1:room", "title": "Runbook", "url": db.runbook_url}]


async def test_alertmanager_re_sends_change_nothing(client: Client, runtime: Runtime) -> None:
    await post_am(client, FIRING)
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    rows, entries = len(await outbox(runtime)), len(await timeline(runtime, inc.id))
    for _ in range(3):  # group_interval and repeat_interval re-sends
        answer = await post_am(client, FIRING)
        assert (answer["new"], answer["changed"], answer["unchanged"]) == (0, 0, 1)
    assert len(await outbox(runtime)) == rows
    assert len(await timeline(runtime, inc.id)) == entries
    await post_am(client, RESOLVED)
    rows, entries = len(await outbox(runtime)), len(await timeline(runtime, inc.id))
    await post_am(client, RESOLVED)
    await post_am(client, FIRING)  # a late retry of the old firing notification
    assert len(await outbox(runtime)) == rows
    assert len(await timeline(runtime, inc.id)) == entries
    assert len(await incidents(runtime)) == 1


async def test_alerts_of_one_group_join_the_same_incident(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    await post_am(client, am_payload([am_alert("db1")]))
    answer = await post_am(
        client, am_payload([am_alert("db1"), am_alert("db2"), am_alert("db3", severity="warning")])
    )
    assert answer["new"] == 2 and answer["incidents"] == ["INC-1"]
    assert len(await incidents(runtime)) == 1
    listed = await api(client, auth, "GET", "/api/alerts?incident=INC-1")
    assert sorted(a["labels"]["instance"] for a in listed["alerts"]) == ["db1", "db2", "db3"]
    assert {a["route"] for a in listed["alerts"]} == {"declare", "attach"}
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    firing = [e for e in await timeline(runtime, inc.id) if e.kind == "alert_firing"]
    assert [e.data["count"] for e in firing] == [1, 2]
    # Another group is another incident.
    await post_am(client, am_payload([am_alert("api1")], group="ApiDown"))
    assert len(await incidents(runtime)) == 2


async def test_a_re_fire_after_the_incident_resolved_declares_a_new_one(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    await post_am(client, am_payload([am_alert("db1")]))
    await api(client, auth, "POST", "/api/incidents/INC-1/status", json={"status": "resolved"})
    await post_am(
        client, am_payload([am_alert("db1", status="resolved", ends="2026-11-23T08:58:00Z")])
    )
    answer = await post_am(client, am_payload([am_alert("db1", starts="2026-11-23T08:59:00Z")]))
    assert answer["changed"] == 1 and answer["incidents"] == ["INC-2"]


async def test_alerts_the_sender_left_out_are_shown_on_the_group_message(
    client: Client, runtime: Runtime
) -> None:
    truncated = am_payload([am_alert("web1", severity="warning")], group="HighLatency")
    truncated["truncatedAlerts"] = 40
    answer = await post_am(client, truncated)
    assert answer["truncated"] == 40
    (row,) = await outbox(runtime)
    message = ChatMessage.from_json(row.payload["message"])
    assert message.data["truncated"] == 40 and "40 the sender left out" in message.text
    _, blocks = render_slack(message)
    assert "The sender left 40 more alerts" in json.dumps(blocks)

    whole = am_payload([am_alert("web2", severity="warning")], group="HighLatency")
    await post_am(client, whole)
    (row,) = await outbox(runtime)
    assert row.payload["message"]["data"]["truncated"] == 0


async def test_warning_alerts_notify_the_alerts_channel_in_one_message(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    group = '{}:{alertname="HighLatency"}'
    await post_am(client, am_payload([am_alert("web1", severity="warning")], group="HighLatency"))
    assert await incidents(runtime) == []
    (row,) = await outbox(runtime)
    assert (row.action, row.payload["room"]) == ("upsert", "@alerts")
    message = ChatMessage.from_json(row.payload["message"])
    assert message.kind == "alert_group"
    assert message.data["firing"] == 1 and message.data["incident_ref"] is None
    assert message.data["group_key"] == group and message.data["source"] == "alertmanager"
    assert message.data["group_ref"] == f"alertmanager|{group}"
    assert message.data["sample"][0]["title"] == "web1 is unhappy"

    await post_am(client, am_payload([am_alert("web2", severity="warning")], group="HighLatency"))
    (row,) = await outbox(runtime)  # folded into the pending edit, not a second message
    assert row.payload["message"]["data"]["firing"] == 2

    # The "Declare incident" button (here through the API) attaches the group's alerts.
    body = {"source": "alertmanager", "group_key": group, "severity": "SEV3"}
    made = await api(client, auth, "POST", "/api/alert-groups/declare", 201, json=body)
    assert made["created"] and made["incident"]["severity"] == "SEV3"
    again = await api(client, auth, "POST", "/api/alert-groups/declare", 200, json=body)
    assert not again["created"] and again["incident"]["ref"] == "INC-1"
    listed = await api(client, auth, "GET", "/api/alerts?incident=INC-1")
    assert len(listed["alerts"]) == 2
    (row,) = alert_rows(await outbox(runtime))
    assert row.payload["message"]["data"]["incident_ref"] == "INC-1"
    # A critical alert of the group now joins INC-1 instead of declaring another.
    answer = await post_am(client, am_payload([am_alert("web3")], group="HighLatency"))
    assert answer["incidents"] == ["INC-1"] and len(await incidents(runtime)) == 1


async def test_declaring_a_group_that_stopped_firing_is_refused(
    client: Client, auth: dict[str, str]
) -> None:
    body = {"source": "alertmanager", "group_key": "nothing-here"}
    answer = await api(client, auth, "POST", "/api/alert-groups/declare", 404, json=body)
    assert "firing" in answer["error"]


# -- per-delivery ids ---------------------------------------------------------------------


async def test_pagerduty_retries_with_the_same_webhook_id_are_no_ops(
    client: Client, runtime: Runtime
) -> None:
    body = fixture("pagerduty_incident_triggered.json")

    async def send(webhook_id: str, payload: bytes = body) -> dict[str, Any]:
        resp = await client.post(
            "/webhooks/pagerduty", data=payload, headers=pagerduty_headers(payload, webhook_id)
        )
        assert resp.status == 200
        return await resp.json()  # type: ignore[no-any-return]

    first = await send("wh-1")
    assert first["new"] == 1 and not first["duplicate"] and first["incidents"] == ["INC-1"]
    rows = len(await outbox(runtime))
    assert (await send("wh-1"))["duplicate"]
    assert (await send("wh-2"))["unchanged"] == 1  # a new delivery with nothing new in it
    assert len(await outbox(runtime)) == rows
    resolved = await send("wh-3", fixture("pagerduty_incident_resolved.json"))
    assert resolved["changed"] == 1
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    assert [e.kind for e in await timeline(runtime, inc.id)][-1] == "alert_resolved"


async def test_generic_redelivery_with_the_same_webhook_id_is_a_no_op(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    body = fixture("generic_batch.json")
    headers = generic_headers(body, "msg_2b7e", clock.now())
    first = await (await client.post("/webhooks/generic", data=body, headers=headers)).json()
    again = await (await client.post("/webhooks/generic", data=body, headers=headers)).json()
    assert first["new"] == 2 and not first["duplicate"]
    assert again["duplicate"] and again["new"] == 0


# -- maintenance windows ------------------------------------------------------------------


async def test_maintenance_silences_matching_alerts_until_cancelled(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    body = {
        "duration": "2h",
        "matchers": ["service=postgres", "instance=~db.*"],
        "reason": "failover drill",
    }
    made = (await api(client, auth, "POST", "/api/maintenance", 201, json=body))["maintenance"]
    assert made["state"] == "active" and made["matchers_text"] == (
        'service="postgres", instance=~"db.*"'
    )
    answer = await post_am(client, FIRING)  # service=postgres, instance=db1:9100, critical
    assert answer["suppressed"] == 1 and answer["incidents"] == []
    assert await incidents(runtime) == [] and await outbox(runtime) == []
    listed = await api(client, auth, "GET", "/api/alerts")
    assert listed["alerts"][0]["route"] == "suppressed"
    assert listed["alerts"][0]["suppressed_by"] == made["id"]
    assert (await post_am(client, FIRING))["unchanged"] == 1  # still silent on re-send

    other = am_payload([am_alert("api1", service="api")], group="ApiDown")
    assert (await post_am(client, other))["incidents"] == ["INC-1"]

    active = await api(client, auth, "GET", "/api/maintenance")
    assert [w["id"] for w in active["maintenance"]] == [made["id"]]
    ended = await api(client, auth, "DELETE", f"/api/maintenance/{made['id']}")
    assert ended["maintenance"]["state"] == "cancelled"
    # The alert it silenced still fires, so it is routed now: it declares INC-2.
    refs = sorted(i.ref for i in await incidents(runtime))
    assert refs == ["INC-1", "INC-2"]
    assert (await api(client, auth, "GET", "/api/maintenance"))["maintenance"] == []
    assert len((await api(client, auth, "GET", "/api/maintenance?all=1"))["maintenance"]) == 1


async def test_an_alert_still_firing_after_its_window_ends_is_routed_on_the_next_send(
    client: Client, runtime: Runtime, auth: dict[str, str], clock: FixedClock
) -> None:
    body = {"duration": 1800, "matchers": [{"name": "service", "value": "postgres"}]}
    await api(client, auth, "POST", "/api/maintenance", 201, json=body)
    assert (await post_am(client, FIRING))["suppressed"] == 1
    clock.advance(minutes=31)
    answer = await post_am(client, FIRING)
    assert answer["changed"] == 1 and answer["incidents"] == ["INC-1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration": "2h", "matchers": []}, "matchers"),
        ({"duration": "soon", "matchers": ["a=b"]}, "duration"),
        ({"duration": "2h", "matchers": ["team!=db"]}, None),
        ({"duration": "2h", "matchers": ["env=~("]}, None),
        ({"duration": "40d", "matchers": ["a=b"]}, None),
        ({"duration": "2h", "matchers": ["a=b"], "starts_at": "2026-11-24T10:00:00"}, "starts_at"),
        ({"duration": "2h", "matchers": ["a=b"], "extra": 1}, "extra"),
    ],
)
async def test_bad_maintenance_requests_are_400(
    client: Client, auth: dict[str, str], body: dict[str, Any], field: str | None
) -> None:
    answer = await api(client, auth, "POST", "/api/maintenance", 400, json=body)
    if field:
        assert answer["field"] == field


async def test_cancelling_an_unknown_window_is_404(client: Client, auth: dict[str, str]) -> None:
    await api(client, auth, "DELETE", "/api/maintenance/99", 404)


async def test_scheduled_window_does_not_silence_before_it_starts(
    client: Client, runtime: Runtime, auth: dict[str, str]
) -> None:
    body = {"duration": "1h", "matchers": ["service=postgres"], "starts_at": "2026-11-23T12:00:00Z"}
    made = await api(client, auth, "POST", "/api/maintenance", 201, json=body)
    assert made["maintenance"]["state"] == "scheduled"
    assert (await post_am(client, FIRING))["incidents"] == ["INC-1"]


# -- storms -------------------------------------------------------------------------------


async def test_a_storm_of_10000_alerts_makes_one_incident_and_few_messages(
    client: Client, runtime: Runtime
) -> None:
    batches = [
        am_payload(
            [am_alert(f"node{b:02d}-{i:03d}", fingerprint=f"{b:02d}{i:014d}") for i in range(500)],
            group="NodeDown",
        )
        for b in range(20)
    ]
    answers = await asyncio.gather(*(post_am(client, p) for p in batches))
    assert sum(a["new"] for a in answers) == 10_000
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    rows = await outbox(runtime)
    # The declaration's own deliveries (room, invite, topic, summary, pin, bookmark,
    # broadcast) plus ONE alerts-channel message, however many alerts arrived.
    assert len(rows) <= 10, [(r.action, r.payload.get("room")) for r in rows]
    (group,) = alert_rows(rows)
    assert group.payload["message"]["data"]["firing"] == 10_000
    assert group.payload["message"]["data"]["incident_ref"] == inc.ref
    firing = [e for e in await timeline(runtime, inc.id) if e.kind == "alert_firing"]
    assert len(firing) <= 20 and sum(e.data["count"] for e in firing) == 10_000

    resolved = [
        am_payload(
            [
                am_alert(
                    f"node{b:02d}-{i:03d}",
                    fingerprint=f"{b:02d}{i:014d}",
                    status="resolved",
                    ends="2026-11-23T09:00:00Z",
                )
                for i in range(500)
            ],
            group="NodeDown",
            status="resolved",
        )
        for b in range(20)
    ]
    await asyncio.gather(*(post_am(client, p) for p in resolved))
    rows = await outbox(runtime)
    asks = [r for r in rows if r.payload.get("message", {}).get("data", {}).get("ask")]
    assert len(asks) == 1  # asked once, when the last alert resolved
    assert len(rows) <= 11
    (group,) = alert_rows(rows)
    assert group.payload["message"]["data"]["firing"] == 0
    assert group.payload["message"]["data"]["resolved"] == 10_000


# -- escaping -----------------------------------------------------------------------------

EVIL = "<!channel> @here <http://evil|click> *bold* <@U123>"


async def test_alert_text_is_stored_as_data_and_rendered_escaped(
    client: Client, runtime: Runtime
) -> None:
    alert = am_alert("web1", severity="warning", summary=EVIL)
    await post_am(client, am_payload([alert], group="Evil"))
    (row,) = await outbox(runtime)
    message = row.payload["message"]
    # Stored as neutral data, not pre-rendered markup: the platform renderer escapes it.
    assert set(row.payload) == {"room", "key", "message"}
    assert message["kind"] == "alert_group" and "blocks" not in message
    assert message["data"]["title"] == EVIL
    assert message["data"]["sample"][0]["title"] == EVIL
    text, blocks = render_slack(ChatMessage.from_json(message))
    rendered = json.dumps(blocks) + text
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<http://evil|click>", "<@U123>"):
        assert ping not in rendered


async def test_alert_text_reaches_the_declared_incident_unchanged(
    client: Client, runtime: Runtime
) -> None:
    await post_am(client, am_payload([am_alert("web1", summary=EVIL)], group="Evil"))
    (inc,) = await incidents(runtime)
    assert inc.title == EVIL  # the incident stores what was said; renderers escape it


# -- listing ------------------------------------------------------------------------------


async def test_list_alerts_filters(client: Client, auth: dict[str, str]) -> None:
    await post_am(client, am_payload([am_alert("db1"), am_alert("db2", severity="warning")]))
    await post_am(
        client, am_payload([am_alert("db1", status="resolved", ends="2026-11-23T09:00:00Z")])
    )
    all_ = (await api(client, auth, "GET", "/api/alerts"))["alerts"]
    assert len(all_) == 2 and all_[0]["incident"] == "INC-1"
    firing = (await api(client, auth, "GET", "/api/alerts?status=firing"))["alerts"]
    assert [a["labels"]["instance"] for a in firing] == ["db2"]
    by_label = (await api(client, auth, "GET", "/api/alerts?label=instance%3D~db1"))["alerts"]
    assert [a["status"] for a in by_label] == ["resolved"]
    assert (await api(client, auth, "GET", "/api/alerts?source=grafana"))["alerts"] == []
    await post_am(client, am_payload([am_alert("lb1", severity="warning")], group="Latency"))
    key = '{}:{alertname="Latency"}'
    by_group = (await api(client, auth, "GET", f"/api/alerts?group_key={quote(key)}"))["alerts"]
    assert [a["labels"]["instance"] for a in by_group] == ["lb1"]
    paged = (await api(client, auth, "GET", "/api/alerts?limit=1&offset=1"))["alerts"]
    assert len(paged) == 1
    await api(client, auth, "GET", "/api/alerts?status=burning", 400)
    await api(client, auth, "GET", "/api/alerts?label=bad", 400)
    await api(client, auth, "GET", "/api/alerts?incident=INC-9", 404)
    resp = await client.get("/api/alerts")
    assert resp.status == 401  # the /api token check covers it
