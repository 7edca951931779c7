"""/metrics carries the dashboard's gauges: per severity, bounded labels, this workspace only."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.ports import FixedClock
from bot.runtime import Runtime

Client = TestClient[Any, Any]
ALICE = Actor("U_ALICE", "alice")


async def test_gauges_per_severity_and_overdue_items(
    client: Client, runtime: Runtime, clock: FixedClock
) -> None:
    ws = runtime.settings.workspace
    svc = runtime.service
    await svc.declare(ws, c.Declare("Cards fail", "SEV1", service="payments"), ALICE)
    await svc.declare(ws, c.Declare("Secret", "SEV1", private=True, service="x"), ALICE)
    await svc.declare("elsewhere", c.Declare("Not ours", "SEV3"), ALICE)
    clock.advance(minutes=2)
    await svc.execute(ws, 1, c.Acknowledge(), ALICE)
    await svc.execute(ws, 1, c.AddActionItem("Alert on it", "U_BOB", clock.now()), ALICE)
    clock.advance(minutes=8)
    await svc.execute(ws, 2, c.Acknowledge(), ALICE)
    text = await (await client.get("/metrics")).text()
    assert 'sitrep_incidents_declared{severity="SEV1"} 2.0' in text
    assert 'sitrep_incidents_declared{severity="SEV3"} 0.0' in text  # the other workspace's
    assert 'sitrep_mtta_seconds{severity="SEV1"} 360.0' in text  # (2 min + 10 min) / 2
    assert 'sitrep_sla_attainment_ratio{severity="SEV1",target="ack"} 0.5' in text
    assert 'sitrep_mttr_seconds{severity="SEV1"}' not in text  # nothing resolved: no sample
    assert "sitrep_action_items_overdue 1.0" in text
    labels = set(
        re.findall(r"^sitrep_(?:mtt[ar]_seconds|sla_attainment_ratio)\{([^}]*)\}", text, re.M)
    )
    assert all(set(re.findall(r"(\w+)=", ls)) <= {"severity", "target"} for ls in labels)
    assert "payments" not in text
