"""One in-memory ``TicketLinks`` for the ticket and status page ports' tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from bot.ports import FixedClock
from bot.tickets.links import TicketLinks

T_SENT = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

Key = tuple[str, str, int, int | None]


class Recorded(NamedTuple):
    """One ``record`` call, as the port made it."""

    workspace: str
    service: str
    number: int
    item_id: int | None
    key: str
    ext_id: str
    url: str


class MemoryTicketLinks:
    """``TicketLinks`` in a dict keyed by (workspace, service, number, item_id), as the
    database keeps them for every replica (the create journal included), on a clock the test
    moves; ``crash_next_record`` makes the next record fail (the process died after the
    service answered, before sitrep kept the answer)."""

    def __init__(self, start: datetime = T_SENT) -> None:
        self.refs: dict[Key, dict[str, Any]] = {}
        self.records: list[Recorded] = []
        self.crash_next_record = False
        self.clock = FixedClock(start)

    async def find(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> dict[str, Any] | None:
        """The stored ref, or None."""
        return self.refs.get((workspace, service, number, item_id))

    async def record(
        self,
        workspace: str,
        number: int,
        service: str,
        *,
        key: str,
        ext_id: str,
        url: str,
        item_id: int | None = None,
    ) -> None:
        """Keep the ids (or die first, once, when the test asked for it)."""
        if self.crash_next_record:
            self.crash_next_record = False
            raise RuntimeError("the process died before recording")
        self.records.append(Recorded(workspace, service, number, item_id, key, ext_id, url))
        self.refs[(workspace, service, number, item_id)] = {"id": ext_id, "key": key, "url": url}

    async def sending(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> None:
        """Note the create as sent now, unless the ref already holds an id."""
        at = (workspace, service, number, item_id)
        if not (self.refs.get(at) or {}).get("id"):
            self.refs[at] = {"state": "sent", "at": self.now().isoformat()}

    async def unsent(
        self, workspace: str, number: int, service: str, item_id: int | None = None
    ) -> None:
        """Take the note back, unless it was answered meanwhile."""
        at = (workspace, service, number, item_id)
        if (self.refs.get(at) or {}).get("state") == "sent":
            self.refs[at] = {"state": "planned"}

    def now(self) -> datetime:
        """The test's clock."""
        return self.clock.now()


# mypy holds the stand-in to the port's protocol here.
_PORT: type[TicketLinks] = MemoryTicketLinks
