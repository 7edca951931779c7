"""Tickets are off until a block is whole; half a block stops start-up naming the key, and the
credentials never show in the config dump or an outbox row."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from handlers.cli import app
from handlers.compose import build_runtime

runner = CliRunner()
JIRA = {
    "SITREP_JIRA_URL": "https://acme.atlassian.net",
    "SITREP_JIRA_PROJECT": "OPS",
    "SITREP_JIRA_EMAIL": "bot@example.com",
    "SITREP_JIRA_API_TOKEN": "jira-token-123",
}
SNOW = {
    "SITREP_SERVICENOW_URL": "https://acme.service-now.com",
    "SITREP_SERVICENOW_USERNAME": "sitrep",
    "SITREP_SERVICENOW_PASSWORD": "sn-password-456",
}


@pytest.fixture(autouse=True)
def env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith(("SITREP_", "SLACK_")) and key != "SITREP_TEST_POSTGRES_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITREP_DATABASE_URL", database_url)


def without(block: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in block.items() if k != key}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            without(JIRA, "SITREP_JIRA_URL"),
            "SITREP_JIRA_URL: required once any SITREP_JIRA_ setting is set",
        ),
        (
            without(JIRA, "SITREP_JIRA_PROJECT"),
            "SITREP_JIRA_PROJECT: required once any SITREP_JIRA_ setting is set",
        ),
        (
            without(JIRA, "SITREP_JIRA_API_TOKEN"),
            "SITREP_JIRA_API_TOKEN: required (or SITREP_JIRA_BEARER_TOKEN) once Jira is set",
        ),
        (
            {**JIRA, "SITREP_JIRA_BEARER_TOKEN": "b"},
            "SITREP_JIRA_BEARER_TOKEN: set it or SITREP_JIRA_EMAIL/SITREP_JIRA_API_TOKEN, not both",
        ),
        (
            {"SITREP_JIRA_WEBHOOK_SECRET": "s"},
            "SITREP_JIRA_URL: required once any SITREP_JIRA_ setting is set",
        ),
        (
            {**JIRA, "SITREP_JIRA_PROJECT": "ops x"},
            "SITREP_JIRA_PROJECT: a project key such as OPS",
        ),
        (
            {**JIRA, "SITREP_JIRA_URL": "acme.atlassian.net"},
            "SITREP_JIRA_URL: an http(s) URL such as https://example.com",
        ),
        (
            {**JIRA, "SITREP_JIRA_MIN_SEVERITY": "SEV9"},
            "SITREP_JIRA_MIN_SEVERITY: unknown severity 'SEV9' (SEV1, SEV2, SEV3, SEV4)",
        ),
        (
            {**JIRA, "SITREP_JIRA_TRANSITIONS": '{"fixed": "21"}'},
            "SITREP_JIRA_TRANSITIONS: 'fixed' is not a status (closed, identified,"
            " investigating, monitoring, resolved)",
        ),
        (
            without(SNOW, "SITREP_SERVICENOW_PASSWORD"),
            "SITREP_SERVICENOW_PASSWORD: required once any SITREP_SERVICENOW_ setting is set",
        ),
        (
            {"SITREP_SERVICENOW_MIN_SEVERITY": "SEV1"},
            "SITREP_SERVICENOW_URL: required once any SITREP_SERVICENOW_ setting is set",
        ),
    ],
)
def test_half_a_ticket_block_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, ["incident", "list"])
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")


def test_whole_blocks_start_and_keep_credentials_out_of_the_dump_and_the_outbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {**JIRA, **SNOW, "SITREP_JIRA_WEBHOOK_SECRET": "hook-789"}.items():
        monkeypatch.setenv(key, value)
    dumped = json.dumps(Settings(_env_file=None).safe_dump())
    for secret in ("jira-token-123", "sn-password-456", "hook-789"):
        assert secret not in dumped
    assert runner.invoke(app, ["incident", "declare", "Checkout down", "--sev", "3"]).exit_code == 0
    rt = build_runtime(Settings(_env_file=None))
    try:
        asyncio.run(
            rt.service.execute("default", 1, c.RequestTicket(), Actor("cli:ops", trusted=True))
        )
        rows = rt.db.run_sync(lambda repo: repo.list_outbox(limit=100))
    finally:
        rt.db.close()
    creates = sorted((r.platform, r.action) for r in rows if r.platform in ("jira", "servicenow"))
    assert creates == [("jira", "create"), ("servicenow", "create")]
    text = json.dumps([r.payload for r in rows])
    assert "jira-token-123" not in text and "sn-password-456" not in text


def test_ticket_without_a_configured_service_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["incident", "declare", "Checkout down"]).exit_code == 0
    rt = build_runtime(Settings(_env_file=None))
    try:
        with pytest.raises(Exception, match="Tickets are not configured"):
            asyncio.run(
                rt.service.execute("default", 1, c.RequestTicket(), Actor("cli:ops", trusted=True))
            )
    finally:
        rt.db.close()


def test_ticket_in_a_service_that_is_not_configured_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in JIRA.items():
        monkeypatch.setenv(key, value)
    assert runner.invoke(app, ["incident", "declare", "Checkout down"]).exit_code == 0
    rt = build_runtime(Settings(_env_file=None))
    try:
        with pytest.raises(Exception, match="servicenow is not configured"):
            asyncio.run(
                rt.service.execute(
                    "default", 1, c.RequestTicket("servicenow"), Actor("cli:ops", trusted=True)
                )
            )
        rows = rt.db.run_sync(lambda repo: repo.list_outbox(limit=100))
    finally:
        rt.db.close()
    assert [r for r in rows if r.platform in ("jira", "servicenow")] == []
