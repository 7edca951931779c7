"""Reading the audit log back: pages for browsing and export, and a full verification."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.audit import AuditEntry, AuditQuery, jsonable, verify_chain
from bot.repository import UnitOfWork

PAGE = 1000
CSV_COLUMNS = (
    "seq",
    "at",
    "workspace",
    "actor",
    "surface",
    "action",
    "target",
    "incident",
    "detail",
    "before",
    "after",
    "prev_hash",
    "hash",
)


async def page(
    uow: UnitOfWork, workspace: str, *, after_seq: int = 0, limit: int = PAGE
) -> list[AuditEntry]:
    """Up to ``limit`` entries following ``after_seq``, in chain order."""
    return await uow.run(
        lambda repo: repo.audit_entries(workspace, after_seq=after_seq, limit=limit)
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What verifying a whole log found."""

    entries: int
    broken_at: int | None  # the seq of the first entry that breaks the chain

    @property
    def ok(self) -> bool:
        """True when every entry links to the one before and hashes to what it claims."""
        return self.broken_at is None


async def verify(uow: UnitOfWork, workspace: str) -> Verdict:
    """Walk the workspace's chain page by page (memory stays flat for a long log)."""
    last: AuditEntry | None = None
    count = 0
    while True:
        entries = await page(uow, workspace, after_seq=last.seq if last else 0)
        broken = verify_chain(entries, after=last)
        if broken is not None:
            return Verdict(count + broken + 1, (last.seq if last else 0) + broken + 1)
        count += len(entries)
        last = entries[-1] if entries else last
        if len(entries) < PAGE:
            return Verdict(count, None)


def verdict_of(entries: Sequence[AuditEntry]) -> Verdict:
    """The verdict on a whole log already read (from its first entry, in ``seq`` order)."""
    broken = verify_chain(entries)
    if broken is None:
        return Verdict(len(entries), None)
    return Verdict(broken + 1, broken + 1)


def entry_json(e: AuditEntry) -> dict[str, object]:
    """One entry as JSON."""
    return {name: jsonable(getattr(e, name)) for name in CSV_COLUMNS}


def to_csv(entries: Sequence[AuditEntry], *, header: bool = True) -> str:
    """Entries as CSV rows; JSON columns hold compact JSON."""
    buf = io.StringIO()
    w = csv.writer(buf)
    if header:
        w.writerow(CSV_COLUMNS)
    for e in entries:
        row = entry_json(e)
        w.writerow(
            [
                json.dumps(row[c], sort_keys=True) if isinstance(row[c], dict) else row[c]
                for c in CSV_COLUMNS
            ]
        )
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class AuditLog:
    """One workspace's audit log, as handlers and the CLI read it."""

    uow: UnitOfWork
    workspace: str

    async def page(self, *, after_seq: int = 0, limit: int = PAGE) -> list[AuditEntry]:
        """Up to ``limit`` entries following ``after_seq``, in chain order."""
        return await page(self.uow, self.workspace, after_seq=after_seq, limit=limit)

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        """One filtered page, found by the database (bot.audit_filters builds the query)."""
        return await self.uow.run(lambda repo: repo.audit_search(self.workspace, query))

    async def verify(self) -> Verdict:
        """Walk the whole chain."""
        return await verify(self.uow, self.workspace)

    async def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        surface: str,
        target: str = "",
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append an entry no command produced (a sign-in, a sign-out, a refused one)."""
        return await self.uow.run(
            lambda repo: repo.audit(
                self.workspace,
                at=at,
                actor=actor,
                action=action,
                surface=surface,
                target=target,
                detail=detail or {},
            )
        )

    async def all(self) -> list[AuditEntry]:
        """The whole chain in seq order (for the admin page's filters and the export)."""
        out: list[AuditEntry] = []
        while True:
            entries = await self.page(after_seq=out[-1].seq if out else 0)
            out.extend(entries)
            if len(entries) < PAGE:
                return out
