"""SQLite's durability level is the operator's choice: NORMAL by default, FULL on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import Settings
from handlers.compose import build_runtime
from storage.db import Database, create_db_engine

# PRAGMA synchronous reads back as a number.
_LEVEL = {"NORMAL": 1, "FULL": 2}


def _level(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("PRAGMA synchronous")).scalar_one())


@pytest.mark.parametrize("mode", ["NORMAL", "FULL"])
def test_every_connection_runs_at_the_configured_level(tmp_path: Path, mode: str) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}", synchronous=mode)
    try:
        # Two at once: the pool opens a second connection, which must be tuned too. Driver
        # connections, so neither takes SQLite's write lock (BEGIN IMMEDIATE).
        first, second = db.engine.raw_connection(), db.engine.raw_connection()
        try:
            levels = [
                int(c.cursor().execute("PRAGMA synchronous").fetchone()[0]) for c in (first, second)
            ]
        finally:
            first.close()
            second.close()
        assert levels == [_LEVEL[mode], _LEVEL[mode]]
    finally:
        db.close()


def test_the_setting_reaches_the_runtime_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITREP_SQLITE_SYNCHRONOUS", "FULL")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'b.db'}")
    runtime = build_runtime(settings)
    try:
        assert _level(runtime.db) == _LEVEL["FULL"]
    finally:
        runtime.db.close()


def test_default_is_normal_and_nonsense_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings(_env_file=None).sqlite_synchronous == "NORMAL"
    monkeypatch.setenv("SITREP_SQLITE_SYNCHRONOUS", "OFF")  # would drop durability: not offered
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        Settings(_env_file=None)
    with pytest.raises(ValueError, match="NORMAL, FULL"):
        create_db_engine(f"sqlite:///{tmp_path / 'c.db'}", synchronous="OFF")
