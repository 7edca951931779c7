"""The ``sitrep`` CLI run in-process through Typer, against the test's database, in an
environment that nothing from the caller's shell leaks into."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handlers.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SITREP_/SLACK_ variable of the shell's, the test's database, a scratch directory."""
    # Imported into a test module, it applies to every test there (autouse).
    for key in list(os.environ):
        if key.startswith(("SITREP_", "SLACK_")) and key != "SITREP_TEST_POSTGRES_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITREP_DATABASE_URL", database_url)


def sitrep(*args: str) -> tuple[int, str, str]:
    """Run ``sitrep ARGS``: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr
