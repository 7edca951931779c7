"""The CLI names people: list, show (timeline, roles, action items) and the lines a command
prints say who by name, never by the Slack/Teams id the core stores."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.repository import Repo
from handlers.cli import app
from handlers.clikit import out
from handlers.compose import build_runtime
from tests.support.cli import cli_env, runner  # noqa: F401 (cli_env: autouse)

SAM, TARA = "U0SAMSLACK", "29:1tara-teams-id"
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(out, "width", 240)  # whole names in table cells


def sitrep(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def seed(database_url: str) -> None:
    """INC-1 worked from Slack (an id only) and Teams (id and name), names cached as the
    server would have cached them."""
    sitrep("incident", "declare", "Checkout 500s", "--commander", SAM)
    rt = build_runtime(Settings(_env_file=None, database_url=database_url))

    def names(repo: Repo) -> None:
        repo.put_person("default", SAM, "Sam [bold]Slack[/bold]", "slack", T0)
        repo.put_person("default", TARA, "Tara Teams", "teams", T0)

    try:
        rt.db.run_sync(names)
        note = c.AddNote(text="db [red]locks[/red]")
        asyncio.run(rt.service.execute("default", 1, note, Actor(SAM)))
        item = c.AddActionItem("Add alert", TARA)
        asyncio.run(rt.service.execute("default", 1, item, Actor(TARA)))
    finally:
        rt.db.close()


def assert_no_ids(text: str) -> None:
    assert SAM not in text and TARA not in text, text


def test_list_names_the_commander_and_keeps_the_id_in_json(database_url: str) -> None:
    seed(database_url)
    out = sitrep("incident", "list")
    assert "Sam [bold]Slack[/bold]" in out  # a name is text, never rich markup
    assert_no_ids(out)
    [row] = json.loads(sitrep("incident", "list", "--json"))
    assert (row["commander"], row["commander_name"]) == (SAM, "Sam [bold]Slack[/bold]")


def test_show_names_roles_timeline_and_action_item_owners(database_url: str) -> None:
    seed(database_url)
    out = sitrep("incident", "show", "INC-1")
    assert "Commander Sam [bold]Slack[/bold]" in out
    assert "Commander is now Sam [bold]Slack[/bold]" in out
    assert "db [red]locks[/red]" in out
    assert "Tara Teams" in out
    assert_no_ids(out)


def test_an_assignment_prints_the_new_holders_name(database_url: str) -> None:
    seed(database_url)
    out = sitrep("incident", "assign", "INC-1", "comms_lead", TARA)
    assert "Comms lead is now Tara Teams" in out
    assert_no_ids(out)


def test_tokens_list_names_an_owner_created_by_id_only(database_url: str) -> None:
    seed(database_url)
    sitrep("tokens", "create", "--owner", SAM, "--name", "ci", "--scope", "incidents:read")
    out = sitrep("tokens", "list")
    assert "Sam [bold]Slack[/bold]" in out
    assert_no_ids(out)
    [row] = json.loads(sitrep("tokens", "list", "--json"))
    assert row["owner"] == SAM  # the id stays for machines
