"""SQLite's write-ahead log is folded into the database file by a background thread, never by
a commit, and closing leaves a self-contained file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.migrate import upgrade


def write_rows(db: Database, n: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, v TEXT)"))
    for i in range(n):
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO filler (v) VALUES (:v)"), {"v": "x" * 2000 + str(i)})


def test_commits_do_not_checkpoint_the_background_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "sitrep.db"
    db = Database(f"sqlite:///{path}", checkpoint_every=3600)  # the thread never runs here
    upgrade(db.engine)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    assert db._checkpointer is not None
    db._checkpointer.checkpoint("TRUNCATE")
    before = path.stat().st_size

    write_rows(db, 600)  # well past SQLite's default auto-checkpoint of 1000 pages
    assert path.stat().st_size == before, "a commit ran a checkpoint"
    assert Path(f"{path}-wal").stat().st_size > 1_000_000

    db._checkpointer.checkpoint("PASSIVE")
    assert path.stat().st_size > before + 1_000_000
    db.close()


def test_the_thread_checkpoints_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "sitrep.db"
    db = Database(f"sqlite:///{path}", checkpoint_every=0.05)
    upgrade(db.engine)
    time.sleep(0.2)
    before = path.stat().st_size
    write_rows(db, 300)
    deadline = time.monotonic() + 10
    while path.stat().st_size <= before + 500_000:
        assert time.monotonic() < deadline, "the WAL was never checkpointed"
        time.sleep(0.05)
    db.close()


def test_closing_leaves_an_empty_wal_and_every_row_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sitrep.db"
    db = Database(f"sqlite:///{path}", checkpoint_every=3600)
    upgrade(db.engine)
    write_rows(db, 50)
    db.close()
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM filler").fetchone() == (50,)
