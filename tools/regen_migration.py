"""Regenerate the initial migration from the tables (allowed only before the first release).

Run: .venv/bin/python tools/regen_migration.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.db import create_db_engine
from storage.migrate import MIGRATIONS, alembic_config


def main() -> None:
    """Delete 0001 and autogenerate it again against an empty SQLite database."""
    target = MIGRATIONS / "versions" / "0001_initial_schema.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(f"sqlite:///{Path(tmp) / 'gen.db'}")
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
        engine.dispose()
    ruff = Path(sys.executable).with_name("ruff")
    subprocess.run([str(ruff), "format", "-q", str(target)], check=True)
    subprocess.run([str(ruff), "check", "--fix", "-q", str(target)], check=False)
    print(f"regenerated {target}")


if __name__ == "__main__":
    main()
