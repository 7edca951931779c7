"""Per-group settling: under a stream of deliveries, a group's timeline summary and chat
message are folded into one per settle period, and nothing that waits is ever lost."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.alerting.intake import AlertIntake
from bot.alerting.model import Delivery, IncomingAlert
from bot.alerting.rules import rules_from_config
from bot.runtime import Runtime
from tests.alerts.support import (
    ALL_SECRETS,
    Client,
    am_alert,
    am_payload,
    incidents,
    outbox,
    post_am,
    timeline,
)

# Long enough that a loaded CI machine still checks "not yet summarized" inside the period.
SETTLE = 1.5


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {**ALL_SECRETS, "alert_settle_seconds": SETTLE}


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.05)


async def firing_noted(runtime: Runtime, incident_id: int) -> int:
    entries = await timeline(runtime, incident_id)
    return sum(e.data["count"] for e in entries if e.kind == "alert_firing")


async def test_a_quick_second_delivery_is_summarized_after_the_settle_period(
    client: Client, runtime: Runtime
) -> None:
    await post_am(client, am_payload([am_alert("db1")]))
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    assert await firing_noted(runtime, inc.id) == 1  # the first one at once
    answer = await post_am(client, am_payload([am_alert("db2"), am_alert("db3")]))
    assert answer["incidents"] == ["INC-1"]  # routed at once, summarized a moment later
    assert await firing_noted(runtime, inc.id) == 1

    async def both() -> bool:
        return await firing_noted(runtime, inc.id or 0) == 3

    await eventually(both)
    entries = [e for e in await timeline(runtime, inc.id) if e.kind == "alert_firing"]
    assert [e.data["count"] for e in entries] == [1, 2]


async def test_a_storm_settles_into_a_few_summaries_and_one_message(
    client: Client, runtime: Runtime
) -> None:
    batches = [
        am_payload(
            [am_alert(f"n{b:02d}-{i:03d}", fingerprint=f"{b:02d}{i:014d}") for i in range(500)],
            group="NodeDown",
        )
        for b in range(20)
    ]
    await asyncio.gather(*(post_am(client, p) for p in batches))
    (inc,) = await incidents(runtime)
    assert inc.id is not None

    async def all_noted() -> bool:
        return await firing_noted(runtime, inc.id or 0) == 10_000

    await eventually(all_noted)
    entries = [e for e in await timeline(runtime, inc.id) if e.kind == "alert_firing"]
    assert len(entries) <= 4  # one at once, the rest folded per settle period
    rows = await outbox(runtime)
    assert len(rows) <= 10
    (group,) = [r for r in rows if r.payload.get("room") == "@alerts"]
    assert group.payload["message"]["data"]["firing"] == 10_000


async def test_waiting_summaries_survive_a_restart(client: Client, runtime: Runtime) -> None:
    def intake() -> AlertIntake:
        return AlertIntake(
            runtime.db,
            runtime.service,
            rules_from_config(runtime.settings.alert_rules),
            runtime.clock,
            settle=60,
        )

    def alert(name: str) -> IncomingAlert:
        return IncomingAlert(
            "generic", name, "grp", "firing", "critical", name, labels={"severity": "critical"}
        )

    first = intake()
    await first.ingest(Delivery("default", "generic", (alert("a"),)))
    await first.ingest(Delivery("default", "generic", (alert("b"),)))  # waits 60 s
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    assert await firing_noted(runtime, inc.id) == 1
    # The process dies here: no drain. A new one finds the waiting summary at start.
    second = intake()
    await second.start()

    async def resumed() -> bool:
        return await firing_noted(runtime, inc.id or 0) == 2

    await eventually(resumed)
    # And a graceful shutdown runs what waits rather than leaving it.
    await second.ingest(Delivery("default", "generic", (alert("c"),)))
    await second.drain()
    assert await firing_noted(runtime, inc.id) == 3
