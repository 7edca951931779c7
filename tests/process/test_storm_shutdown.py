"""SIGTERM during an alert storm: ``sitrep serve`` stops without working off the backlog.

A real process against the fake Slack: notices waiting for the alerts channel's pace go back to
pending (the next start sends them), only deliveries already under way finish, nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import aiohttp

from bot.delivery import DeliveryPolicy
from tests.fakes.slack_api import ALICE, FakeSlackApi
from tests.process.test_serve import serve, wait_ready
from tests.scheduling.cluster import free_port

TOKEN = "storm-token"
GROUPS = 40


def webhook(group: int) -> bytes:
    labels = {"alertname": f"Storm{group}", "severity": "warning"}
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "sitrep",
            "groupKey": f'{{}}:{{alertname="Storm{group}"}}',
            "groupLabels": {"alertname": f"Storm{group}"},
            "commonLabels": labels,
            "alerts": [
                {
                    "status": "firing",
                    "labels": {**labels, "instance": "node-1"},
                    "annotations": {"summary": f"Storm group {group}"},
                    "startsAt": "2026-11-23T08:00:00Z",
                    "fingerprint": f"storm{group:04d}",
                }
            ],
        }
    ).encode()


def outbox_states(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT state, count(*) FROM outbox_message "
            "WHERE payload LIKE '%\"@alerts\"%' GROUP BY state"
        ).fetchall()
    return {state: int(n) for state, n in rows}


async def test_sigterm_mid_storm_releases_waiting_notices_and_loses_none(tmp_path: Path) -> None:
    async with FakeSlackApi() as fake:
        fake.add_channel("incidents", members=[ALICE])
        alerts = fake.add_channel("alerts", members=[ALICE])
        port = free_port()
        db = tmp_path / "sitrep.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SITREP_", "SLACK_"))}
        env |= {
            "SITREP_DATABASE_URL": f"sqlite:///{db}",
            "SITREP_LOG_FORMAT": "json",
            "SITREP_OUTBOX_POLL_SECONDS": "0.05",
            "SITREP_ALERT_SETTLE_SECONDS": "0",
            "SITREP_ALERTMANAGER_TOKEN": TOKEN,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": fake.url,
        }
        # Started once, from this loop: the fake Slack it talks to runs on it.
        proc = serve(tmp_path, env, port, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            await asyncio.to_thread(wait_ready, f"{url}/readyz", proc)
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            async with aiohttp.ClientSession() as session:
                for group in range(GROUPS):
                    async with session.post(
                        f"{url}/webhooks/alertmanager", data=webhook(group), headers=headers
                    ) as resp:
                        assert resp.status == 200, await resp.text()
            # The alerts channel takes about one message a second: most notices are waiting.
            for _ in range(600):
                if len(fake.messages(alerts)) >= 2:
                    break
                await asyncio.sleep(0.05)
            posted_at_sigterm = len(fake.messages(alerts))
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.to_thread(proc.communicate, None, 120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        posted = len(fake.messages(alerts))

    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # Only notices already being sent may finish; the rest wait for the next start.
    assert posted - posted_at_sigterm <= DeliveryPolicy().bulk_lanes
    states = outbox_states(db)
    assert "claimed" not in states
    assert states.get("delivered", 0) == posted
    assert states.get("delivered", 0) + states.get("pending", 0) == GROUPS
