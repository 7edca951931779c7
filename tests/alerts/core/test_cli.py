"""`sitrep maintenance ...` and `sitrep alerts ...` against a real database."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.alerting.model import Delivery, IncomingAlert
from bot.config import load_settings
from handlers.compose import build_runtime
from storage.migrate import upgrade
from tests.support.cli import cli_env, sitrep  # noqa: F401 (cli_env: autouse)


def test_maintenance_add_list_cancel() -> None:
    code, out, err = sitrep(
        "maintenance", "add", "2h", "service=api", "env=~prod.*", "--reason", "db failover"
    )
    assert code == 0, err
    assert 'maintenance #1: service="api", env=~"prod.*"' in out and "(db failover)" in out
    code, out, _ = sitrep("maintenance", "list", "--json")
    (row,) = json.loads(out)
    assert row["state"] == "active" and row["reason"] == "db failover"
    assert row["created_by"].startswith("cli:")
    code, out, _ = sitrep("maintenance", "list")
    assert code == 0 and "failover" in out and "active" in out
    code, out, _ = sitrep("maintenance", "cancel", "1")
    assert code == 0 and "maintenance #1 ended" in out
    code, out, _ = sitrep("maintenance", "list")
    assert "no maintenance windows active or scheduled" in out
    code, out, _ = sitrep("maintenance", "list", "--all", "--json")
    assert json.loads(out)[0]["state"] == "cancelled"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["soon", "service=api"], "bad duration"),
        (["2h", "service"], "bad matcher"),
        (["2h", "team!=db"], "silence almost"),
        (["45d", "service=api"], "30 days"),
    ],
)
def test_maintenance_add_refuses_bad_input_in_one_line(args: list[str], message: str) -> None:
    code, _, err = sitrep("maintenance", "add", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_maintenance_cancel_unknown_window() -> None:
    code, _, err = sitrep("maintenance", "cancel", "42")
    assert code == 2 and "no maintenance window #42" in err


def test_alerts_list(database_url: str) -> None:
    code, out, _ = sitrep("alerts", "list")
    assert code == 0 and "no alerts" in out
    settings = load_settings()
    runtime = build_runtime(settings)
    upgrade(runtime.db.engine)

    async def feed() -> None:
        alerts = tuple(
            IncomingAlert(
                "generic",
                f"fp{i}",
                "g",
                "firing" if i else "resolved",
                "warning",
                f"[bold]alert {i}[/bold]",
                labels={"n": str(i)},
            )
            for i in range(3)
        )
        await runtime.alerts.ingest(Delivery(settings.workspace, "generic", alerts))

    try:
        asyncio.run(feed())
    finally:
        runtime.db.close()
    code, out, _ = sitrep("alerts", "list", "--status", "firing", "--json")
    assert sorted(a["fingerprint"] for a in json.loads(out)) == ["fp1", "fp2"]
    code, out, _ = sitrep("alerts", "list", "--source", "generic")
    assert code == 0 and "[bold]" in out  # shown literally, not as markup
    code, _, err = sitrep("alerts", "list", "--status", "burning")
    assert code == 2 and "firing or resolved" in err
