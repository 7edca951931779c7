"""Paging is off until its setting block is whole; a half-configured block stops start-up with
one line naming the key. Pages wait, park and are retried in the `sitrep outbox` CLI."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.outbox_types import OutboxState
from handlers.cli import app
from handlers.compose import build_runtime
from tests.support.cli import cli_env, runner  # noqa: F401 (cli_env: autouse)

TEAM = json.dumps({"db": [{"type": "team", "name": "DB"}]})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SITREP_OPSGENIE_API_KEY": "genie"},
            "SITREP_OPSGENIE_TARGETS: required when SITREP_OPSGENIE_API_KEY is set",
        ),
        (
            {"SITREP_OPSGENIE_TARGETS": TEAM},
            "SITREP_OPSGENIE_API_KEY: required when SITREP_OPSGENIE_TARGETS is set",
        ),
        (
            {"SITREP_OPSGENIE_API_KEY": "genie", "SITREP_OPSGENIE_TARGETS": '{"db": []}'},
            "SITREP_OPSGENIE_TARGETS: target 'db' has no responders",
        ),
        (
            {"SITREP_PAGERDUTY_ROUTING_KEYS": '{"pay ments": "k"}'},
            "SITREP_PAGERDUTY_ROUTING_KEYS: target 'pay ments' must be letters, digits, '.',"
            " '_' or '-' (up to 64)",
        ),
        (
            {"SITREP_PAGERDUTY_ROUTING_KEYS": '{"payments": " "}'},
            "SITREP_PAGERDUTY_ROUTING_KEYS: target 'payments' has no key",
        ),
        (
            {
                "SITREP_PAGERDUTY_ROUTING_KEYS": '{"DB": "k"}',
                "SITREP_OPSGENIE_API_KEY": "genie",
                "SITREP_OPSGENIE_TARGETS": TEAM,
            },
            "SITREP_OPSGENIE_TARGETS: 'db' is also a PagerDuty target",
        ),
        (
            {
                "SITREP_PAGERDUTY_ROUTING_KEYS": '{"payments": "k"}',
                "SITREP_ALERT_RULES": '[{"name": "r", "action": "declare", "page": ["billing"]}]',
            },
            "SITREP_ALERT_RULES: rule 'r' (#1) pages 'billing', which is not a configured"
            " paging target",
        ),
    ],
)
def test_half_a_paging_block_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, ["incident", "list"])
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")


def test_a_whole_block_starts_and_keeps_its_keys_out_of_the_config_dump(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SITREP_PAGERDUTY_ROUTING_KEYS", '{"payments": "pd-key-123"}')
    monkeypatch.setenv("SITREP_OPSGENIE_API_KEY", "genie-key-456")
    monkeypatch.setenv("SITREP_OPSGENIE_TARGETS", TEAM)
    settings = Settings(_env_file=None)
    dumped = json.dumps(settings.safe_dump())
    assert "pd-key-123" not in dumped and "genie-key-456" not in dumped
    assert runner.invoke(app, ["incident", "list"]).exit_code == 0


def test_a_parked_page_shows_in_outbox_list_and_outbox_retry_requeues_it(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("SITREP_PAGERDUTY_ROUTING_KEYS", '{"payments": "pd-key-123"}')
    assert runner.invoke(app, ["incident", "declare", "Checkout down", "--sev", "1"]).exit_code == 0
    rt = build_runtime(Settings(_env_file=None))
    try:
        asyncio.run(
            rt.service.execute("default", 1, c.Page("payments"), Actor("cli:ops", trusted=True))
        )
        rows = rt.db.run_sync(lambda repo: repo.list_outbox(limit=100))
        (page,) = [r for r in rows if r.platform == "pagerduty"]
        assert page.payload["dedup_key"] == "sitrep:default:INC-1:payments"
        assert "pd-key-123" not in json.dumps(page.payload)  # keys stay in settings
        rt.db.run_sync(
            lambda repo: repo.finish_outbox(
                page.id,
                state=OutboxState.PARKED,
                now=rt.clock.now(),
                error="HTTP 400",
            )
        )
    finally:
        rt.db.close()
    result = runner.invoke(app, ["outbox", "list", "--state", "parked"])
    assert result.exit_code == 0
    assert "pagerduty" in result.stdout and "trigger" in result.stdout
    assert "HTTP 400" in result.stdout
    retried = runner.invoke(app, ["outbox", "retry", str(page.id)])
    assert retried.exit_code == 0 and "1 message(s) requeued" in retried.stdout
