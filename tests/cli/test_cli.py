"""Every CLI command, run in-process through Typer against a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.outbox_types import OutboxState
from bot.repository import Repo
from handlers.compose import build_runtime
from tests.support.cli import cli_env, sitrep  # noqa: F401 (cli_env: autouse)


def test_db_upgrade_from_empty() -> None:
    code, out, _ = sitrep("db", "upgrade")
    assert code == 0 and "database at revision 0010" in out
    code, out, _ = sitrep("db", "current")
    assert "current: 0010" in out


def test_declare_list_show_and_drive_an_incident() -> None:
    code, out, _ = sitrep(
        "incident", "declare", "Payments failing", "--sev", "1", "--summary", "card auth 502"
    )
    assert code == 0 and "INC-1 declared: Payments failing (SEV1)" in out
    sitrep("incident", "declare", "Slow search", "--sev", "3")
    code, out, _ = sitrep("incident", "list", "--json")
    rows = json.loads(out)
    assert [r["ref"] for r in rows] == ["INC-2", "INC-1"]
    assert sitrep("incident", "status", "INC-1", "identified")[0] == 0
    code, out, _ = sitrep("incident", "update", "INC-1", "Failover in progress")
    assert code == 0 and "Failover in progress" in out
    assert sitrep("incident", "note", "INC-1", "vendor paged")[0] == 0
    assert sitrep("incident", "assign", "INC-1", "comms_lead", "dana")[0] == 0
    assert sitrep("incident", "sev", "INC-1", "2")[0] == 0
    code, out, _ = sitrep(
        "incident",
        "action",
        "INC-1",
        "Add failover drill",
        "--owner",
        "dana",
        "--due",
        "2026-12-01",
    )
    assert code == 0
    assert sitrep("incident", "done", "INC-1", "1")[0] == 0
    assert sitrep("incident", "set", "INC-1", "root_cause", "expired TLS cert")[0] == 0
    code, out, _ = sitrep("incident", "resolve", "INC-1", "--summary", "cert renewed")
    assert code == 0 and "Resolved: cert renewed" in out
    code, out, _ = sitrep("incident", "list", "--open", "--json")
    assert [r["ref"] for r in json.loads(out)] == ["INC-2"]
    code, out, _ = sitrep("incident", "show", "INC-1")
    assert code == 0
    for needle in (
        "Payments failing",
        "SEV2",
        "resolved",
        "dana",
        "Failover in progress",
        "Add failover drill",
        "Time to acknowledge",
    ):
        assert needle in out
    assert sitrep("incident", "close", "INC-1")[0] == 0
    assert sitrep("incident", "reopen", "INC-1")[0] == 0


def test_empty_list_says_so() -> None:
    code, out, _ = sitrep("incident", "list")
    assert code == 0 and "no incidents" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("incident", "show", "INC-9"), "INC-9 not found"),
        (("incident", "show", "banana"), "not an incident reference"),
        (("incident", "status", "INC-1", "closed"), "allowed: identified, monitoring, resolved"),
        (("incident", "sev", "INC-1", "SEV9"), "unknown severity"),
        (("incident", "update", "INC-1", "  "), "must not be empty"),
        (("incident", "done", "INC-1", "5"), "no action item #5"),
        (("export", "INC-1", "--format", "pdf"), "unknown format"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_2(args: tuple[str, ...], needle: str) -> None:
    sitrep("incident", "declare", "x")
    code, _, err = sitrep(*args)
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_config_fails_with_one_line_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITREP_PORT", "eighty")
    code, _, err = sitrep("incident", "list")
    assert code == 2 and err.startswith("error: SITREP_PORT:")
    assert err.count("\n") == 1


def test_toml_config_sets_severities(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "sitrep.toml"
    cfg.write_text(
        '[[severities]]\nname = "P1"\nupdate_minutes = 10\n[[severities]]\nname = "P2"\n'
    )
    monkeypatch.setenv("SITREP_CONFIG", str(cfg))
    code, out, _ = sitrep("incident", "declare", "x", "--sev", "P1")
    assert code == 0 and "(P1)" in out
    code, _, err = sitrep("incident", "declare", "y", "--sev", "critical")
    assert code == 2 and "P1, P2" in err


def test_bad_toml_value_names_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "sitrep.toml"
    cfg.write_text('[[severities]]\nname = "P1"\nupdate_minutes = -5\n')
    monkeypatch.setenv("SITREP_CONFIG", str(cfg))
    code, _, err = sitrep("incident", "list")
    assert code == 2 and "SITREP_SEVERITIES__0__UPDATE_MINUTES" in err


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_export_to_file_and_stdout(fmt: str, tmp_path: Path) -> None:
    sitrep("incident", "declare", "Queue backlog", "--sev", "2")
    sitrep("incident", "resolve", "INC-1")
    target = tmp_path / f"pm.{fmt}"
    code, _, err = sitrep("export", "INC-1", "--format", fmt, "-o", str(target))
    assert code == 0 and "wrote" in err
    text = target.read_text()
    assert "Queue backlog" in text
    code, out, _ = sitrep("export", "INC-1", "-f", fmt)
    # Same document on stdout (only the "generated at" stamp may differ).
    assert code == 0 and out.splitlines()[:2] == text.splitlines()[:2]
    assert len(out.splitlines()) == len(text.splitlines())


def test_outbox_list_shows_waiting_messages_and_retry() -> None:
    sitrep("incident", "declare", "x")
    code, out, _ = sitrep("outbox", "list", "--state", "pending")
    assert code == 0 and "open_room" in out and "pending" in out
    code, out, _ = sitrep("outbox", "retry")
    assert code == 0 and "0 message(s) requeued" in out


def test_outbox_list_puts_parked_messages_first_and_says_what_to_do(database_url: str) -> None:
    sitrep("incident", "declare", "x")
    rt = build_runtime(Settings(_env_file=None, database_url=database_url))
    try:
        rows = rt.db.run_sync(lambda repo: repo.list_outbox(limit=100))
        first = min(rows, key=lambda r: r.id)
        rt.db.run_sync(
            lambda repo: repo.finish_outbox(
                first.id, state=OutboxState.PARKED, now=rt.clock.now(), error="invalid_auth"
            )
        )
    finally:
        rt.db.close()
    code, out, _ = sitrep("outbox", "list", "--limit", "1")
    assert code == 0
    assert "parked" in out and "invalid_auth" in out and "open_room" in out
    assert "1 parked" in out and "sitrep outbox retry" in out
    code, out, _ = sitrep("outbox", "retry")
    assert code == 0 and "1 message(s) requeued" in out
    code, out, _ = sitrep("outbox", "list")
    assert "parked messages need a person" not in out


def test_declare_with_a_runbook_and_a_bad_one() -> None:
    code, _, _ = sitrep("incident", "declare", "Queue backlog", "--runbook", "https://rb.example/q")
    assert code == 0
    code, out, _ = sitrep("incident", "show", "INC-1")
    assert code == 0 and "Runbook: https://rb.example/q" in out
    code, _, err = sitrep("incident", "declare", "x", "--runbook", "file:///etc/passwd")
    assert code == 2 and "runbook_url" in err


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("sitrep")
    result = subprocess.run(
        [str(exe), "incident", "list"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_outbox_commands_see_only_this_instances_workspace(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for ws in ("alpha", "beta"):
        monkeypatch.setenv("SITREP_WORKSPACE", ws)
        sitrep("incident", "declare", f"{ws} down")
    rt = build_runtime(Settings(_env_file=None, database_url=database_url))

    def park_all(repo: Repo) -> None:
        for row in repo.list_outbox(limit=100):
            error = f"err-{row.workspace}"
            repo.finish_outbox(row.id, state=OutboxState.PARKED, now=rt.clock.now(), error=error)

    try:
        rt.db.run_sync(park_all)
    finally:
        rt.db.close()
    code, out, _ = sitrep("outbox", "list", "--limit", "100")
    assert code == 0 and "err-beta" in out and "err-alpha" not in out
    code, out, _ = sitrep("outbox", "retry")
    assert code == 0
    rt = build_runtime(Settings(_env_file=None, database_url=database_url))
    try:
        parked = rt.db.run_sync(lambda repo: repo.list_outbox(states=[OutboxState.PARKED]))
    finally:
        rt.db.close()
    assert parked and {r.workspace for r in parked} == {"alpha"}
