"""What a refused request must leave behind: no new rows anywhere, no traceback in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, table

from bot.runtime import Runtime


async def row_counts(runtime: Runtime) -> dict[str, int]:
    """Rows per table, for every table the database holds (migration bookkeeping aside)."""

    def count(repo: Any) -> dict[str, int]:
        session = repo.session
        names = inspect(session.connection()).get_table_names()
        return {
            name: int(session.execute(select(func.count()).select_from(table(name))).scalar_one())
            for name in sorted(names)
            if name != "alembic_version"
        }

    return await runtime.db.run(count)


def failures_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines that are errors or carry a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info is not None
    ]
