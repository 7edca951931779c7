"""End to end with the real Prometheus Alertmanager (Debian ``prometheus-alertmanager``).

Alertmanager runs on loopback with a webhook receiver pointing at sitrep (bearer auth through
``http_config.authorization``). The test pushes an alert through Alertmanager's v2 API, sees
sitrep declare the incident, then resolves the alert and sees the resolution on the timeline.
Skips with a clear reason when the binary is not installed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import pytest_asyncio

from bot.runtime import Runtime
from tests.alerts.support import AM_TOKEN, Client, incidents, timeline

pytestmark = pytest.mark.e2e
T = TypeVar("T")

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"alertmanager_token": AM_TOKEN}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONFIG = """\
route:
  receiver: sitrep
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sitrep
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


@pytest_asyncio.fixture
async def alertmanager(client: Client, tmp_path: Path) -> AsyncIterator[str]:
    """A real Alertmanager on loopback whose webhook receiver is the sitrep under test."""
    if BINARY is None:
        pytest.skip(
            "prometheus-alertmanager is not installed (apt install prometheus-alertmanager)"
        )
    port = _free_port()
    config = tmp_path / "alertmanager.yml"
    webhook = f"http://127.0.0.1:{client.server.port}/webhooks/alertmanager"
    config.write_text(CONFIG.format(url=webhook, token=AM_TOKEN))
    log_path = tmp_path / "alertmanager.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip: a single, loopback-only instance
            "--log.level=warn",
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def ready() -> bool:
                try:
                    async with http.get(f"{base}/-/ready") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            if not await _eventually(ready, within=15):
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"alertmanager did not start: {tail}")
        yield base
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _eventually(check: Callable[[], Awaitable[bool]], *, within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def _push(base: str, alerts: list[dict[str, Any]]) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base}/api/v2/alerts",
            data=json.dumps(alerts),
            headers={"Content-Type": "application/json"},
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()


async def test_alertmanager_declares_then_records_the_resolution(
    alertmanager: str, client: Client, runtime: Runtime
) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "CheckoutErrors", "severity": "critical", "service": "checkout"},
        "annotations": {"summary": "Checkout 5xx above 5%"},
        "startsAt": now.isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=checkout",
    }
    await _push(alertmanager, [alert])

    async def declared() -> bool:
        return len(await incidents(runtime)) == 1

    assert await _eventually(declared, within=20), "no incident declared"
    (inc,) = await incidents(runtime)
    assert inc.id is not None
    assert (inc.title, inc.severity, inc.origin) == ("Checkout 5xx above 5%", "SEV2", "alert")

    ended = (now + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    await _push(alertmanager, [{**alert, "endsAt": ended}])

    async def resolved() -> bool:
        return any(e.kind == "alert_resolved" for e in await timeline(runtime, inc.id or 0))

    assert await _eventually(resolved, within=20), "resolution never arrived"
    entries = await timeline(runtime, inc.id)
    assert [e.kind.value for e in entries].count("alert_firing") == 1  # re-sends added nothing
    stored = await runtime.db.run(lambda repo: repo.alerts_for_incident(inc.id or 0))
    assert [(a.status, a.labels["service"]) for a in stored] == [("resolved", "checkout")]
    assert stored[0].ends_at is not None
