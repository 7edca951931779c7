"""What a refused request must leave behind: no new rows anywhere, no traceback in the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, inspect, select, table

from bot.config import Settings
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.app import create_app


@pytest.fixture
async def app(settings: Settings, clock: FixedClock) -> web.Application:
    """The app without the outbox worker and scheduler, so only the request under test writes
    rows (import it into a test module to use it there)."""
    return create_app(settings, clock=clock, port_factories=[], run_worker=False)


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


@asynccontextmanager
async def leaves_nothing(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """What the block sends is refused cleanly: no new rows anywhere, no failure logged."""
    before = await row_counts(runtime)
    yield
    assert failures_logged(caplog) == []
    assert await row_counts(runtime) == before
