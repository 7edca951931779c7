"""Two replicas overflowing the alert-notice backlog at the same moment share one summary."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.alerting.grouping import OVERFLOW_KEY, overflow_intent
from bot.alerting.store import NoticeBacklog
from bot.outbox_types import OutboxIntent
from bot.runtime import Runtime
from storage.db import Database
from storage.repo import SqlRepo
from tests.storage.test_outbox_priority import notice, upsert, waiting


def notices(rt: Runtime[Database], numbers: range) -> list[OutboxIntent]:
    return [i for n in numbers for i in notice(rt, n)]


def waiting_for_a_lock(rt: Runtime[Database]) -> bool:
    with rt.db.engine.connect() as conn:
        stmt = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        return bool(conn.execute(text(stmt)).scalar_one())


def test_two_replicas_overflowing_at_once_write_one_summary_counting_both(
    rt: Runtime[Database],
) -> None:
    if rt.db.dialect != "postgresql":
        pytest.skip("SQLite's write transactions cannot overlap; the race needs two writers")
    backlog = NoticeBacklog(limit=2, overflow=overflow_intent)
    upsert(rt, notices(rt, range(2)), backlog)  # the backlog is full, and committed
    now = rt.clock.now()
    first = Session(rt.db.engine)
    second = Session(rt.db.engine)
    try:
        # Replica one holds back three updates and has not committed yet.
        SqlRepo(first, "postgresql").alerts.upsert_messages(
            notices(rt, range(2, 5)), now, backlog=backlog
        )
        errors: list[BaseException] = []

        def replica_two() -> None:
            try:
                repo = SqlRepo(second, "postgresql")
                repo.alerts.upsert_messages(notices(rt, range(5, 9)), now, backlog=backlog)
                second.commit()
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        thread = threading.Thread(target=replica_two)
        thread.start()
        # Let replica two either finish (no lock: the race) or block on replica one's lock.
        deadline = time.monotonic() + 20
        while thread.is_alive() and not waiting_for_a_lock(rt):
            assert time.monotonic() < deadline, "replica two neither finished nor waited"
            time.sleep(0.01)
        first.commit()
        thread.join(timeout=20)
        assert not thread.is_alive() and not errors, errors
    finally:
        first.close()
        second.close()

    summaries = [r for r in waiting(rt) if r.ordering_key == OVERFLOW_KEY]
    assert len(summaries) == 1, [s.payload for s in summaries]
    assert summaries[0].payload["more"] == 7
