"""Two replicas saving one postmortem section on the same version: one wins, the other gets
the winner's text back as a conflict, and no update is lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.errors import EditConflict
from bot.domain.model import EventKind, text_version
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.compose import build_runtime
from storage.db import Database
from storage.migrate import upgrade
from storage.repo import SqlRepo

ALICE, BOB = Actor("U_ALICE"), Actor("U_BOB")


@pytest.fixture
def replicas(settings: Settings, clock: FixedClock) -> Iterator[tuple[Runtime[Database], ...]]:
    one = build_runtime(settings, clock=clock)
    upgrade(one.db.engine)
    two = build_runtime(settings, clock=clock)
    yield one, two
    one.db.close()
    two.db.close()


def lock_waits(rt: Runtime[Database]) -> int:
    with rt.db.engine.connect() as conn:
        stmt = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        return int(conn.execute(text(stmt)).scalar_one())


def test_the_second_save_on_one_version_is_a_conflict_not_a_lost_update(
    replicas: tuple[Runtime[Database], Runtime[Database]],
) -> None:
    one, two = replicas
    if one.db.dialect != "postgresql":
        pytest.skip("SQLite's write transactions cannot overlap; the HTTP race test covers it")
    ws = one.settings.workspace
    asyncio.run(one.service.declare(ws, c.Declare("Checkout errors"), ALICE))
    base = text_version("")
    first = Session(one.db.engine)
    outcome: list[BaseException | str] = []
    try:
        # Replica one has saved its edit but not committed yet; it holds the incident's row.
        repo = SqlRepo(first, "postgresql")
        incident = repo.get_incident(ws, 1, for_update=True)
        assert incident is not None
        cmd = c.EditField("root_cause", "first", base=base)
        one.service.execute_in(repo, incident, cmd, ALICE, one.clock.now())

        def replica_two() -> None:
            try:
                edit = c.EditField("root_cause", "second", base=base)
                asyncio.run(two.service.execute(ws, 1, edit, BOB))
                outcome.append("saved")
            except BaseException as exc:  # judged below
                outcome.append(exc)

        thread = threading.Thread(target=replica_two)
        thread.start()
        # Replica two must be waiting on replica one's row lock: that is the race.
        deadline = time.monotonic() + 20
        while not lock_waits(one):
            assert thread.is_alive(), outcome
            assert time.monotonic() < deadline, "replica two never waited for the lock"
            time.sleep(0.01)
        first.commit()
        thread.join(timeout=20)
        assert not thread.is_alive()
    finally:
        first.close()

    (result,) = outcome
    assert isinstance(result, EditConflict), result
    assert result.current == "first" and result.version == text_version("first")
    detail = asyncio.run(one.service.detail(ws, 1))
    assert detail.incident.root_cause == "first"
    assert [e.data["value"] for e in detail.timeline if e.kind is EventKind.FIELD_CHANGED] == [
        "first"
    ]
