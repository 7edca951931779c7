"""Eight incidents whose figures were worked out by hand (see each comment).

Now is Monday 2026-11-23 09:00 UTC (week 2026-W48); two weeks are W47 and W48. Targets are
the defaults: SEV1 ack 5 min / resolve 4 h, SEV2 ack 15 min / resolve 8 h.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.model import Incident, Status
from bot.repository import Repo
from bot.runtime import Runtime

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "U_SECRET"


def _at(day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def _inc(
    number: int,
    declared: datetime,
    severity: str,
    service: str = "",
    *,
    ack: float | None = None,
    resolve: float | None = None,
    private: bool = False,
    workspace: str = "w",
) -> Incident:
    resolved = declared + timedelta(seconds=resolve) if resolve is not None else None
    return Incident(
        workspace=workspace,
        number=number,
        title=f"incident {number}",
        severity=severity,
        status=Status.RESOLVED if resolved else Status.INVESTIGATING,
        declared_at=declared,
        declared_by=SECRET if private else "U_ALICE",
        service=service,
        private=private,
        acknowledged_at=declared + timedelta(seconds=ack) if ack is not None else None,
        resolved_at=resolved,
    )


INCIDENTS = [
    # W47. SEV1 payments: ack 4 min (met), resolved 3 h (met).
    _inc(1, _at(16), "SEV1", "payments", ack=240, resolve=3 * 3600),
    # SEV1 payments: ack 10 min (missed), resolved 5 h (missed).
    _inc(2, _at(17), "SEV1", "payments", ack=600, resolve=5 * 3600),
    # SEV1, no service: ack exactly 5 min (met), unresolved for days (resolve missed).
    _inc(3, _at(18), "SEV1", ack=300),
    # Private SEV2 payments, the last second of W47: ack 1 min, resolved 2 min (both met).
    _inc(4, _at(22, 23, 59, 59), "SEV2", "payments", ack=60, resolve=120, private=True),
    # W48. SEV2 search, the first second of W48: unacknowledged 9 h (ack and resolve missed).
    _inc(5, _at(23, 0, 0, 0), "SEV2", "search"),
    # SEV2 search, 10 min old: both targets pending.
    _inc(6, _at(23, 8, 50), "SEV2", "search"),
    # W46: outside two weeks.
    _inc(7, _at(9), "SEV3", "payments", ack=60, resolve=60),
    # Another workspace in range: never counted.
    _inc(1, _at(17), "SEV1", "payments", ack=1, resolve=1, workspace="other"),
]


async def load(rt: Runtime) -> dict[int, int]:
    """Insert the incidents and action items; workspace w's numbers → ids."""

    def work(repo: Repo) -> dict[int, int]:
        ids: dict[int, int] = {}
        for inc in INCIDENTS:
            stored = repo.add_incident(inc)
            if inc.workspace == "w" and stored.id is not None:
                ids[inc.number] = stored.id
        add = repo.add_action_item
        # Overdue on a public incident; one done; one not due yet; one overdue on the private.
        add(ids[1], text="Add a card-auth alert", owner="U_BOB", due=_at(20), at=_at(16), by="x")
        done = add(ids[1], text="Write runbook", owner=None, due=_at(19), at=_at(16), by="x")
        repo.set_action_item_done(done.id, done=True, at=_at(19), by="x")
        add(ids[2], text="Later", owner=None, due=_at(30), at=_at(17), by="x")
        add(ids[4], text="Rotate the secret", owner=SECRET, due=_at(21), at=_at(22), by="x")
        return ids

    return await rt.db.run(work)
